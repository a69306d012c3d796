"""What every reader of iCalendar data shares: zone names resolved to IANA, property values read safely, and
the size cap on a downloaded feed.

Zones: a TZID or X-WR-TIMEZONE may be an IANA name, a Windows/Outlook name ("W. Europe Standard Time", through
icalendar's table) or a "globally unique" /vendor/Region/City id (RFC 5545 3.2.19); the UTC aliases all
become "UTC". A time's tzinfo is named through its key, or through icalendar's table of equivalent ids.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, timedelta, tzinfo
from functools import lru_cache
from typing import Any

from icalendar.prop import vBroken
from icalendar.timezone.tzid import tzids_from_tzinfo
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

MAX_FEED_BYTES = 10 * 1024 * 1024  # the largest iCalendar feed or file read
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu", "Z"})


@lru_cache(maxsize=2048)
def known_zone(name: str) -> str | None:
    """The IANA zone a TZID or X-WR-TIMEZONE names ("UTC" for its aliases), or None."""
    cleaned = name.strip().strip('"').strip()
    if not cleaned:
        return None
    candidates = [cleaned, cleaned.strip("/")]
    if cleaned in WINDOWS_TO_OLSON:
        candidates.append(WINDOWS_TO_OLSON[cleaned])
    if cleaned.startswith("/"):
        parts = cleaned.strip("/").split("/")
        candidates.extend("/".join(parts[i:]) for i in range(1, len(parts)))
    for candidate in candidates:
        if candidate in UTC_NAMES:
            return "UTC"
        if is_zone(candidate):
            return candidate
    return None


@lru_cache(maxsize=2048)
def is_zone(name: str) -> bool:
    """Whether `name` is exactly an IANA zone (never a path)."""
    if not name or name.startswith("/") or ".." in name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def zone_name_of(zone: tzinfo) -> str | None:
    """The IANA name of a parsed time's zone ("UTC" for any UTC), or None when it has none we know."""
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return known_zone(key)
    if zone is UTC or zone.utcoffset(None) == timedelta(0):
        return "UTC"
    try:
        candidates = tzids_from_tzinfo(zone)
    except (AttributeError, TypeError, ValueError):
        return None
    return next((known for c in candidates if (known := known_zone(c))), None)


def property_value(prop: Any) -> Any:
    """The value a date/time property holds (date, date-time, duration or period); None when it is missing or
    broken (icalendar raises on .dt of a broken property, and on impractical values such as
    P999999999999999999W)."""
    if prop is None or isinstance(prop, (vBroken, list)):
        return None
    try:
        return prop.dt
    except Exception:  # noqa: BLE001 - any failure to read the value means there is no usable value
        return None
