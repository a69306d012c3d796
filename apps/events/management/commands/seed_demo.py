from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from apps.events import demo, selectors, services

DEMO_SOURCE = "demo-berlin"


class Command(BaseCommand):
    help = "Fills the catalogue offline with a plausible Berlin over the next three weekends (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--if-empty", action="store_true", help="do nothing when the catalogue has events")
        parser.add_argument(
            "--date",
            type=date.fromisoformat,
            default=None,
            help="seed the weekends after this date (YYYY-MM-DD), not today's; the same date gives the same events",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and selectors.catalogue_has_events():
            self.stdout.write("The catalogue already has events; not seeding.")
            return
        source = selectors.source_by_name(name=DEMO_SOURCE) or services.source_create(
            provider="demo", name=DEMO_SOURCE, interval_minutes=24 * 60
        )
        items = list(demo.demo_events(options["date"] or timezone.localdate()))
        result = services.events_upsert(source=source, items=items)
        counts = result.counts
        self.stdout.write(
            f"Demo catalogue: {len(items)} events over {demo.WEEKENDS} weekends "
            f"({counts.created} created, {counts.updated} updated, {counts.unchanged} unchanged)."
        )
