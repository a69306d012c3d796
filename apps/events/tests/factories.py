"""Builders for catalogue tests: normalised items as a connector would produce them, and sources."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from apps.events import services
from apps.events.models import Source
from apps.events.sources.base import NormalizedEvent, NormalizedVenue

BERLIN = (52.5200, 13.4050)


def make_source(name: str = "test-source", provider: str = "ics", **options: Any) -> Source:
    return services.source_create(
        provider=provider, name=name, options={"url": "https://example.test/feed.ics", **options}
    )


def venue(
    key: str = "v:1", name: str = "Kulturbrauerei", lat: float = BERLIN[0], lon: float = BERLIN[1]
) -> NormalizedVenue:
    return NormalizedVenue(
        key=key, name=name, address="Schönhauser Allee 36, Berlin", lat=lat, lon=lon, timezone="Europe/Berlin"
    )


def item(provider_id: str = "e1", *, start: datetime | None = None, **fields: Any) -> NormalizedEvent:
    start = start or datetime(2026, 12, 5, 19, 0, tzinfo=UTC)
    defaults: dict[str, Any] = {
        "title": f"Concert {provider_id}",
        "timezone": "Europe/Berlin",
        "end_utc": start + timedelta(hours=2),
        "category": "music",
        "price_min": Decimal("15.00"),
        "price_max": Decimal("30.00"),
        "currency": "EUR",
        "url": f"https://example.test/{provider_id}",
        "venue": venue(),
    }
    defaults.update(fields)
    return NormalizedEvent(provider_id=provider_id, start_utc=start, **defaults)
