"""Reading the loosely typed values providers send (JSON, iCalendar properties) into the event shape's types.

The helpers take whatever arrived (None, a string, a number, a nested object) and answer a clean value or an
"unknown" one ("", None, "UTC"), so one odd field costs that field and not the item. The readers of a time
(`instant`, `parse_utc`) raise instead: an event cannot do without its time. The MAX_ sizes are the
catalogue's columns (apps.events.models); base.check_event refuses what does not fit.
"""

import math
import re
import zoneinfo
from datetime import UTC, datetime
from typing import Any

MAX_PROVIDER_ID, MAX_TITLE, MAX_VENUE_NAME, MAX_ADDRESS, MAX_URL = 300, 500, 300, 500, 1000

_HTTP_URL = re.compile(r"https?://", flags=re.IGNORECASE)


class BadItem(ValueError):
    """One item of a page cannot be used; the rest of the page still goes in."""


def text(value: Any) -> str:
    """A string or number as stripped text; "" for a missing value, a flag, an object or a list."""
    if value is None or isinstance(value, dict | list | bool):
        return ""
    return str(value).strip()


def url(value: Any) -> str:
    """An http(s) URL that fits the catalogue, else "" (a relative path or another scheme is no link to follow)."""
    candidate = text(value)
    return candidate if len(candidate) <= MAX_URL and _HTTP_URL.match(candidate) else ""


def clip(value: str, limit: int) -> str:
    """`value` stripped and, when longer than `limit`, cut with an ellipsis so that it fits."""
    value = value.strip()
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def mapping(value: Any) -> dict[str, Any]:
    """The value when it is a JSON object, else an empty one, so that `.get` chains never fail."""
    return value if isinstance(value, dict) else {}


def dig(value: Any, *keys: str) -> Any:
    """`value[k1][k2]...` through nested objects; None as soon as one level is missing or not an object."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def number(*values: Any) -> float | None:
    """The first of `values` that is a finite number, or a string of one (coordinates come both ways); else None."""
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            continue
        try:
            parsed = float(value)
        except (ValueError, OverflowError):
            continue
        if math.isfinite(parsed):
            return parsed
    return None


def integer(value: Any) -> int:
    """An integer count from a number or a numeric string; 0 when there is none."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def iana_zone(*candidates: Any) -> str:
    """The first candidate that names an IANA zone, else "UTC" (the instants carry their offsets anyway)."""
    for candidate in candidates:
        name = candidate.strip() if isinstance(candidate, str) else ""
        if not name:
            continue
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue
        return name
    return "UTC"


def parse_utc(value: str) -> datetime:
    """An ISO 8601 date-time with its offset (or `Z`), in UTC. Raises ValueError without an offset."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"date-time without offset: {value!r}")
    return parsed.astimezone(UTC)


def instant(value: Any) -> datetime | None:
    """An ISO 8601 date-time with its offset, in UTC; None when there is none. Raises BadItem when unreadable."""
    written = text(value)
    if not written:
        return None
    try:
        moment = datetime.fromisoformat(written)
    except ValueError:
        raise BadItem(f"unreadable time {written!r}") from None
    if moment.tzinfo is None:
        raise BadItem(f"time without offset {written!r}")
    return moment.astimezone(UTC)


def format_utc(moment: datetime) -> str:
    """The date-time format the providers' query parameters take: UTC to the second, with `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def aware(moment: datetime) -> datetime:
    """A naive moment read as UTC (providers and checkpoints sometimes drop the offset)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
