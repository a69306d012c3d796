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
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from django.conf import settings

from apps.core.http import RateLimiter, RetryPolicy, build_client
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


def aware(moment: datetime) -> datetime:
    """A naive moment read as UTC (providers and checkpoints sometimes drop the offset)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class BearerTokenConnector(Connector):
    """A connector for an API taking `Authorization: Bearer <key>`, with its key and base URL in settings.

    `transport`, `policy` and `rate_limiter` are there for tests: a fake provider at the network boundary and
    sleeps that do not wait.
    """

    key_setting: ClassVar[str]  # e.g. "EVENTBRITE_API_KEY"
    url_setting: ClassVar[str]  # e.g. "EVENTBRITE_API_URL"
    label: ClassVar[str]  # how errors name the provider
    default_policy: ClassVar[RetryPolicy]
    default_rate_limiter: ClassVar[RateLimiter]
    default_page_size: ClassVar[int] = 50

    def __init__(
        self,
        source: "Source",
        *,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy | None = None,
        rate_limiter: RateLimiter | None = None,
        page_size: int | None = None,
    ) -> None:
        super().__init__(source)
        self._transport = transport
        self._policy = policy or self.default_policy
        self._rate_limiter = rate_limiter or self.default_rate_limiter
        self._page_size = page_size or self.default_page_size

    def _client(self) -> httpx.Client:
        api_key = getattr(settings, self.key_setting, "")
        if not api_key:
            raise SourceConfigError(f"{self.key_setting} is not set: {self.label} sources cannot be synced without it.")
        headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        return build_client(base_url=getattr(settings, self.url_setting), headers=headers, transport=self._transport)
