from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS

from apps.core import backups


class Command(BaseCommand):
    help = (
        "Dumps the PostgreSQL database (pg_dump, custom format) to the S3 bucket BACKUP_BUCKET with KMS "
        "encryption, and prints the object's key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="the database alias (default: default)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key = backups.backup_create(alias=options["database"])
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(key)
