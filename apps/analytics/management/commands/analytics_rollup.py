from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.analytics import rollup


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Give a day as YYYY-MM-DD, not {value!r}.") from None


class Command(BaseCommand):
    help = (
        "Rolls up the business KPIs of one or more UTC days (--date, repeatable, or --start/--end), yesterday by "
        "default. Idempotent: a day rolled up again is replaced, never added to."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", dest="days", action="append", type=_day, default=[], help="a day, YYYY-MM-DD")
        parser.add_argument("--start", type=_day, help="the first day of a range (with --end)")
        parser.add_argument("--end", type=_day, help="the last day of a range, included")

    def handle(self, *args: Any, **options: Any) -> None:
        days: list[date] = list(options["days"])
        start, end = options["start"], options["end"]
        if (start is None) != (end is None):
            raise CommandError("Give both --start and --end.")
        if start is not None and end is not None:
            if end < start:
                raise CommandError("--end is before --start.")
            days += [start + timedelta(days=n) for n in range((end - start).days + 1)]
        if not days:
            days = [timezone.now().date() - timedelta(days=1)]
        for day in sorted(set(days)):  # oldest first: retention and trailing windows read earlier days
            result = rollup.rollup_day(day=day)
            self.stdout.write(f"{day}: {result.events} events, {result.metrics} rows in {result.seconds:.2f} s")
