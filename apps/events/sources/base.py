"""The one small interface every provider connector implements, and the one event shape they produce.

A connector pages through its provider for a source and a time window, turning each provider item into a
NormalizedEvent (UTC times, IANA zone, venue with coordinates, price range, category slug, status) or an
InvalidItem saying why it could not be used. After each page it hands back the checkpoint from which a
later run resumes, so a run that dies half-way loses nothing and doubles nothing.

`Connector` also holds the plumbing every connector shares: the key and base URL from settings, the HTTP
client (apps.core.http, with its timeouts), the retry policy and the pacing. A connector declares what differs
as class attributes and implements `pages`.
"""

import hashlib
import time
import zoneinfo
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import httpx
import structlog
from django.conf import settings

from apps.core.http import Clock, RateLimiter, RetryPolicy, Sleep, build_client, call_with_retries
from apps.core.taxonomy import CATEGORY_SLUGS
from apps.events.sources.coerce import MAX_PROVIDER_ID, MAX_TITLE, MAX_URL, MAX_VENUE_NAME

if TYPE_CHECKING:
    from apps.events.models import Source

logger = structlog.get_logger(__name__)

T = TypeVar("T")

STATUSES = frozenset({"scheduled", "cancelled", "postponed", "rescheduled"})
# The catalogue's column sizes: an item that does not fit is refused alone rather than failing its page.
FIELD_LIMITS = {
    "provider_id": MAX_PROVIDER_ID,
    "title": MAX_TITLE,
    "url": MAX_URL,
    "image_url": MAX_URL,
    "currency": 3,
    "timezone": 64,
}


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

    def add(self, event: NormalizedEvent, provider_id: str | None) -> None:
        """Takes the event, or refuses it with the reason check_event gives."""
        reason = check_event(event)
        if reason:
            self.refuse(provider_id, reason)
        else:
            self.items.append(event)

    def refuse(self, provider_id: str | None, reason: str) -> None:
        self.invalid.append(InvalidItem(provider_id, reason))


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
    if event.venue is not None and len(event.venue.name) > MAX_VENUE_NAME:
        return f"venue name longer than {MAX_VENUE_NAME} characters"
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
    """Pages through one provider for a source. Subclasses implement `pages` and declare what differs below.

    `transport`, `sleep` and `clock` are for tests: a fake provider at the network boundary, and waits that
    only move a fake clock. A connector given neither sleep nor clock shares its class's pacer with every
    other connector of the provider in this process (a provider's limit is per key, not per source); one
    given either paces itself on them, unless it is handed its own `rate_limiter`.
    """

    provider: ClassVar[str]
    label: ClassVar[str] = ""  # how messages name the provider, e.g. "Ticketmaster"
    # Areas are searched by point and radius for these providers; the others follow ids or URLs.
    needs_area: ClassVar[bool] = False
    key_setting: ClassVar[str] = ""  # the setting holding the API key, e.g. "EVENTBRITE_API_KEY"; "" for none
    url_setting: ClassVar[str] = ""  # the setting holding the API's base URL; "" when requests use full URLs
    default_url: ClassVar[str] = ""  # the base URL when that setting is empty
    bearer_token: ClassVar[bool] = False  # send the key as `Authorization: Bearer`; else the connector places it
    retry_policy: ClassVar[RetryPolicy] = RetryPolicy()  # attempts and backoff; sleep and clock are per instance
    requests_per_second: ClassVar[float] = 1.0
    default_page_size: ClassVar[int] = 50
    shared_limiter: ClassVar[RateLimiter]  # made for each subclass from its requests_per_second

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.shared_limiter = RateLimiter(cls.requests_per_second)

    def __init__(
        self,
        source: "Source",
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
        rate_limiter: RateLimiter | None = None,
        page_size: int | None = None,
    ) -> None:
        self.source = source
        self.transport = transport
        self.sleep: Sleep = sleep or time.sleep
        self.clock: Clock = clock or time.time
        self.policy = replace(self.retry_policy, sleep=self.sleep, clock=self.clock)
        if rate_limiter is None and sleep is None and clock is None:
            rate_limiter = self.shared_limiter
        self.limiter = rate_limiter or RateLimiter(self.requests_per_second, sleep=self.sleep, clock=self.clock)
        self.page_size = page_size or self.default_page_size

    @abstractmethod
    def pages(
        self, *, window_start: datetime, window_end: datetime, checkpoint: dict[str, Any] | None
    ) -> Iterator[Page]:
        """Yields pages in order, each with the checkpoint to resume after it."""

    def api_key(self) -> str:
        """The provider's key from settings; without one the source cannot be synced."""
        key: str = getattr(settings, self.key_setting, "") if self.key_setting else ""
        if not key:
            raise SourceConfigError(f"{self.key_setting} is not set: {self.label} sources cannot be synced without it.")
        return key

    def client(self) -> httpx.Client:
        """A client on the provider's base URL (from settings), carrying the key when it is a bearer token."""
        base_url = (getattr(settings, self.url_setting, "") if self.url_setting else "") or self.default_url
        headers: dict[str, str] = {}
        if self.bearer_token:
            headers = {"Authorization": f"Bearer {self.api_key()}", "Accept": "application/json"}
        return build_client(base_url=base_url, headers=headers, transport=self.transport)

    def call(self, fetch: Callable[..., T], *args: Any, name: str = "") -> T:
        """`fetch(*args)` under the retry policy: backoff, the provider's own wait hints, at most max_wait."""
        return call_with_retries(partial(fetch, *args), policy=self.policy, name=name or self.provider)

    def resume(self, read: Callable[[dict[str, Any]], T], checkpoint: dict[str, Any]) -> T | None:
        """Where `read` says a checkpoint stands; None when it cannot read it, and the window starts afresh
        (resuming from something unreadable would fail every later run too)."""
        try:
            return read(checkpoint)
        except (KeyError, TypeError, ValueError) as exc:
            logger.warning(f"{self.provider}_checkpoint_ignored", source=self.source.name, error=str(exc))
            return None
