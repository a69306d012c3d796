"""One Ticketmaster Discovery API event (`_embedded.events[]`) as the catalogue's event shape.

Times: `dates.start.dateTime` is the instant; without it (or with `timeTBA` / `noSpecificTime`) the event
starts at local midnight of `localDate` in the event's zone, marked time-to-be-announced or all-day. A date
still to be decided refuses the event. Prices are the range over `priceRanges` in one currency (standard
ones first); classifications map to the taxonomy, genres before segments.
"""

import re
import zoneinfo
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from apps.events.sources.base import NormalizedEvent, NormalizedVenue
from apps.events.sources.coerce import (
    MAX_ADDRESS,
    MAX_PROVIDER_ID,
    MAX_TITLE,
    MAX_VENUE_NAME,
    clip,
    dig,
    iana_zone,
    integer,
    number,
    parse_utc,
    url,
)

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
    venue_raw = _first(dig(raw, "_embedded", "venues"))
    zone_name = iana_zone(dates.get("timezone"), venue_raw.get("timezone") if venue_raw else None)
    zone = zoneinfo.ZoneInfo(zone_name)
    start_utc, time_tba, all_day = _start(dates.get("start") or {}, zone)
    end_utc = _end(dates.get("end") or {}, zone, start_utc)
    category, tags = _classify(raw.get("classifications") or [])
    price_min, price_max, currency = _prices(raw.get("priceRanges"))
    return NormalizedEvent(
        provider_id=provider_id,
        title=clip(str(raw.get("name") or ""), MAX_TITLE),
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
        url=url(raw.get("url")),
        image_url=_image(raw.get("images")),
        status=STATUSES.get(str(dig(dates, "status", "code") or "").lower(), "scheduled"),
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


def _classify(classifications: Any) -> tuple[str, tuple[str, ...]]:
    if not isinstance(classifications, list) or not classifications:
        return "", ()
    dicts = [c for c in classifications if isinstance(c, dict)]
    if not dicts:
        return "", ()
    primary = next((c for c in dicts if c.get("primary")), dicts[0])
    names = {level: str(dig(primary, level, "name") or "").strip() for level in ("segment", "genre", "subGenre")}
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
    lat, lon = number(dig(raw, "location", "latitude")), number(dig(raw, "location", "longitude"))
    if lat is None or lon is None:
        lat = lon = None
    name = str(raw.get("name") or "").strip()
    parts = [
        str(dig(raw, "address", "line1") or "").strip(),
        str(dig(raw, "city", "name") or "").strip(),
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
        key=clip(key, 200),
        name=clip(name or address, MAX_VENUE_NAME),
        address=clip(address, MAX_ADDRESS),
        lat=lat,
        lon=lon,
        timezone=iana_zone(raw.get("timezone"), event_zone),
    )


def _image(images: Any) -> str:
    """A 16:9 picture of a card's size when there is one, else the largest."""
    if not isinstance(images, list):
        return ""
    candidates = [i for i in images if isinstance(i, dict) and url(i.get("url"))]
    if not candidates:
        return ""

    def rank(image: Mapping[str, Any]) -> tuple[bool, bool, bool, int]:
        width = integer(image.get("width"))
        return (image.get("ratio") == "16_9", not image.get("fallback"), width <= 1200, width)

    return url(max(candidates, key=rank).get("url"))


def _first(value: Any) -> dict[str, Any] | None:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    return None
