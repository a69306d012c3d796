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

How one event of an answer becomes the catalogue's event is in ticketmaster_mapping.py.
"""

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog

from apps.core.http import (
    CredentialsRejectedError,
    ProviderError,
    RetryableError,
    RetryLaterError,
    RetryPolicy,
    check_response,
    parse_reset_epoch_ms,
    parse_retry_after,
    retry_hint,
)
from apps.events.sources.base import Connector, Page, SourceConfigError
from apps.events.sources.coerce import dig, format_utc, integer, parse_utc
from apps.events.sources.ticketmaster_mapping import normalize_event

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
    label = "Ticketmaster"
    needs_area = True
    key_setting = "TICKETMASTER_API_KEY"  # sent as the `apikey` query parameter
    url_setting = "TICKETMASTER_API_URL"
    default_url = "https://app.ticketmaster.com"
    retry_policy = RetryPolicy(attempts=4, base_delay=1.0, max_backoff=20.0, max_wait=60.0)
    requests_per_second = REQUESTS_PER_SECOND
    default_page_size = PAGE_SIZE
    initial_slice = INITIAL_SLICE

    # --- Paging ------------------------------------------------------------------------------------------

    def pages(
        self, *, window_start: datetime, window_end: datetime, checkpoint: dict[str, Any] | None
    ) -> Iterator[Page]:
        api_key = self.api_key()
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

        with self.client() as client:
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
                answer = self.call(self._fetch, client, params)
                page_info = answer.payload["page"]
                total = integer(page_info.get("totalElements"))
                total_pages = integer(page_info.get("totalPages"))

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

                page = _page_of(answer.payload)
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
                page.checkpoint = following.to_checkpoint() if following else None
                yield page
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


def _page_of(payload: Mapping[str, Any]) -> Page:
    """The events of one answer; an entry that cannot be used is refused alone."""
    page = Page()
    embedded = payload.get("_embedded") or {}
    raw_events = embedded.get("events") if isinstance(embedded, dict) else None
    if raw_events is None:
        return page
    if not isinstance(raw_events, list):
        raise RetryableError("Ticketmaster answered `_embedded.events` that is not a list")
    for raw in raw_events:
        provider_id = str(raw.get("id") or "") or None if isinstance(raw, dict) else None
        try:
            event = normalize_event(raw)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            page.refuse(provider_id, str(exc) or type(exc).__name__)
            continue
        page.add(event, provider_id)
    return page


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
    return str(dig(body, "fault", "detail", "errorcode") or "")


def _error_detail(response: httpx.Response) -> str:
    """The API's own words for a refused request (`errors[].code/detail`), without echoing the key."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text[:200]
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return f"{errors[0].get('code', '')} {errors[0].get('detail', '')}".strip()[:300]
    code = dig(body, "fault", "detail", "errorcode")
    return str(code or "")[:300]
