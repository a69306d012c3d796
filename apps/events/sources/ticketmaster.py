"""Ticketmaster Discovery API v2: the events around a point, for a time window.

`GET {TICKETMASTER_API_URL}/discovery/v2/events.json` answers in HAL: `_embedded.events[]` (absent when
there are none), `page{size,totalElements,totalPages,number}` and `_links.next`. The API refuses deep
paging (`size * page` must stay under 1000), so the window is searched in slices (a week at first); a slice
holding 1000 events or more is cut down before paging through it, and the following slice grows back.
The checkpoint after every page holds the window, the slice and the next page, so a run resumes exactly
where the last one stopped.

Limits: at most 2 requests a second (we pace at a little under), and a daily quota; over it, the API
answers 429 with `fault.detail.errorcode` `policies.ratelimit.QuotaViolation` and a `Rate-Limit-Reset`
header in epoch milliseconds. A short wait is slept through; a longer one ends the run with its
checkpoint (RetryLaterError) so the next run resumes.
"""

import json
import math
import re
import time
import zoneinfo
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import partial
from typing import TYPE_CHECKING, Any

import httpx
import structlog
from django.conf import settings

from apps.core.http import (
    Clock,
    CredentialsRejectedError,
    ProviderError,
    RateLimiter,
    RetryableError,
    RetryLaterError,
    RetryPolicy,
    Sleep,
    build_client,
    call_with_retries,
    check_response,
    parse_reset_epoch_ms,
    parse_retry_after,
    retry_hint,
)
from apps.events.sources.base import (
    Connector,
    InvalidItem,
    NormalizedEvent,
    NormalizedVenue,
    Page,
    SourceConfigError,
    check_event,
)

if TYPE_CHECKING:
    from apps.events.models import Source

logger = structlog.get_logger(__name__)

EVENTS_PATH = "/discovery/v2/events.json"
PAGE_SIZE = 100  # the API allows up to 200; 100 keeps bodies small and pages cheap to redo
DEEP_PAGING_LIMIT = 1000  # size * page must stay under this
INITIAL_SLICE = timedelta(days=7)
MIN_SLICE = timedelta(hours=1)
DEFAULT_RADIUS_KM = 25.0
GEOHASH_PRECISION = 9
# The documented limit is 5 requests a second, but keys are often capped at 2; stay a little under that.
REQUESTS_PER_SECOND = 1.9
RESET_HEADER = "Rate-Limit-Reset"
QUOTA_VIOLATION = "policies.ratelimit.QuotaViolation"
SPIKE_ARREST = "policies.ratelimit.SpikeArrestViolation"
CHECKPOINT_VERSION = 1

# One pacer for every Ticketmaster source in this process: the limit is per key, not per source.
_SHARED_LIMITER = RateLimiter(REQUESTS_PER_SECOND)

# Field sizes of the catalogue (apps.events.models): longer values are clipped, never refused by the database.
MAX_TITLE, MAX_VENUE_NAME, MAX_ADDRESS, MAX_URL, MAX_PROVIDER_ID = 500, 300, 500, 1000, 300

STATUSES = {"cancelled": "cancelled", "canceled": "cancelled", "postponed": "postponed", "rescheduled": "rescheduled"}

# Ticketmaster's classification names (segment, genre) to our taxonomy. Genres are looked at first, since
# they tell "Family" or "Fairs & Festivals" apart inside the catch-all "Miscellaneous" segment.
GENRE_CATEGORIES = {
    "family": "family",
    "children's theatre": "family",
    "children's music": "family",
    "fairs & festivals": "festivals",
    "festival": "festivals",
    "food & drink": "food-drink",
    "community/civic": "community",
    "community/cultural": "community",
    "lecture/seminar": "learning",
    "education": "learning",
    "nightlife": "nightlife",
    "club": "nightlife",
    "flea market": "markets",
    "markets": "markets",
    "outdoor": "outdoors",
    "hiking": "outdoors",
    "film": "film",
}
SEGMENT_CATEGORIES = {
    "music": "music",
    "sports": "sports",
    "arts & theatre": "arts-theatre",
    "film": "film",
}

_GEOHASH_ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"


def geohash(lat: float, lon: float, precision: int = GEOHASH_PRECISION) -> str:
    """The standard base-32 geohash of a point (precision 9 is a cell of about 5 m x 5 m)."""
    lat_range, lon_range = [-90.0, 90.0], [-180.0, 180.0]
    chars: list[str] = []
    bits, bit_count, use_lon = 0, 0, True
    while len(chars) < precision:
        value, bounds = (lon, lon_range) if use_lon else (lat, lat_range)
        middle = (bounds[0] + bounds[1]) / 2
        if value >= middle:
            bits = bits * 2 + 1
            bounds[0] = middle
        else:
            bits *= 2
            bounds[1] = middle
        use_lon = not use_lon
        bit_count += 1
        if bit_count == 5:
            chars.append(_GEOHASH_ALPHABET[bits])
            bits, bit_count = 0, 0
    return "".join(chars)


def format_utc(moment: datetime) -> str:
    """The API's date-time format: UTC, seconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"date-time without offset: {value!r}")
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class Cursor:
    """Where a run is: the whole window, the slice being paged, and the next page of that slice."""

    window_start: datetime
    window_end: datetime
    slice_start: datetime
    slice_end: datetime
    page: int = 0

    def to_checkpoint(self) -> dict[str, Any]:
        return {
            "version": CHECKPOINT_VERSION,
            "window_start": format_utc(self.window_start),
            "window_end": format_utc(self.window_end),
            "slice_start": format_utc(self.slice_start),
            "slice_end": format_utc(self.slice_end),
            "page": self.page,
        }

    @classmethod
    def from_checkpoint(cls, checkpoint: Mapping[str, Any]) -> "Cursor | None":
        """The cursor a checkpoint describes; None when it is unreadable (the run then starts over)."""
        try:
            cursor = cls(
                window_start=parse_utc(str(checkpoint["window_start"])),
                window_end=parse_utc(str(checkpoint["window_end"])),
                slice_start=parse_utc(str(checkpoint["slice_start"])),
                slice_end=parse_utc(str(checkpoint["slice_end"])),
                page=int(checkpoint.get("page", 0)),
            )
        except (KeyError, TypeError, ValueError):
            return None
        if not cursor.window_start <= cursor.slice_start < cursor.slice_end <= cursor.window_end or cursor.page < 0:
            return None
        return cursor

    @classmethod
    def first(cls, window_start: datetime, window_end: datetime, slice_length: timedelta) -> "Cursor":
        start = window_start.astimezone(UTC).replace(microsecond=0)
        end = window_end.astimezone(UTC).replace(microsecond=0)
        return cls(start, end, start, min(end, start + slice_length), 0)

    @property
    def slice_length(self) -> timedelta:
        return self.slice_end - self.slice_start


@dataclass(frozen=True)
class Answer:
    """One page of the API's answer, with the quota headers that came with it."""

    payload: dict[str, Any]
    quota_available: int | None
    quota_reset_in: float | None


class TicketmasterConnector(Connector):
    provider = "ticketmaster"
    needs_area = True

    def __init__(
        self,
        source: "Source",
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
        page_size: int = PAGE_SIZE,
        initial_slice: timedelta = INITIAL_SLICE,
    ) -> None:
        """`transport`, `sleep` and `clock` let tests answer at the network boundary and never wait."""
        super().__init__(source)
        self.transport = transport
        self.sleep: Sleep = sleep or time.sleep
        self.clock: Clock = clock or time.time
        self.page_size = page_size
        self.initial_slice = max(initial_slice, MIN_SLICE)
        if sleep is None and clock is None:
            self.limiter = _SHARED_LIMITER
        else:
            self.limiter = RateLimiter(REQUESTS_PER_SECOND, sleep=self.sleep, clock=self.clock)
        self.policy = RetryPolicy(
            attempts=4, base_delay=1.0, max_backoff=20.0, max_wait=60.0, sleep=self.sleep, clock=self.clock
        )

    # --- Paging ------------------------------------------------------------------------------------------

    def pages(
        self, *, window_start: datetime, window_end: datetime, checkpoint: dict[str, Any] | None
    ) -> Iterator[Page]:
        api_key: str = getattr(settings, "TICKETMASTER_API_KEY", "")
        base_url: str = getattr(settings, "TICKETMASTER_API_URL", "") or "https://app.ticketmaster.com"
        if not api_key:
            raise SourceConfigError(
                "TICKETMASTER_API_KEY is not set: Ticketmaster sources cannot be synced without it."
            )
        source = self.source
        if source.center_lat is None or source.center_lon is None:
            raise SourceConfigError(f"Source {source.name!r} has no centre: Ticketmaster searches around a point.")
        area = {
            "geoPoint": geohash(source.center_lat, source.center_lon),
            "radius": str(max(1, math.ceil(source.radius_km or DEFAULT_RADIUS_KM))),
            "unit": "km",
        }
        cursor = Cursor.from_checkpoint(checkpoint) if checkpoint else None
        if cursor is None:
            if checkpoint:
                logger.warning("ticketmaster_checkpoint_unreadable", source=source.name, checkpoint=checkpoint)
            cursor = Cursor.first(window_start, window_end, self.initial_slice)
            if cursor.slice_start >= cursor.window_end:
                return

        with build_client(base_url=base_url, transport=self.transport) as client:
            while True:
                params = {
                    "apikey": api_key,
                    **area,
                    # Both ends are inclusive for the API; the slice's end belongs to the next slice.
                    "startDateTime": format_utc(cursor.slice_start),
                    "endDateTime": format_utc(cursor.slice_end - timedelta(seconds=1)),
                    "size": str(self.page_size),
                    "page": str(cursor.page),
                    "sort": "date,asc",
                    "includeTBA": "yes",
                    "includeTBD": "yes",
                }
                answer = call_with_retries(
                    partial(self._fetch, client, params), policy=self.policy, name="ticketmaster"
                )
                page_info = answer.payload["page"]
                total = _int(page_info.get("totalElements"))
                total_pages = _int(page_info.get("totalPages"))

                if cursor.page == 0 and total >= DEEP_PAGING_LIMIT and cursor.slice_length > MIN_SLICE:
                    # Too many to page through: cut the slice down (at least in half) and ask again.
                    shrunk = min(cursor.slice_length / 2, cursor.slice_length * (0.8 * DEEP_PAGING_LIMIT / total))
                    length = max(MIN_SLICE, timedelta(seconds=int(shrunk.total_seconds())))
                    logger.info(
                        "ticketmaster_slice_split",
                        source=source.name,
                        total=total,
                        slice_hours=length / timedelta(hours=1),
                    )
                    cursor = Cursor(
                        cursor.window_start, cursor.window_end, cursor.slice_start, cursor.slice_start + length
                    )
                    continue

                items, invalid = self._normalize_page(answer.payload)
                next_page = cursor.page + 1
                if next_page < total_pages and next_page * self.page_size < DEEP_PAGING_LIMIT:
                    cursor = Cursor(
                        cursor.window_start, cursor.window_end, cursor.slice_start, cursor.slice_end, next_page
                    )
                    following: Cursor | None = cursor
                else:
                    if next_page < total_pages:
                        logger.warning(
                            "ticketmaster_deep_paging_limit",
                            source=source.name,
                            slice_start=format_utc(cursor.slice_start),
                            total=total,
                            unreachable=total - next_page * self.page_size,
                        )
                    following = self._next_slice(cursor)
                    cursor = following or cursor
                yield Page(items=items, invalid=invalid, checkpoint=following.to_checkpoint() if following else None)
                if following is None:
                    return
                self._respect_quota(answer)

    def _next_slice(self, cursor: Cursor) -> Cursor | None:
        if cursor.slice_end >= cursor.window_end:
            return None
        # A slice that had to be cut down grows back, so one busy evening does not slow the whole window.
        length = min(self.initial_slice, cursor.slice_length * 2)
        return Cursor(
            cursor.window_start, cursor.window_end, cursor.slice_end, min(cursor.window_end, cursor.slice_end + length)
        )

    def _respect_quota(self, answer: Answer) -> None:
        """The daily quota is spent: wait for its reset if that is soon, else end the run with its checkpoint."""
        if answer.quota_available is None or answer.quota_available > 0:
            return
        wait = answer.quota_reset_in if answer.quota_reset_in is not None else self.policy.max_wait + 1
        if wait > self.policy.max_wait:
            raise RetryLaterError(wait)
        self.sleep(wait)

    # --- One request ------------------------------------------------------------------------------------

    def _fetch(self, client: httpx.Client, params: dict[str, str]) -> Answer:
        self.limiter.acquire("ticketmaster")
        response = client.get(EVENTS_PATH, params=params)
        status = response.status_code
        if status in (401, 403):
            code = _fault_code(response) or "no error code"
            raise CredentialsRejectedError(
                f"Ticketmaster refused the API key (HTTP {status}, {code}); check TICKETMASTER_API_KEY.",
                status_code=status,
            )
        if status == 429:
            code = _fault_code(response)
            if code == SPIKE_ARREST:
                # Too many requests this second: a short pause, not the daily quota's reset.
                hint = parse_retry_after(response.headers.get("Retry-After"), now=self.clock())
            else:
                hint = retry_hint(response, now=self.clock(), reset_header=RESET_HEADER)
            # The fault string names the API key; only the error code goes into messages and logs.
            raise RetryableError(f"Ticketmaster rate limit ({code or 'HTTP 429'})", retry_after=hint)
        check_response(response, reset_header=RESET_HEADER, clock=self.clock)
        if status != 200:
            raise ProviderError(f"Ticketmaster answered HTTP {status}: {_error_detail(response)}")
        try:
            payload = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RetryableError(f"Ticketmaster answered a malformed body ({exc})") from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("page"), dict):
            raise RetryableError("Ticketmaster answered a body without its `page` object")
        return Answer(
            payload=payload,
            quota_available=_int_or_none(response.headers.get("Rate-Limit-Available")),
            quota_reset_in=parse_reset_epoch_ms(response.headers.get(RESET_HEADER), now=self.clock()),
        )

    # --- Normalisation ------------------------------------------------------------------------------------

    def _normalize_page(self, payload: Mapping[str, Any]) -> tuple[list[NormalizedEvent], list[InvalidItem]]:
        embedded = payload.get("_embedded") or {}
        raw_events = embedded.get("events") if isinstance(embedded, dict) else None
        if raw_events is None:
            return [], []
        if not isinstance(raw_events, list):
            raise RetryableError("Ticketmaster answered `_embedded.events` that is not a list")
        items: list[NormalizedEvent] = []
        invalid: list[InvalidItem] = []
        for raw in raw_events:
            provider_id = str(raw.get("id") or "") if isinstance(raw, dict) else ""
            try:
                event = normalize_event(raw)
            except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                invalid.append(InvalidItem(provider_id or None, str(exc) or type(exc).__name__))
                continue
            reason = check_event(event)
            if reason:
                invalid.append(InvalidItem(provider_id or None, reason))
            else:
                items.append(event)
        return items, invalid


# --- Mapping one Ticketmaster event ------------------------------------------------------------------------


def normalize_event(raw: Any) -> NormalizedEvent:
    """One `_embedded.events[]` entry as our event shape. Raises ValueError (and friends) when unusable."""
    if not isinstance(raw, dict):
        raise ValueError("event is not an object")
    provider_id = str(raw.get("id") or "").strip()
    if not provider_id:
        raise ValueError("missing id")
    if len(provider_id) > MAX_PROVIDER_ID:
        raise ValueError("id too long")
    dates = raw.get("dates") or {}
    venue_raw = _first(_dig(raw, "_embedded", "venues"))
    zone_name = _zone(dates.get("timezone"), venue_raw.get("timezone") if venue_raw else None)
    zone = zoneinfo.ZoneInfo(zone_name)
    start_utc, time_tba, all_day = _start(dates.get("start") or {}, zone)
    end_utc = _end(dates.get("end") or {}, zone, start_utc)
    category, tags = _classify(raw.get("classifications") or [])
    price_min, price_max, currency = _prices(raw.get("priceRanges"))
    return NormalizedEvent(
        provider_id=provider_id,
        title=_clip(str(raw.get("name") or ""), MAX_TITLE),
        start_utc=start_utc,
        end_utc=end_utc,
        timezone=zone_name,
        all_day=all_day,
        time_tba=time_tba,
        description=str(raw.get("description") or raw.get("info") or "").strip(),
        category=category,
        tags=tags,
        price_min=price_min,
        price_max=price_max,
        currency=currency,
        is_free=price_max is not None and price_max == 0,
        url=_url(raw.get("url")),
        image_url=_image(raw.get("images")),
        status=STATUSES.get(str(_dig(dates, "status", "code") or "").lower(), "scheduled"),
        venue=_venue(venue_raw, zone_name),
    )


def _start(start: Mapping[str, Any], zone: zoneinfo.ZoneInfo) -> tuple[datetime, bool, bool]:
    """(start in UTC, time to be announced, all day). A known date without a time starts at local midnight."""
    if start.get("dateTBD") or start.get("dateTBA"):
        raise ValueError("date not announced yet")
    time_tba = bool(start.get("timeTBA"))
    no_specific_time = bool(start.get("noSpecificTime"))
    if start.get("dateTime") and not time_tba and not no_specific_time:
        return parse_utc(str(start["dateTime"])), False, False
    local_date = start.get("localDate")
    if not local_date:
        if start.get("dateTime"):
            return parse_utc(str(start["dateTime"])), time_tba, False
        raise ValueError("missing start date")
    day = date.fromisoformat(str(local_date))
    local_time = start.get("localTime")
    if local_time and not time_tba and not no_specific_time:
        return _local(day, dt_time.fromisoformat(str(local_time)), zone), False, False
    # No time: announced later (time TBA), or an event without one (all day long).
    return _local(day, dt_time.min, zone), not no_specific_time, no_specific_time


def _end(end: Mapping[str, Any], zone: zoneinfo.ZoneInfo, start_utc: datetime) -> datetime | None:
    try:
        if end.get("dateTime"):
            end_utc = parse_utc(str(end["dateTime"]))
        elif end.get("localDate"):
            day = date.fromisoformat(str(end["localDate"]))
            if end.get("localTime") and not end.get("noSpecificTime"):
                end_utc = _local(day, dt_time.fromisoformat(str(end["localTime"])), zone)
            else:
                end_utc = _local(day + timedelta(days=1), dt_time.min, zone)  # the end of that day
        else:
            return None
    except ValueError:
        return None  # a garbled end does not make the event unusable
    return end_utc if end_utc >= start_utc else None


def _local(day: date, at: dt_time, zone: zoneinfo.ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _zone(*candidates: Any) -> str:
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            try:
                zoneinfo.ZoneInfo(candidate.strip())
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
            return candidate.strip()
    return "UTC"


def _classify(classifications: Any) -> tuple[str, tuple[str, ...]]:
    if not isinstance(classifications, list) or not classifications:
        return "", ()
    dicts = [c for c in classifications if isinstance(c, dict)]
    if not dicts:
        return "", ()
    primary = next((c for c in dicts if c.get("primary")), dicts[0])
    names = {level: str(_dig(primary, level, "name") or "").strip() for level in ("segment", "genre", "subGenre")}
    tags = tuple(dict.fromkeys(n for n in names.values() if n and n.casefold() != "undefined"))
    for level in ("genre", "subGenre"):
        category = GENRE_CATEGORIES.get(names[level].casefold())
        if category:
            return category, tags
    category = SEGMENT_CATEGORIES.get(names["segment"].casefold(), "")
    if not category and primary.get("family") is True:
        category = "family"
    return category, tags


def _prices(price_ranges: Any) -> tuple[Decimal | None, Decimal | None, str]:
    """The range over the event's price ranges in one currency. No ranges: unknown prices (not free)."""
    if not isinstance(price_ranges, list):
        return None, None, ""
    ranges = [r for r in price_ranges if isinstance(r, dict)]
    standard = [r for r in ranges if str(r.get("type", "")).lower() == "standard"]
    ranges = standard or ranges
    currency = next(
        (str(r["currency"]).upper() for r in ranges if re.fullmatch(r"[A-Za-z]{3}", str(r.get("currency", "")))), ""
    )
    lows: list[Decimal] = []
    highs: list[Decimal] = []
    for entry in ranges:
        if currency and str(entry.get("currency", "")).upper() not in (currency, ""):
            continue
        low, high = _money(entry.get("min")), _money(entry.get("max"))
        lows.extend(v for v in (low if low is not None else high,) if v is not None)
        highs.extend(v for v in (high if high is not None else low,) if v is not None)
    if not lows:
        return None, None, ""
    return min(lows), max(highs), currency


def _money(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e8"):
        return None
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _venue(raw: Mapping[str, Any] | None, event_zone: str) -> NormalizedVenue | None:
    if not raw:
        return None
    lat, lon = _coordinate(_dig(raw, "location", "latitude")), _coordinate(_dig(raw, "location", "longitude"))
    if lat is None or lon is None:
        lat = lon = None
    name = str(raw.get("name") or "").strip()
    parts = [
        str(_dig(raw, "address", "line1") or "").strip(),
        str(_dig(raw, "city", "name") or "").strip(),
        str(raw.get("postalCode") or "").strip(),
    ]
    address = ", ".join(p for p in parts if p)
    venue_id = str(raw.get("id") or "").strip()
    if venue_id:
        key = f"ticketmaster:{venue_id}"
    elif name:
        point = f"@{lat:.4f},{lon:.4f}" if lat is not None and lon is not None else ""
        key = f"ticketmaster:{name.casefold()}{point}"
    else:
        return None
    return NormalizedVenue(
        key=_clip(key, 200),
        name=_clip(name or address, MAX_VENUE_NAME),
        address=_clip(address, MAX_ADDRESS),
        lat=lat,
        lon=lon,
        timezone=_zone(raw.get("timezone"), event_zone),
    )


def _coordinate(value: Any) -> float | None:
    try:
        number = float(value)  # the API sends coordinates as strings
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _image(images: Any) -> str:
    """A 16:9 picture of a card's size when there is one, else the largest."""
    if not isinstance(images, list):
        return ""
    candidates = [i for i in images if isinstance(i, dict) and _url(i.get("url"))]
    if not candidates:
        return ""

    def rank(image: Mapping[str, Any]) -> tuple[bool, bool, bool, int]:
        width = _int(image.get("width"))
        return (image.get("ratio") == "16_9", not image.get("fallback"), width <= 1200, width)

    return _url(max(candidates, key=rank).get("url"))


def _url(value: Any) -> str:
    text = str(value or "").strip()
    if len(text) > MAX_URL or not re.match(r"https?://", text, flags=re.IGNORECASE):
        return ""
    return text


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _first(value: Any) -> dict[str, Any] | None:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    return None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _fault_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    return str(_dig(body, "fault", "detail", "errorcode") or "")


def _error_detail(response: httpx.Response) -> str:
    """The API's own words for a refused request (`errors[].code/detail`), without echoing the key."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text[:200]
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return f"{errors[0].get('code', '')} {errors[0].get('detail', '')}".strip()[:300]
    code = _dig(body, "fault", "detail", "errorcode")
    return str(code or "")[:300]
