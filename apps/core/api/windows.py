"""The rules a window given as `weekend` or `start`/`end` follows, shared by every API that takes one."""

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
