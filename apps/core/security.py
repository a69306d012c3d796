"""Security headers on every response, and the reading of Content-Security-Policy violation reports.

The Content-Security-Policy itself comes from django-csp (CONTENT_SECURITY_POLICY in the settings); this
module adds what Django's SecurityMiddleware would add plus a Permissions-Policy, early enough in the
middleware that the operations endpoints, the HTTPS redirect, whitenoise's static files and error pages
carry them too.
"""

import json
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.security import SecurityMiddleware

PERMISSIONS_POLICY_HEADER = "Permissions-Policy"

# A report is a few hundred bytes; anything much larger is not a browser's report.
MAX_REPORT_BYTES = 16_384
# Violations logged from one request: the Reporting API batches, the legacy format sends one.
MAX_VIOLATIONS_PER_REPORT = 5
_MAX_FIELD_CHARS = 200


def permissions_policy(features: dict[str, list[str]]) -> str:
    """`{"camera": [], "fullscreen": ["self"]}` -> `camera=(), fullscreen=(self)`."""
    return ", ".join(f"{feature}=({' '.join(allowed)})" for feature, allowed in features.items())


class SecurityHeadersMiddleware(SecurityMiddleware):
    """Django's security headers (HSTS on secure requests, nosniff, Referrer-Policy,
    Cross-Origin-Opener-Policy) plus Permissions-Policy, on every response.

    It sits before OperationsEndpointsMiddleware, whose probe answers never reach Django's own
    SecurityMiddleware. The HTTPS redirect stays with that one, after the probes (the kubelet calls over
    plain HTTP), so this class only ever adds headers.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.permissions_policy = permissions_policy(settings.PERMISSIONS_POLICY)

    def process_request(self, request: HttpRequest) -> None:
        return None

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        response = super().process_response(request, response)
        if self.permissions_policy:
            response.headers.setdefault(PERMISSIONS_POLICY_HEADER, self.permissions_policy)
        return response


def _trimmed(value: object) -> str:
    return str(value)[:_MAX_FIELD_CHARS] if value is not None else ""


def _path_only(url: object) -> str:
    """A document or script address without its query string and fragment, which may carry tokens."""
    if not isinstance(url, str):
        return ""
    parts = urlsplit(url)
    return _trimmed(parts.path if parts.scheme in ("http", "https") else url.split("?", 1)[0])


def _origin_only(url: object) -> str:
    """What was blocked: `inline`, `eval`, `data` and the like as they come, an address as its origin."""
    if not isinstance(url, str):
        return ""
    parts = urlsplit(url)
    if parts.scheme and parts.netloc:
        return _trimmed(f"{parts.scheme}://{parts.netloc}")
    return _trimmed(url.split(":", 1)[0] if ":" in url else url)


def csp_violations(body: bytes) -> list[dict[str, object]]:
    """The violations in a report body, reduced to what helps to fix a policy or a template.

    Understands the legacy `report-uri` format (`{"csp-report": {...}}`) and the Reporting API's list
    of `{"type": "csp-violation", "body": {...}}`. Anything else gives an empty list.
    """
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []
    raw: list[dict[str, Any]] = []
    if isinstance(payload, dict) and isinstance(payload.get("csp-report"), dict):
        report = payload["csp-report"]
        raw.append(
            {
                "document": report.get("document-uri"),
                "directive": report.get("effective-directive") or report.get("violated-directive"),
                "blocked": report.get("blocked-uri"),
                "source": report.get("source-file"),
                "line": report.get("line-number"),
                "disposition": report.get("disposition"),
            }
        )
    elif isinstance(payload, list):
        for entry in payload:
            if not isinstance(entry, dict) or entry.get("type") != "csp-violation":
                continue
            report = entry.get("body")
            if not isinstance(report, dict):
                continue
            raw.append(
                {
                    "document": report.get("documentURL"),
                    "directive": report.get("effectiveDirective"),
                    "blocked": report.get("blockedURL"),
                    "source": report.get("sourceFile"),
                    "line": report.get("lineNumber"),
                    "disposition": report.get("disposition"),
                }
            )
    return [
        {
            "document": _path_only(item["document"]),
            "directive": _trimmed(item["directive"]),
            "blocked": _origin_only(item["blocked"]),
            "source": _path_only(item["source"]),
            "line": item["line"] if isinstance(item["line"], int) else None,
            "disposition": _trimmed(item["disposition"]),
        }
        for item in raw[:MAX_VIOLATIONS_PER_REPORT]
    ]
