"""Every response carries the security headers and a Content-Security-Policy that refuses inline script.

The walk goes through every URL pattern of planner.urls (a new pattern joins it by itself), fills the path
converters and regex groups with plausible values and asks each path anonymously (GET and POST) and as a
signed-in staff member (GET), following no redirect: whatever the status, the headers must be there, and
an HTML page must hold nothing the policy would refuse (inline script or style without the nonce, event
handler attributes, style attributes).
Explicit cases cover what the walk cannot reach: a redirect, 400, 403, 404, 405 and 500 pages, the
operations endpoints, static files and the HTTPS redirect.
"""

import logging
import re
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, include, path, resolve
from django.urls.resolvers import RegexPattern, RoutePattern
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.core.security import csp_violations

pytestmark = pytest.mark.django_db

# --- What every response must carry -------------------------------------------------------------------

PRODUCTION_HSTS = {
    "SECURE_HSTS_SECONDS": 31_536_000,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_HSTS_PRELOAD": True,
}
STRICT_REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
DENIED_FEATURES = ("camera", "microphone", "geolocation", "payment", "usb")


def csp_directives(header: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def security_header_problems(response: HttpResponse, *, secure: bool) -> list[str]:
    problems: list[str] = []
    csp = response.headers.get("Content-Security-Policy")
    if not csp:
        return ["no Content-Security-Policy", *_other_header_problems(response, secure=secure)]
    directives = csp_directives(csp)
    script_src = directives.get("script-src", directives.get("default-src"))
    if script_src is None:
        problems.append("neither script-src nor default-src")
    else:
        for forbidden in ("'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:", "data:"):
            if forbidden in script_src:
                problems.append(f"script-src allows {forbidden}")
    for attribute in ("script-src-attr", "script-src-elem"):
        if "'unsafe-inline'" in directives.get(attribute, []):
            problems.append(f"{attribute} allows 'unsafe-inline'")
    expected = {
        "default-src": ["'self'"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
    for directive, value in expected.items():
        if directives.get(directive) != value:
            problems.append(f"{directive} is {directives.get(directive)}, expected {value}")
    if directives.get("base-uri") not in (["'none'"], ["'self'"]):
        problems.append(f"base-uri is {directives.get('base-uri')}")
    if not directives.get("form-action") or directives["form-action"][0] != "'self'":
        problems.append(f"form-action is {directives.get('form-action')}")
    return problems + _other_header_problems(response, secure=secure)


def _other_header_problems(response: HttpResponse, *, secure: bool) -> list[str]:
    problems: list[str] = []
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if response.headers.get("Referrer-Policy") not in STRICT_REFERRER_POLICIES:
        problems.append(f"Referrer-Policy is {response.headers.get('Referrer-Policy')!r}")
    if response.headers.get("Cross-Origin-Opener-Policy") != "same-origin":
        problems.append("no Cross-Origin-Opener-Policy: same-origin")
    permissions = response.headers.get("Permissions-Policy", "")
    for feature in DENIED_FEATURES:
        if f"{feature}=()" not in permissions:
            problems.append(f"Permissions-Policy does not deny {feature}")
    hsts = response.headers.get("Strict-Transport-Security")
    if secure and hsts != "max-age=31536000; includeSubDomains; preload":
        problems.append(f"Strict-Transport-Security is {hsts!r}")
    if not secure and hsts:
        problems.append("Strict-Transport-Security over plain HTTP, where browsers ignore it")
    return problems


def assert_security_headers(response: HttpResponse, *, secure: bool = True) -> None:
    problems = security_header_problems(response, secure=secure)
    assert not problems, f"{response.status_code} response lacks security headers: {problems}"


# What the policy would refuse in a page's markup: inline scripts and <style> blocks without the nonce,
# inline event handlers, style attributes and javascript: links. JSON data blocks are not scripts.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*\btype=\"application/json\")[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"\s(?:href|src|action)\s*=\s*[\"']?\s*javascript:", re.IGNORECASE)


def markup_problems(response: HttpResponse) -> list[str]:
    if response.streaming or not response.get("Content-Type", "").startswith("text/html"):
        return []
    html = response.content.decode(errors="replace")
    problems = [f"inline script without the nonce: {tag}" for tag in INLINE_SCRIPT.findall(html) if "nonce=" not in tag]
    problems += [f"<style> without the nonce: {tag}" for tag in INLINE_STYLE.findall(html) if "nonce=" not in tag]
    problems += [f"inline event handler: {match[:120]}" for match in EVENT_HANDLER.findall(html)]
    problems += [f"style attribute: {match[:120]}" for match in STYLE_ATTRIBUTE.findall(html)]
    problems += [f"javascript: URL: {match}" for match in JAVASCRIPT_URL.findall(html)]
    return problems


# --- The walk -------------------------------------------------------------------------------------------

CONVERTER_SAMPLES = {
    "int": "1",
    "str": "sample",
    "slug": "sample-slug",
    "path": "1",
    "uuid": "3f2c4f7e-8d1a-4b7e-9c55-2a1b0c9d8e7f",
}
# Regex groups are filled by name when the name is known, else with the first candidate the group accepts.
GROUP_SAMPLES = {"uidb36": "1", "key": "sample-key", "url": "no-such-page"}
GROUP_CANDIDATES = ("1", "sample", "sample-1")
_CONVERTER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def _route_path(route: str) -> str:
    def fill(match: re.Match[str]) -> str:
        converter = match["converter"] or "str"
        if converter not in CONVERTER_SAMPLES:
            raise AssertionError(f"no sample value for the path converter {converter!r} in {route!r}")
        return CONVERTER_SAMPLES[converter]

    return _CONVERTER.sub(fill, route)


def _regex_path(regex: str) -> str:
    """`^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$` -> `password/reset/key/1-sample-key/`."""
    out: list[str] = []
    index = 0
    body = regex.removeprefix("^").removesuffix("$")
    while index < len(body):
        if body.startswith("(?P<", index):
            name_end = body.index(">", index)
            name = body[index + 4 : name_end]
            depth, end = 1, name_end + 1
            while depth:
                depth += {"(": 1, ")": -1}.get(body[end], 0)
                end += 1
            group = body[name_end + 1 : end - 1]
            candidates = [GROUP_SAMPLES[name]] if name in GROUP_SAMPLES else []
            candidates += [*GROUP_CANDIDATES, group.split("|")[0]]
            value = next((c for c in candidates if re.fullmatch(group, c)), None)
            if value is None:
                raise AssertionError(f"no sample value for the group {name!r} of {regex!r}: add one to GROUP_SAMPLES")
            out.append(value)
            index = end
        elif body[index] == "\\":
            out.append(body[index + 1])
            index += 2
        elif body[index] in "()[]{}*+?|^$":
            raise AssertionError(f"cannot fill the regex {regex!r}: add a case for it to the walk")
        else:
            out.append(body[index])
            index += 1
    return "".join(out)


def _join_route(first: str, second: str) -> str:
    # As Django's URLResolver joins the routes of nested patterns into ResolverMatch.route.
    return second if not first else first + second.removeprefix("^")


def _walk(
    patterns: list[URLPattern | URLResolver], route: str = "", path_so_far: str = ""
) -> Iterator[tuple[str, str]]:
    for pattern in patterns:
        raw = str(pattern.pattern)
        if isinstance(pattern.pattern, RoutePattern):
            piece = _route_path(raw)
        elif isinstance(pattern.pattern, RegexPattern):
            piece = _regex_path(raw)
        else:
            raise AssertionError(f"unknown pattern type {type(pattern.pattern).__name__} for {raw!r}")
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, _join_route(route, raw), path_so_far + piece)
        else:
            yield _join_route(route, raw), "/" + path_so_far + piece


URLS = sorted(set(_walk(get_resolver().url_patterns)))


def test_the_walk_reaches_every_kind_of_page():
    routes = {route for route, _ in URLS}
    for expected in (
        "",
        "events/<int:event_id>/",
        "feeds/<str:token>.ics",
        "admin/",
        "accounts/login/",
        "api/v1/events",
        "api/docs/",
        "api/schema/",
        "api/<path:unknown>",
        "csp-report/",
    ):
        assert expected in routes
    assert len(URLS) > 100


PASSWORD = "a long and unusual passphrase 42"


@pytest.fixture
def staff_client() -> Client:
    staff = get_user_model().objects.create_superuser(email="staff@example.test", password=PASSWORD)
    client = Client(raise_request_exception=False)
    client.force_login(staff)
    return client


@pytest.mark.parametrize(("route", "url"), URLS, ids=[route or "<home>" for route, _ in URLS])
@override_settings(**PRODUCTION_HSTS)
def test_every_url_pattern_answers_with_the_security_headers(route: str, url: str, staff_client: Client) -> None:
    assert resolve(url).route == route, f"{url} does not reach the pattern {route!r}: adjust the walk's samples"
    anonymous = Client(raise_request_exception=False)
    for name, response in (
        ("anonymous GET", anonymous.get(url, secure=True)),
        ("anonymous POST", anonymous.post(url, secure=True)),
        ("staff GET", staff_client.get(url, secure=True)),
    ):
        problems = security_header_problems(response, secure=True) + markup_problems(response)
        assert not problems, f"{name} {url} ({response.status_code}): {problems}"


# --- Explicit cases ---------------------------------------------------------------------------------------


def _raise(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a view")


class _RaisingApiView(APIView):
    permission_classes: list[type] = []

    def get(self, request: Request) -> HttpResponse:
        raise RuntimeError("a bug in an API view")


# The project's URLs plus two views that fail, for the 500 pages (marked with pytest.mark.urls below).
urlpatterns = [
    path("test-only/raise/", _raise),
    path("api/v1/test-only/raise", _RaisingApiView.as_view()),
    path("", include(settings.ROOT_URLCONF)),
]


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


@override_settings(**PRODUCTION_HSTS)
def test_a_login_required_page_redirects_anonymous_visitors_with_the_headers(client: Client) -> None:
    response = client.get("/weekend/", secure=True)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert_security_headers(response)


@override_settings(**PRODUCTION_HSTS)
def test_the_append_slash_redirect_has_the_headers(client: Client) -> None:
    response = client.get("/discover", secure=True)
    assert response.status_code == 301
    assert_security_headers(response)


@override_settings(**PRODUCTION_HSTS, SECURE_SSL_REDIRECT=True)
def test_the_https_redirect_has_the_headers_but_no_hsts_over_http(client: Client) -> None:
    response = client.get("/discover/")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")
    assert_security_headers(response, secure=False)


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("get", "/no-such-page/", 404),
        ("get", "/api/v1/no-such-endpoint", 404),
        ("get", "/events/999999999/", 404),
        ("delete", "/discover/", 405),
        ("post", "/api/v1/categories", 405),
        # The kubelet and Prometheus may also call over HTTPS: HSTS there as everywhere.
        ("get", "/health", 200),
        ("get", "/ready", 200),
        ("get", "/metrics", 200),
    ],
)
@override_settings(**PRODUCTION_HSTS)
def test_not_found_not_allowed_and_operations_answers_have_the_headers(
    client: Client, method: str, url: str, status: int
) -> None:
    response = getattr(client, method)(url, secure=True)
    assert response.status_code == status
    assert_security_headers(response)


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("url", ["/test-only/raise/", "/api/v1/test-only/raise"])
@override_settings(**PRODUCTION_HSTS, DEBUG=False)
def test_server_errors_have_the_headers(client: Client, url: str) -> None:
    response = client.get(url, secure=True)
    assert response.status_code == 500
    assert_security_headers(response)


@override_settings(**PRODUCTION_HSTS)
def test_a_csrf_failure_has_the_headers() -> None:
    response = Client(enforce_csrf_checks=True).post(
        "/accounts/login/", {"login": "a@example.test", "password": "x"}, secure=True
    )
    assert response.status_code == 403
    assert_security_headers(response)


@override_settings(**PRODUCTION_HSTS)
def test_a_request_for_an_unknown_host_has_the_headers(client: Client) -> None:
    response = client.get("/", HTTP_HOST="evil.example", secure=True)
    assert response.status_code == 400
    assert_security_headers(response)


@pytest.mark.parametrize("url", ["/health", "/ready", "/metrics"])
@override_settings(**PRODUCTION_HSTS, SECURE_SSL_REDIRECT=True)
def test_operations_endpoints_answer_plain_http_with_the_headers(client: Client, url: str) -> None:
    # The kubelet and Prometheus call over plain HTTP, from any Host: no redirect, and no HSTS there.
    response = client.get(url, HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert_security_headers(response, secure=False)


@override_settings(**PRODUCTION_HSTS, WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True)
def test_static_files_from_whitenoise_have_the_headers(client: Client) -> None:
    response = client.get("/static/css/app.css", secure=True)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert_security_headers(response)


# --- The pages' own markup under the policy -------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/discover/", "/weekend/", "/weekend/?view=list", "/calendars/", "/profile/"])
def test_our_pages_have_no_inline_script_handlers_or_style_attributes(url: str) -> None:
    person = get_user_model().objects.create_user(email="person@example.test", password=PASSWORD)
    client = Client()
    client.force_login(person)
    response = client.get(url)
    assert response.status_code == 200
    assert not markup_problems(response)
    html = response.content.decode()
    assert '"allowEval": false' in html
    if url.startswith(("/calendars/", "/weekend/")):
        # The calendars' colours come in a <style> block that carries the nonce the policy names.
        style_src = csp_directives(response["Content-Security-Policy"])["style-src"]
        nonces = [value.removeprefix("'nonce-").removesuffix("'") for value in style_src if value.startswith("'nonce-")]
        assert len(nonces) == 1
        assert f'<style nonce="{nonces[0]}">' in html
        assert "--calendar: #1d5fd1;" in html  # the default calendar's colour


def test_api_docs_load_swagger_ui_from_our_own_files_without_inline_script(client: Client) -> None:
    page = client.get("/api/docs/").content.decode()
    assert not INLINE_SCRIPT.search(page)
    assert "<style" not in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert 'src="/api/docs/?script="' in page
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()


# --- Violation reports ------------------------------------------------------------------------------------

LEGACY_REPORT = b"""{"csp-report": {
  "document-uri": "https://weekendplanner.example/accounts/password/reset/key/1-abc/?token=secret",
  "referrer": "https://elsewhere.example/?q=secret",
  "violated-directive": "script-src-elem",
  "effective-directive": "script-src-elem",
  "original-policy": "default-src 'self'",
  "disposition": "enforce",
  "blocked-uri": "https://cdn.example/lib.js?key=secret",
  "line-number": 12,
  "source-file": "https://weekendplanner.example/static/js/copy.js?v=1",
  "status-code": 200
}}"""

REPORTING_API_REPORT = b"""[{"type": "csp-violation", "age": 3, "url": "https://weekendplanner.example/discover/",
  "body": {"documentURL": "https://weekendplanner.example/discover/?q=jazz", "effectiveDirective": "style-src-attr",
           "blockedURL": "inline", "disposition": "enforce", "lineNumber": 4, "sourceFile": null}},
 {"type": "deprecation", "body": {}}]"""


def test_a_legacy_report_is_logged_without_query_strings(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        response = client.post("/csp-report/", LEGACY_REPORT, content_type="application/csp-report")
    assert response.status_code == 204
    logged = [str(record.msg) for record in caplog.records if "csp_violation" in str(record.msg)]
    assert len(logged) == 1
    assert "script-src-elem" in logged[0]
    assert "https://cdn.example" in logged[0]
    assert "/static/js/copy.js" in logged[0]
    assert "secret" not in logged[0]


def test_reports_of_the_reporting_api_are_read_too() -> None:
    assert csp_violations(REPORTING_API_REPORT) == [
        {
            "document": "/discover/",
            "directive": "style-src-attr",
            "blocked": "inline",
            "source": "",
            "line": 4,
            "disposition": "enforce",
        }
    ]


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'{"csp-report": "x"}', b"\xff\xfe"])
def test_a_report_that_is_not_one_is_ignored(client: Client, body: bytes, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        response = client.post("/csp-report/", body, content_type="application/csp-report")
    assert response.status_code == 204
    assert not [record for record in caplog.records if "csp_violation" in str(record.msg)]


def test_an_oversized_report_is_refused(client: Client) -> None:
    body = b'{"csp-report": {"document-uri": "' + b"a" * 20_000 + b'"}}'
    assert client.post("/csp-report/", body, content_type="application/csp-report").status_code == 413


def test_the_report_endpoint_only_takes_post(client: Client) -> None:
    response = client.get("/csp-report/")
    assert response.status_code == 405
    assert_security_headers(response, secure=False)


def test_the_policy_sends_reports_to_the_report_endpoint(client: Client) -> None:
    directives = csp_directives(client.get("/")["Content-Security-Policy"])
    assert resolve(directives["report-uri"][0]).url_name == "csp-report"
