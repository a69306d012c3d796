"""DRF's content negotiation, with the answer to what nearly every API call asks worked out without parsing it.

DefaultContentNegotiation parses the Accept header into media types and matches each against each renderer on every
request: 3-4% of a GET /api/v1/me or a page of occurrences (docs/benchmarks.md, eleventh pass). A client that sends
no Accept header, `*/*` or exactly the first renderer's media type, and no `?format=`, gets the first renderer with
its media type, which is what DRF's matching gives for those; everything else goes through DRF's own.
"""

from collections.abc import Iterable
from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class FirstRendererNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> Any:
        renderers = list(renderers)  # APIView passes a list: this copies a few references
        if renderers and not format_suffix and not self._format_asked(request):
            first = renderers[0]
            accept = request.META.get("HTTP_ACCEPT")
            if accept is None or accept == "*/*" or accept == first.media_type:
                return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)

    def _format_asked(self, request: Request) -> bool:
        parameter = self.settings.URL_FORMAT_OVERRIDE
        return bool(parameter) and parameter in request.query_params
