"""Security headers on every response, and the reading of Content-Security-Policy violation reports.

The Content-Security-Policy itself comes from django-csp (CONTENT_SECURITY_POLICY in the settings, built once
here for the responses that use it unchanged); this module adds what Django's SecurityMiddleware would add plus a
Permissions-Policy, early enough in the middleware that the operations endpoints, the HTTPS redirect, whitenoise's
static files and error pages carry them too.
"""

import functools
import json
from typing import Any
from urllib.parse import urlsplit

from csp import middleware as csp_middleware
from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
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


# What a view can set on its response to change or drop the policy (django-csp's decorators).
_PER_RESPONSE_POLICY = (
    "_csp_config", "_csp_update", "_csp_replace", "_csp_exempt",
    "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro", "_csp_exempt_ro",
)  # fmt: skip


@functools.cache
def _settings_policies() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(header, value, excluded path prefixes) for the policy and the report-only policy, as the settings give them."""
    enforced = getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}
    report_only = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None) or {}
    return (
        (HEADER, build_policy(), tuple(enforced.get("EXCLUDE_URL_PREFIXES") or ())),
        (HEADER_REPORT_ONLY, build_policy(report_only=True), tuple(report_only.get("EXCLUDE_URL_PREFIXES") or ())),
    )


@receiver(setting_changed)
def _forget_policies(*, setting: str, **_kwargs: object) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _settings_policies.cache_clear()


class CSPMiddleware(csp_middleware.CSPMiddleware):
    """django-csp's middleware, with the settings' policy built once instead of for every response.

    A response whose request used no nonce and whose view changed nothing (no django-csp decorator) gets the same
    header every time: every API answer, for one. Building it cost about 7% of the CPU of GET /api/v1/me. Pages
    with a nonce and decorated views go through django-csp's own code as before."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if (
            getattr(request, "_csp_nonce", None) is not None
            or any(hasattr(response, name) for name in _PER_RESPONSE_POLICY)
            or (settings.DEBUG and response.status_code in (404, 500))
        ):
            return super().process_response(request, response)
        for header, value, excluded in _settings_policies():
            if value and header not in response and not request.path_info.startswith(excluded):
                response[header] = value
        # As django-csp does: a nonce asked for after the header is written could never be honoured.
        request.csp_nonce = csp_middleware.CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
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
