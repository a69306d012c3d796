"""Process-wide middleware: operations endpoints, and the request context every log line carries."""

import re
import time
import uuid
from collections.abc import Callable

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from apps.core.api.errors import error_body
from apps.core.health import readiness_failures, replica_report
from apps.core.metrics import CONTENT_TYPE_LATEST, render_web_page
from apps.core.redaction import forget_secrets

logger = structlog.get_logger("apps.request")

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class OperationsEndpointsMiddleware:
    """Answers /health, /ready and /metrics before host validation, HTTPS redirects and sessions.

    Kubelet probes and Prometheus scrapes reach a pod by its IP over plain HTTP, so these must not
    depend on ALLOWED_HOSTS or SECURE_SSL_REDIRECT. /health touches no dependency at all.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path == "/health":
            return JsonResponse({"status": "ok"})
        if path == "/ready":
            failures = readiness_failures()
            body: dict[str, object] = {"status": "unavailable", "failed": failures} if failures else {"status": "ok"}
            replica = replica_report()
            if replica is not None:
                body["replica"] = replica  # reported, never a reason to be unready: the primary serves
            return JsonResponse(body, status=503 if failures else 200)
        if path == "/metrics":
            if settings.TRUSTED_PROXY_COUNT and "HTTP_X_FORWARDED_FOR" in request.META:
                # Came through the load balancer from outside: metrics are for in-cluster scrapes only.
                return JsonResponse(error_body("not_found", "Not found."), status=404)
            # Every gunicorn worker's samples (multiprocess mode) plus what apps read at scrape time.
            return HttpResponse(render_web_page(), content_type=CONTENT_TYPE_LATEST)
        return self.get_response(request)


class RequestContextMiddleware:
    """Takes X-Request-ID from the request (or makes one), echoes it, and writes one log line per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        structlog.contextvars.clear_contextvars()
        forget_secrets()  # values decrypted by an earlier request on this thread are not this one's business
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        except Exception:
            logger.exception("request_failed", method=request.method, path=request.path)
            structlog.contextvars.clear_contextvars()
            raise
        response[REQUEST_ID_HEADER] = request_id
        user = getattr(request, "user", None)
        logger.info(
            "request",
            method=request.method,
            path=request.path,
            status=response.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            user_id=user.pk if user is not None and user.is_authenticated else None,
        )
        structlog.contextvars.clear_contextvars()
        return response

    def process_view(self, request: HttpRequest, *_args: object) -> None:
        # Session users are known once AuthenticationMiddleware ran; API users are bound by the JWT
        # authentication class. Either way, later log lines of this request carry the user id.
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            structlog.contextvars.bind_contextvars(user_id=user.pk)
