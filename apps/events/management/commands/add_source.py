from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.events import services
from apps.events.models import Provider
from apps.events.sources.base import SourceConfigError


def _point(value: str) -> tuple[float, float]:
    try:
        lat, lon = (float(part) for part in value.split(","))
    except ValueError:
        raise CommandError("--near takes LAT,LON, e.g. --near=52.52,13.405") from None
    return lat, lon


class Command(BaseCommand):
    help = "Adds an event source: a provider plus its area or options."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("provider", choices=[p for p in Provider.values if p != Provider.DEMO])
        parser.add_argument("--name", required=True, help="A unique slug, e.g. berlin-ticketmaster")
        parser.add_argument("--near", type=_point, help="LAT,LON of the area's centre")
        parser.add_argument("--radius-km", type=float, help="radius of the area (default 25)")
        parser.add_argument("--interval-minutes", type=int, default=360, help="how often beat syncs it")
        parser.add_argument(
            "--option", action="append", default=[], metavar="KEY=VALUE", help="organization_id, venue_id, url, ..."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        extra: dict[str, str] = {}
        for item in options["option"]:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise CommandError(f"--option takes KEY=VALUE, got {item!r}")
            extra[key.strip()] = value.strip()
        try:
            source = services.source_create(
                provider=options["provider"],
                name=options["name"],
                near=options["near"],
                radius_km=options["radius_km"],
                options=extra,
                interval_minutes=options["interval_minutes"],
            )
        except SourceConfigError as exc:
            raise CommandError(str(exc)) from exc
        except Exception as exc:  # validation errors from full_clean, reported plainly
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Added source {source.name} ({source.provider}), id {source.pk}.")
