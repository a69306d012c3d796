"""Reading single properties of a component: text, TZID, SEQUENCE, DURATION, GEO, the last change."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
from icalendar.prop import vBroken

from apps.core.icalendar import property_value


def values_of(prop: Any) -> list[Any]:
    if prop is None:
        return []
    return list(prop) if isinstance(prop, list) else [prop]


def tzid_of(prop: Any) -> str | None:
    params = getattr(prop, "params", None)
    value = params.get("TZID") if params is not None else None
    return str(value).strip() or None if value is not None else None


def wall_time(value: datetime) -> datetime:
    return value.replace(tzinfo=None, microsecond=0)


def text_of(value: Any) -> str:
    if value is None or isinstance(value, vBroken):
        return ""
    if isinstance(value, list):
        value = value[0] if value else ""
    # NUL is valid in a content line's bytes but no text column can store it.
    return str(value).replace("\x00", "").strip()


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sequence_of(event: icalendar.Component) -> int:
    try:
        return int(str(event.get("SEQUENCE", 0)).strip() or 0)
    except ValueError:
        return 0


def highest_sequence(components: Sequence[icalendar.Component]) -> icalendar.Component:
    best = components[0]
    for component in components[1:]:
        if sequence_of(component) > sequence_of(best):
            best = component
    return best


def updated_at(event: icalendar.Component) -> datetime | None:
    for name in ("LAST-MODIFIED", "DTSTAMP"):
        value = property_value(event.get(name))
        if isinstance(value, datetime):
            return value.replace(tzinfo=value.tzinfo or UTC).astimezone(UTC)
    return None


def duration_of(event: icalendar.Component) -> timedelta | None:
    value = property_value(event.get("DURATION"))
    return value if isinstance(value, timedelta) else None


def geo_of(value: Any) -> tuple[float | None, float | None]:
    if value is None or isinstance(value, vBroken):
        return None, None
    try:
        lat, lon = float(value.latitude), float(value.longitude)
    except (AttributeError, TypeError, ValueError):
        return None, None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or math.isnan(lat) or math.isnan(lon):
        return None, None
    return lat, lon
