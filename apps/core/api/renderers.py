"""The API's JSON renderer: DRF's JSONRenderer, written by orjson.

DRF renders through the standard library's encoder, which was 8% of a new search question's CPU and about 3% of a
GET /api/v1/me (docs/benchmarks.md, eleventh pass); orjson writes the same JSON in a tenth of the time. What comes out
is what DRF writes, with two exceptions: a float orjson spells in its own way (1e-07 as 1e-7: the same number), and a
NaN or infinity, which DRF refuses (a 500) and orjson writes as null. Dates and times go through DRF's encoder, as
does anything orjson does not know (decimals, lazy strings, querysets); whatever orjson cannot write at all (an
integer beyond 64 bits, nesting past 254 levels) and pretty-printing (`Accept: application/json; indent=4`) take
DRF's own path.
"""

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

# Dates, times and what orjson does not know go through DRF's encoder: "Z" for a zero offset, as DRF writes it.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS
_ENCODER = JSONEncoder()
# DRF escapes these two, valid in JSON but line breaks in older JavaScript; orjson writes them as UTF-8.
_LINE_SEPARATORS = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))


class JSONRenderer(renderers.JSONRenderer):
    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            rendered = orjson.dumps(data, default=_ENCODER.default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        for separator, escaped in _LINE_SEPARATORS:
            if separator in rendered:
                rendered = rendered.replace(separator, escaped)
        return rendered


def render_json(data: Any) -> bytes:
    """`data` as the API writes JSON, for views that store or send the bytes themselves."""
    return JSONRenderer().render(data)
