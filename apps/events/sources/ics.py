"""iCalendar feeds: any public `.ics` URL (venues and cities publish them), as dated events of the window.

The feed (`options["url"]`) is fetched with the project's HTTP client: timeouts, retries on 429/5xx and
timeouts, a size cap. Recurring entries (RRULE, RDATE, EXDATE, moved occurrences) are expanded into one
event per occurrence inside the synced window by `recurring-ical-events`; each occurrence is keyed by its
UID and its recurrence instant (`uid@host|20260502T100000Z`), a one-off entry by its UID alone.

Times: a TZID is honoured; UTC and floating times are shown in the calendar's X-WR-TIMEZONE (floating ones
are read in it), else UTC; DATE values are all-day events in that zone. A feed is one page (no checkpoint).
A body that is not iCalendar fails the run; an entry without UID or DTSTART is refused on its own.
"""

import hashlib
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import icalendar
import recurring_ical_events  # type: ignore[import-untyped]
import structlog
from icalendar.prop import vBroken

from apps.core.http import ProviderError, RetryPolicy, check_response
from apps.core.icalendar import MAX_FEED_BYTES, is_zone, property_value, zone_name_of
from apps.core.taxonomy import CATEGORY_SLUGS
from apps.core.time import local_midnight_utc
from apps.events.sources.base import (
    Connector,
    InvalidItem,
    NormalizedEvent,
    NormalizedVenue,
    Page,
    SourceConfigError,
    check_event,
)
from apps.events.sources.coerce import MAX_ADDRESS, MAX_PROVIDER_ID, MAX_TITLE, MAX_VENUE_NAME, clip, text, url

logger = structlog.get_logger(__name__)

# Words found in CATEGORIES, to our taxonomy. A source can also name one category for its whole feed.
CATEGORY_WORDS = {
    "music": "music",
    "concert": "music",
    "concerts": "music",
    "jazz": "music",
    "gig": "music",
    "nightlife": "nightlife",
    "party": "nightlife",
    "club": "nightlife",
    "theatre": "arts-theatre",
    "theater": "arts-theatre",
    "arts": "arts-theatre",
    "art": "arts-theatre",
    "exhibition": "arts-theatre",
    "comedy": "arts-theatre",
    "dance": "arts-theatre",
    "film": "film",
    "cinema": "film",
    "movie": "film",
    "food": "food-drink",
    "drink": "food-drink",
    "food & drink": "food-drink",
    "wine": "food-drink",
    "beer": "food-drink",
    "sport": "sports",
    "sports": "sports",
    "outdoor": "outdoors",
    "outdoors": "outdoors",
    "hiking": "outdoors",
    "family": "family",
    "kids": "family",
    "children": "family",
    "community": "community",
    "meetup": "community",
    "learning": "learning",
    "workshop": "learning",
    "lecture": "learning",
    "talk": "learning",
    "class": "learning",
    "market": "markets",
    "markets": "markets",
    "festival": "festivals",
    "festivals": "festivals",
}


class FeedError(ProviderError):
    """The feed could not be read as iCalendar (or is too large): the run fails, nothing is stored."""


class IcsConnector(Connector):
    provider = "ics"
    retry_policy = RetryPolicy(attempts=4, base_delay=1.0, max_backoff=20.0, max_wait=60.0)
    requests_per_second = 1.0  # per feed host: one feed is one request, but many feeds may live on one host
    max_bytes = MAX_FEED_BYTES

    @property
    def url(self) -> str:
        url = str(self.source.options.get("url") or "").strip()
        if url.lower().startswith("webcal://"):
            url = "https://" + url[len("webcal://") :]
        if not re.match(r"https?://[^/\s]+", url, flags=re.IGNORECASE):
            raise SourceConfigError(f"Source {self.source.name!r} needs options.url: an http(s) iCalendar URL.")
        return url

    def pages(
        self, *, window_start: datetime, window_end: datetime, checkpoint: dict[str, Any] | None
    ) -> Iterator[Page]:
        url = self.url
        # A feed is one page, so a run never leaves a checkpoint; one naming a window still wins.
        window_start, window_end = _checkpoint_window(checkpoint) or (window_start, window_end)
        with self.client() as client:
            body = self.call(self._download, client, url)
        calendar = parse_calendar(body)
        items, invalid = expand_calendar(
            calendar,
            window_start=window_start.astimezone(UTC),
            window_end=window_end.astimezone(UTC),
            feed_url=url,
            default_category=str(self.source.options.get("category") or ""),
        )
        yield Page(items=items, invalid=invalid, checkpoint=None)

    def _download(self, client: httpx.Client, url: str) -> bytes:
        self.limiter.acquire(httpx.URL(url).host)
        # Feeds move (http to https, renamed files); no secret travels with the request, so follow them.
        with client.stream(
            "GET", url, follow_redirects=True, headers={"Accept": "text/calendar, */*;q=0.5"}
        ) as response:
            check_response(response, clock=self.clock)
            if response.status_code != 200:
                raise ProviderError(f"The feed answered HTTP {response.status_code}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise FeedError(f"The feed is larger than {self.max_bytes // (1024 * 1024)} MB")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise FeedError(f"The feed is larger than {self.max_bytes // (1024 * 1024)} MB")
                chunks.append(chunk)
            return b"".join(chunks)


# --- Parsing and expanding ----------------------------------------------------------------------------------


def parse_calendar(body: bytes) -> icalendar.Calendar:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = body.decode("latin-1")
    if "BEGIN:VCALENDAR" not in text[:4096].upper():
        raise FeedError("The feed is not an iCalendar file (no BEGIN:VCALENDAR)")
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise FeedError(f"The feed is not valid iCalendar: {str(exc)[:200]}") from exc
    if not isinstance(calendar, icalendar.Calendar):
        raise FeedError("The feed is not an iCalendar file")
    return calendar


def expand_calendar(
    calendar: icalendar.Calendar,
    *,
    window_start: datetime,
    window_end: datetime,
    feed_url: str,
    default_category: str = "",
) -> tuple[list[NormalizedEvent], list[InvalidItem]]:
    """Every occurrence overlapping [window_start, window_end), normalised, and the entries refused."""
    calendar_zone = _calendar_zone(calendar)
    if "X-WR-TIMEZONE" in calendar and calendar_zone is None:
        del calendar["X-WR-TIMEZONE"]  # an unknown zone name: read the feed as if it had none
    context = _Context(
        zone_name=calendar_zone or "UTC",
        zone=zoneinfo.ZoneInfo(calendar_zone or "UTC"),
        feed_url=feed_url,
        default_category=default_category if default_category in CATEGORY_SLUGS else "",
    )
    timezones = [c for c in calendar.subcomponents if c.name == "VTIMEZONE"]
    invalid: list[InvalidItem] = []
    series: dict[str, list[icalendar.Component]] = {}
    for component in calendar.subcomponents:
        if component.name != "VEVENT":
            continue
        uid = str(component.get("UID") or "").strip()
        if not uid:
            invalid.append(InvalidItem(None, "VEVENT without UID"))
            continue
        reason = _unreadable(component)
        if reason:
            invalid.append(InvalidItem(uid, reason))
            continue
        series.setdefault(uid, []).append(component)

    items: list[NormalizedEvent] = []
    for uid, components in series.items():
        # One series at a time, so one broken rule costs its own events, not the feed's.
        single = icalendar.Calendar()
        if calendar_zone:
            single["X-WR-TIMEZONE"] = calendar["X-WR-TIMEZONE"]
        for component in (*timezones, *components):
            single.add_component(component)
        try:
            occurrences = recurring_ical_events.of(single).between(window_start, window_end)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            invalid.append(InvalidItem(uid, f"recurrence cannot be expanded: {str(exc)[:200]}"))
            continue
        recurring = len(components) > 1 or any(
            key in component for component in components for key in ("RRULE", "RDATE", "RECURRENCE-ID")
        )
        for occurrence in occurrences:
            try:
                event = _normalize(occurrence, uid=uid, recurring=recurring, context=context)
            except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
                invalid.append(InvalidItem(uid, str(exc)[:200] or type(exc).__name__))
                continue
            reason = check_event(event)
            if reason:
                invalid.append(InvalidItem(event.provider_id, reason))
            else:
                items.append(event)
    items.sort(key=lambda e: (e.start_utc, e.provider_id))
    return items, invalid


@dataclass(frozen=True)
class _Context:
    """What every occurrence of one feed is read with."""

    zone_name: str  # the calendar's zone (X-WR-TIMEZONE) or UTC
    zone: zoneinfo.ZoneInfo
    feed_url: str
    default_category: str


def _checkpoint_window(checkpoint: dict[str, Any] | None) -> tuple[datetime, datetime] | None:
    if not checkpoint:
        return None
    try:
        bounds = tuple(
            datetime.fromisoformat(str(checkpoint[k]).replace("Z", "+00:00")) for k in ("window_start", "window_end")
        )
    except (KeyError, ValueError):
        return None
    if any(bound.tzinfo is None for bound in bounds):
        return None
    return bounds[0], bounds[1]


def _calendar_zone(calendar: icalendar.Calendar) -> str | None:
    name = str(calendar.get("X-WR-TIMEZONE") or "").strip()
    return name if name and is_zone(name) else None


def _unreadable(component: icalendar.Component) -> str | None:
    if "DTSTART" not in component:
        return "VEVENT without DTSTART"
    for name in ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID"):
        values = component.get(name)
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, vBroken):
                return f"unreadable {name}"
    return None


def _normalize(occurrence: icalendar.Component, *, uid: str, recurring: bool, context: _Context) -> NormalizedEvent:
    start_value = property_value(occurrence.get("DTSTART"))
    end_value = property_value(occurrence.get("DTEND"))
    if isinstance(start_value, datetime):
        zone_name, start_utc = _instant(start_value, context)
        end_utc = _instant(end_value, context)[1] if isinstance(end_value, datetime) else None
        if end_utc == start_utc:
            end_utc = None  # no DTEND nor DURATION: the library repeats the start; we say "no end given"
        all_day = False
    elif isinstance(start_value, date):
        zone_name, all_day = context.zone_name, True
        start_utc = local_midnight_utc(start_value, context.zone)
        last = end_value if isinstance(end_value, date) and not isinstance(end_value, datetime) else None
        end_utc = local_midnight_utc(
            last if last and last > start_value else start_value + timedelta(days=1), context.zone
        )
    else:
        raise ValueError("DTSTART is neither a date nor a date-time")
    if end_utc is not None and end_utc < start_utc:
        end_utc = None

    provider_id = uid
    if recurring:
        provider_id = f"{uid}|{_instant_key(occurrence.get('RECURRENCE-ID'), start_value, context)}"
    if len(provider_id) > MAX_PROVIDER_ID:
        provider_id = f"sha256:{hashlib.sha256(provider_id.encode()).hexdigest()}"

    tags = tuple(dict.fromkeys(t for t in _categories(occurrence) if t))
    status = str(occurrence.get("STATUS") or "").strip().upper()
    return NormalizedEvent(
        provider_id=provider_id,
        title=clip(text(_property(occurrence, "SUMMARY")), MAX_TITLE),
        description=text(_property(occurrence, "DESCRIPTION")),
        start_utc=start_utc,
        end_utc=end_utc,
        timezone=zone_name,
        all_day=all_day,
        category=_category(tags) or context.default_category,
        tags=tags,
        url=url(_property(occurrence, "URL")),
        status="cancelled" if status == "CANCELLED" else "scheduled",
        venue=_venue(occurrence, zone_name, context),
    )


def _instant(value: datetime, context: _Context) -> tuple[str, datetime]:
    """(display zone, UTC instant) of a date-time: its TZID's zone, else the calendar's, else UTC."""
    if value.tzinfo is None:  # floating: the calendar's zone (or UTC) is what it means
        return context.zone_name, value.replace(tzinfo=context.zone).astimezone(UTC)
    zone_name = zone_name_of(value.tzinfo)
    if zone_name is None or zone_name == "UTC":
        zone_name = context.zone_name
    return zone_name, value.astimezone(UTC)


def _instant_key(recurrence_id: Any, start_value: date, context: _Context) -> str:
    """The recurrence instant of an occurrence: UTC `YYYYMMDDTHHMMSSZ`, or `YYYYMMDD` for all-day ones."""
    value = property_value(recurrence_id) or start_value
    if isinstance(value, datetime):
        return _instant(value, context)[1].strftime("%Y%m%dT%H%M%SZ")
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    raise ValueError("unreadable RECURRENCE-ID")


def _venue(occurrence: icalendar.Component, zone_name: str, context: _Context) -> NormalizedVenue | None:
    location = re.sub(r"\s+", " ", text(_property(occurrence, "LOCATION"))).strip()
    lat = lon = None
    geo = occurrence.get("GEO")
    if geo is not None and not isinstance(geo, vBroken):
        try:
            lat, lon = float(geo.latitude), float(geo.longitude)
        except (AttributeError, TypeError, ValueError):
            lat = lon = None
    if not location and lat is None:
        return None
    name = location.split(",", 1)[0].strip() if location else f"{lat:.5f}, {lon:.5f}"
    point = f"{lat:.4f},{lon:.4f}" if lat is not None and lon is not None else ""
    digest = hashlib.sha256(f"{context.feed_url}\n{location.casefold()}\n{point}".encode()).hexdigest()[:32]
    return NormalizedVenue(
        key=f"ics:{digest}",
        name=clip(name, MAX_VENUE_NAME),
        address=clip(location, MAX_ADDRESS),
        lat=lat,
        lon=lon,
        timezone=zone_name,
    )


def _categories(component: icalendar.Component) -> list[str]:
    values = component.get("CATEGORIES")
    names: list[str] = []
    for value in values if isinstance(values, list) else [values]:
        if value is None or isinstance(value, vBroken):
            continue
        cats = getattr(value, "cats", None)
        names.extend(str(c).strip() for c in (cats if cats is not None else [value]))
    return names


def _category(tags: tuple[str, ...]) -> str:
    for tag in tags:
        folded = tag.casefold()
        if folded in CATEGORY_SLUGS:
            return folded
        category = CATEGORY_WORDS.get(folded)
        if category:
            return category
    return ""


def _property(component: icalendar.Component, name: str) -> Any:
    """A property's value, the first one when it repeats; None when it is missing or unreadable."""
    value = component.get(name)
    if isinstance(value, vBroken):
        return None
    if isinstance(value, list):
        return value[0] if value else None
    return value
