from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core import reencryption
from apps.core.encryption import DecryptionError


class Command(BaseCommand):
    help = (
        "Re-encrypts every value stored encrypted under the current ENCRYPTION_KEY (those written under a key in "
        "ENCRYPTION_KEY_NEXT or ENCRYPTION_KEY_FALLBACKS), so a rotation can drop the old keys. Safe to run twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=reencryption.BATCH_SIZE, help="rows locked at a time")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            counts = reencryption.reencrypt_stored_values(batch_size=options["batch_size"])
        except DecryptionError as exc:
            raise CommandError(str(exc)) from exc
        for column, changed in counts.items():
            self.stdout.write(f"{column}: {changed} re-encrypted")
