"""The rules a window given as `weekend` or `start`/`end` follows, shared by every API that takes one."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from rest_framework import serializers

from apps.core.time import parse_window_bound


def validate_window(attrs: dict[str, Any], tz: str) -> None:
    """In place: `start` and `end` come together and parse in `tz` (dates are local midnights), `end` is later than
    `start`, and `weekend` is not given with them. Raises ValidationError naming the field at fault."""
    if ("start" in attrs) != ("end" in attrs):
        missing = "end" if "start" in attrs else "start"
        raise serializers.ValidationError({missing: ["Give start and end together."]})
    if "weekend" in attrs and "start" in attrs:
        raise serializers.ValidationError({"weekend": ["Use weekend or start/end, not both."]})
    for name in ("start", "end"):
        if name in attrs:
            try:
                attrs[name] = parse_window_bound(attrs[name], tz)
            except ValueError as exc:
                raise serializers.ValidationError({name: [str(exc)]}) from None
    if "start" in attrs and attrs["end"] <= attrs["start"]:
        raise serializers.ValidationError({"end": ["Must be later than start."]})


def query_window(params: Mapping[str, str], *, tz: str, max_days: int) -> tuple[datetime, datetime]:
    """The required `start` and `end` query parameters: each parses in `tz` (a date is local midnight), `end` is
    later than `start` and at most `max_days` after it. Raises ValidationError naming every parameter at fault."""
    errors: dict[str, list[str]] = {}
    bounds: dict[str, datetime] = {}
    for name in ("start", "end"):
        value = params.get(name)
        if value is None:
            errors[name] = ["This parameter is required."]
            continue
        try:
            bounds[name] = parse_window_bound(value, tz)
        except ValueError as exc:
            errors[name] = [str(exc)]
    if not errors and bounds["end"] <= bounds["start"]:
        errors["end"] = ["Must be later than start."]
    if not errors and bounds["end"] - bounds["start"] > timedelta(days=max_days):
        errors["end"] = [f"A window is at most {max_days} days."]
    if errors:
        raise serializers.ValidationError(errors)
    return bounds["start"], bounds["end"]


# A date is local midnight: from UTC+14 (the earliest, in Kiribati) to UTC-12 (the latest); a day either way holds
# both, and any shift a daylight-saving change gives a midnight.
_ANY_ZONE_MARGIN = timedelta(days=1)


def window_in_any_zone(params: Mapping[str, str]) -> tuple[datetime, datetime] | None:
    """Bounds holding the window `query_window` gives in any time zone, for reading before the zone is known (a
    date-time with offset is exact; a date is widened). None when a bound is missing or unreadable, or the end is
    not after the start even so: then `query_window` says which. The window's longest span is not checked here."""
    try:
        start, end = params["start"], params["end"]
        outer_start, outer_end = parse_window_bound(start, "UTC"), parse_window_bound(end, "UTC")
    except (KeyError, ValueError):
        return None
    if len(start) == len("YYYY-MM-DD"):
        outer_start -= _ANY_ZONE_MARGIN
    if len(end) == len("YYYY-MM-DD"):
        outer_end += _ANY_ZONE_MARGIN
    return (outer_start, outer_end) if outer_start < outer_end else None
