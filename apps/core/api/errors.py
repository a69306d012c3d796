"""Every API error in one shape: {"error": {"code", "message", "fields"}} (docs/architecture.md, API conventions)."""

import re
from typing import Any

import structlog
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from apps.core import outage

logger = structlog.get_logger(__name__)


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


class ErrorBodySerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    message = serializers.CharField()
    # DRF takes declared fields off the class, so this does not hide Serializer.fields at run time.
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]


class ErrorSerializer(serializers.Serializer[Any]):
    """The error shape, for the OpenAPI schema of the responses that return it."""

    error = ErrorBodySerializer()


_SURROGATES = re.compile("[\ud800-\udfff]")


def _printable(text: str) -> str:
    """A message that quotes the client's input may carry a lone surrogate from JSON's \\ud800 escapes, which
    cannot be encoded as UTF-8: it is shown as U+FFFD instead of failing the response."""
    return _SURROGATES.sub("\ufffd", text)


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [f"{_printable(str(key))}: {msg}" for key, value in detail.items() for msg in _flatten(value)]
    if isinstance(detail, list):
        return [msg for item in detail for msg in _flatten(item)]
    return [_printable(str(detail))]


def _field_errors(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {_printable(str(field)): _flatten(messages) for field, messages in detail.items()}
    return {"non_field_errors": _flatten(detail)}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        # Django's multipart parser gives up on these before DRF sees a field; a client error all the same.
        exc = exceptions.ParseError(f"The body has too many parts: {exc}", code="too_many_parts")
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()

    if outage.database_unavailable(exc):
        outage.note_outage(exc)
        set_rollback()  # a statement cancelled or a deadlock inside an atomic request: nothing of it commits
        headers = {"Retry-After": str(outage.RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
        return Response(error_body("unavailable", outage.MESSAGE), status=503, headers=headers)

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("api_unhandled_error", exc_info=exc)
        return Response(error_body("server_error", "Something went wrong on our side."), status=500)

    if isinstance(exc, exceptions.ValidationError):
        fields = _field_errors(exc.detail)
        message = "Invalid input: " + ", ".join(fields) + "."
        response.data = error_body("invalid", message, fields)
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        fields = None
        if isinstance(detail, dict) and "detail" in detail:  # simplejwt: {"detail", "code", "messages"}
            message, code = str(detail["detail"]), str(detail.get("code", exc.default_code))
        elif isinstance(detail, str):
            codes = exc.get_codes()
            message, code = str(detail), codes if isinstance(codes, str) else exc.default_code
        else:  # {"field": [...]}: a 404 or 409 about what a field names
            message, code = " ".join(_flatten(detail)), exc.default_code
            fields = _field_errors(detail)
        response.data = error_body(str(code), _printable(message), fields)
    return response


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "This conflicts with the current state."
    default_code = "conflict"


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "too_large"


@csrf_exempt  # it changes nothing, so an unsafe method gets the same JSON 404 as GET, not the CSRF page
def api_not_found(request: HttpRequest, unknown: str = "") -> JsonResponse:
    return JsonResponse(error_body("not_found", f"No API endpoint at {request.path}."), status=404)
