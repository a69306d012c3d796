import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.analytics import services


def _months(value: str) -> int:
    match = re.fullmatch(r"(\d+)m", value)
    if match is None or int(match[1]) < 1:
        raise CommandError(f"--older-than takes a number of months such as 13m, not {value!r}.")
    return int(match[1])


class Command(BaseCommand):
    help = (
        "Drops the tracked events of the months that ended more than --older-than months ago (whole monthly "
        "partitions on PostgreSQL). Safe to run twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", required=True, help="Months to keep besides the current one, e.g. 13m.")

    def handle(self, *args: Any, **options: Any) -> None:
        dropped = services.tracking_purge(older_than_months=_months(options["older_than"]))
        listed = ", ".join(f"{month:%Y-%m}" for month in dropped) or "nothing"
        self.stdout.write(f"Dropped: {listed}.")
