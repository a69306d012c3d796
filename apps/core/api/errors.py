"""Every API error in one shape: {"error": {"code", "message", "fields"}} (DESIGN.md section 6)."""

from typing import Any

import structlog
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

logger = structlog.get_logger(__name__)


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [f"{key}: {msg}" for key, value in detail.items() for msg in _flatten(value)]
    if isinstance(detail, list):
        return [msg for item in detail for msg in _flatten(item)]
    return [str(detail)]


def _field_errors(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(field): _flatten(messages) for field, messages in detail.items()}
    return {"non_field_errors": _flatten(detail)}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

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
        if isinstance(detail, dict) and "detail" in detail:  # simplejwt: {"detail", "code", "messages"}
            message, code = str(detail["detail"]), str(detail.get("code", exc.default_code))
        elif isinstance(detail, str):
            codes = exc.get_codes()
            message, code = str(detail), codes if isinstance(codes, str) else exc.default_code
        else:
            message, code = " ".join(_flatten(detail)), exc.default_code
        response.data = error_body(str(code), message)
    return response


def api_not_found(request: HttpRequest, unknown: str = "") -> JsonResponse:
    return JsonResponse(error_body("not_found", f"No API endpoint at {request.path}."), status=404)
