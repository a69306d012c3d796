import structlog
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

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
