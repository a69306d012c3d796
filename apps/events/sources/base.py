"""The one small interface every provider connector implements, and the one event shape they produce.

A connector pages through its provider for a source and a time window, turning each provider item into a
NormalizedEvent (UTC times, IANA zone, venue with coordinates, price range, category slug, status) or an
InvalidItem saying why it could not be used. After each page it hands back the checkpoint from which a
later run resumes, so a run that dies half-way loses nothing and doubles nothing.
"""

import hashlib
import zoneinfo
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from apps.core.taxonomy import CATEGORY_SLUGS

if TYPE_CHECKING:
    from apps.events.models import Source

STATUSES = frozenset({"scheduled", "cancelled", "postponed", "rescheduled"})
# The catalogue's column sizes: an item that does not fit is refused alone rather than failing its page.
FIELD_LIMITS = {"provider_id": 300, "title": 500, "url": 1000, "image_url": 1000, "currency": 3, "timezone": 64}


class SourceConfigError(Exception):
    """The source cannot be synced as configured (missing key, option or area). Not retried."""


@dataclass(frozen=True)
class NormalizedVenue:
    key: str  # stable across runs: "<provider>:<venue id>", or name + rounded point when there is no id
    name: str
    address: str = ""
    lat: float | None = None
    lon: float | None = None
    timezone: str = ""


@dataclass(frozen=True)
class NormalizedEvent:
    provider_id: str
    title: str
    start_utc: datetime
    timezone: str
    end_utc: datetime | None = None
    all_day: bool = False
    time_tba: bool = False
    description: str = ""
    category: str = ""
    tags: tuple[str, ...] = ()
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    currency: str = ""
    is_free: bool = False
    url: str = ""
    image_url: str = ""
    status: str = "scheduled"
    venue: NormalizedVenue | None = None

    def content_hash(self) -> str:
        """Changes exactly when something we store about the item changes.

        Built field by field rather than through dataclasses.asdict, which deep-copies and costs most of an
        unchanged re-sync. Every field is listed: a new field must be added here too.
        """
        venue = self.venue
        parts = (
            self.provider_id, self.title, self.start_utc.timestamp(),
            self.end_utc.timestamp() if self.end_utc else None, self.timezone, self.all_day,
            self.time_tba, self.description, self.category, self.tags, str(self.price_min), str(self.price_max),
            self.currency, self.is_free, self.url, self.image_url, self.status,
            (venue.key, venue.name, venue.address, venue.lat, venue.lon, venue.timezone) if venue else None,
        )  # fmt: skip
        return hashlib.sha256(repr(parts).encode()).hexdigest()


@dataclass(frozen=True)
class InvalidItem:
    provider_id: str | None
    reason: str


@dataclass
class Page:
    items: list[NormalizedEvent] = field(default_factory=list)
    invalid: list[InvalidItem] = field(default_factory=list)
    # Where to resume after this page; None when the provider has nothing more for this run.
    checkpoint: dict[str, Any] | None = None


def check_event(event: NormalizedEvent) -> str | None:
    """Why a normalised event cannot be stored, or None. Shared by every connector."""
    if not event.provider_id:
        return "missing id"
    if not event.title.strip():
        return "missing title"
    if event.start_utc.tzinfo is None:
        return "start is not timezone-aware"
    if event.end_utc is not None and event.end_utc < event.start_utc:
        return "ends before it starts"
    try:
        zoneinfo.ZoneInfo(event.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {event.timezone!r}"
    if event.category and event.category not in CATEGORY_SLUGS:
        return f"unknown category {event.category!r}"
    if event.status not in STATUSES:
        return f"unknown status {event.status!r}"
    if event.price_min is not None and event.price_min < 0:
        return "negative price"
    if event.price_min is not None and event.price_max is not None and event.price_max < event.price_min:
        return "price range upside down"
    for name, limit in FIELD_LIMITS.items():
        if len(getattr(event, name)) > limit:
            return f"{name} longer than {limit} characters"
    if event.venue is not None and len(event.venue.name) > 300:
        return "venue name longer than 300 characters"
    venue = event.venue
    if venue is not None and (venue.lat is None) != (venue.lon is None):
        return "venue has only one coordinate"
    if (
        venue is not None
        and venue.lat is not None
        and venue.lon is not None
        and not (-90 <= venue.lat <= 90 and -180 <= venue.lon <= 180)
    ):
        return "impossible coordinates"
    return None


class Connector(ABC):
    provider: ClassVar[str]
    # Areas are searched by point and radius for these providers; the others follow ids or URLs.
    needs_area: ClassVar[bool] = False

    def __init__(self, source: "Source") -> None:
        self.source = source

    @abstractmethod
    def pages(
        self, *, window_start: datetime, window_end: datetime, checkpoint: dict[str, Any] | None
    ) -> Iterator[Page]:
        """Yields pages in order, each with the checkpoint to resume after it."""
