"""The OpenAPI description of every API view: the error responses it can give, in the one error shape.

`AutoSchema` (set on apps.core.api.views.APIView) adds the errors that follow from how a view is configured,
so no view can forget them:

- 400 and 415 when the operation reads a request body (invalid input, a media type it does not read);
- 401 when the view authenticates (a missing, expired or forged token; even public views refuse a bad one);
- 403 for unsafe methods of views that take the browser session (a missing CSRF token);
- 400 and 404 for cursor-paginated lists (page_size out of range; a cursor that is not ours);
- 404 when the path has parameters (another person's object is a 404 too);
- 429 (with Retry-After) when the view is rate-limited.

What only the view knows (a 400 for its query parameters, a 409) it declares with `error_responses(...)`
inside `extend_schema(responses=...)`. A code the view declares itself is never replaced.
"""

from http import HTTPStatus
from typing import Any

from drf_spectacular import openapi
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.authentication import SessionAuthentication

from apps.core.api.errors import ErrorSerializer

ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Invalid input: `error.fields` names each field at fault.",
    401: "Missing, expired or invalid credentials.",
    403: "Refused: a browser session's unsafe request without its CSRF token.",
    404: "No such object, or not yours.",
    409: "Refused: it conflicts with the current state.",
    413: "The request body is too large.",
    415: "The body's media type is not one this operation reads.",
    429: "Too many requests: try again after Retry-After seconds.",
    503: "Briefly unavailable (the database cannot be reached): try again after Retry-After seconds.",
}

RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds to wait before trying again.",
)

# Public reads answer conditional GETs (apps.core.http_cache, docs/api.md "Caching"): what a client may send, the 304
# it may get, and the caching headers of both. Anonymous callers get ETag, Last-Modified and `public, max-age=N`;
# signed-in ones `private, no-store` and no validators.
CONDITIONAL_GET_PARAMETERS = [
    OpenApiParameter(
        "If-None-Match",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description="The ETag of an earlier answer: 304 Not Modified while it is current (anonymous callers).",
    ),
    OpenApiParameter(
        "If-Modified-Since",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description="An HTTP date: 304 Not Modified when nothing changed since (anonymous callers; "
        "If-None-Match, when present, decides instead).",
    ),
    OpenApiParameter(
        "ETag",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=[200, 304],
        description="The answer's version (weak), for If-None-Match; anonymous callers only.",
    ),
    OpenApiParameter(
        "Last-Modified",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=[200, 304],
        description="The catalogue's last change, for If-Modified-Since; anonymous callers only.",
    ),
    OpenApiParameter(
        "Cache-Control",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=[200, 304],
        description="`public, max-age=N` for anonymous callers, `private, no-store` for signed-in ones.",
    ),
    OpenApiParameter(
        "Vary",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=[200, 304],
        description="What the answer depends on besides the URL: Accept, Cookie, Authorization.",
    ),
]


def not_modified_response() -> OpenApiResponse:
    """The 304 of a conditional GET: no body; ETag, Last-Modified, Cache-Control and Vary as the 200 has them."""
    return OpenApiResponse(
        None, description="Not Modified: the copy the caller holds (If-None-Match or If-Modified-Since) is current."
    )


_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
_WITH_BODY = {"POST", "PUT", "PATCH"}


def error_response(status: int, description: str | None = None, *, body: Any = ErrorSerializer) -> OpenApiResponse:
    """One error response for `extend_schema(responses=...)`: the error shape (or `body`) and what it means."""
    text = description or ERROR_DESCRIPTIONS.get(status) or HTTPStatus(status).phrase
    return OpenApiResponse(body, description=text)


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """{status: error response} for each status, with the shared descriptions."""
    return {status: error_response(status) for status in statuses}


class AutoSchema(openapi.AutoSchema):
    def implied_errors(self) -> list[int]:
        view = self.view
        method = self.method.upper()
        statuses: list[int] = []
        if method in _WITH_BODY and self.get_request_serializer() is not None:
            statuses += [400, 415]
        authenticators = list(getattr(view, "authentication_classes", []) or [])
        if authenticators:
            statuses.append(401)
        if method in _UNSAFE and any(issubclass(cls, SessionAuthentication) for cls in authenticators):
            statuses.append(403)
        paginated = method == "GET" and bool(self._get_pagination_parameters())  # type: ignore[no-untyped-call]
        if paginated and 400 not in statuses:
            statuses.append(400)  # page_size out of range
        if "{" in self.path or paginated:
            statuses.append(404)
        if getattr(view, "throttle_classes", None):
            statuses.append(429)
        statuses.append(503)  # every operation reads the database (apps.core.outage)
        return statuses

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        declared = {p.name for p in parameters if isinstance(p, OpenApiParameter)}
        if getattr(self.view, "throttle_classes", None) and RETRY_AFTER.name not in declared:
            parameters.append(RETRY_AFTER)
        return parameters

    def _get_request_body(self, direction: Any = "request") -> Any:
        body = super()._get_request_body(direction)  # type: ignore[no-untyped-call]
        # A body given as a raw schema (the ICS import) is optional to drf-spectacular; the view says if not.
        if body and getattr(self.view, "request_body_required", False):
            body["required"] = True
        return body

    def _get_response_bodies(self, direction: Any = "response") -> Any:
        responses = super()._get_response_bodies(direction)
        for status in self.implied_errors():
            code = str(status)
            if code not in responses:
                responses[code] = self._get_response_for_code(  # type: ignore[no-untyped-call]
                    error_response(status), code, direction=direction
                )
        return dict(sorted(responses.items()))
