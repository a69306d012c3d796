import sys

import structlog
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.core import outage
from apps.core.api.errors import error_body
from apps.core.panels import PanelPlace, render_personal_lists
from apps.core.security import MAX_REPORT_BYTES, csp_violations
from apps.core.taxonomy import CATEGORIES

logger = structlog.get_logger(__name__)


def home(request: HttpRequest) -> HttpResponse:
    context = {"categories": CATEGORIES, "personal_lists": render_personal_lists(request, PanelPlace(page="home"))}
    return render(request, "core/home.html", context)


# Browsers send violation reports without a CSRF token; the view changes nothing, it only logs.
@csrf_exempt
@require_POST
def csp_report(request: HttpRequest) -> HttpResponse:
    """Where browsers report what the Content-Security-Policy blocked (its `report-uri`)."""
    length = request.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > MAX_REPORT_BYTES:
        return HttpResponse(status=413)
    for violation in csp_violations(request.read(MAX_REPORT_BYTES)):
        logger.warning("csp_violation", **violation)
    return HttpResponse(status=204)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 handler (handler500), except when the database cannot be reached: then a 503 with
    Retry-After, in the API's error shape under /api/ and as a short page elsewhere (apps.core.outage). Django
    calls it while handling the exception, so the exception is sys.exc_info()'s."""
    error = sys.exc_info()[1]
    if error is None or not outage.database_unavailable(error):
        return defaults.server_error(request)
    outage.note_outage(error)
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(error_body("unavailable", outage.MESSAGE), status=503)
    else:
        # No request context: its processors would read the session and the user from the database again.
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(outage.RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
