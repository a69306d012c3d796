"""The browser's middleware, skipped for stateless API requests.

A request under /api/ that carries no Cookie header has no session, no flash messages and no allauth or htmx
state: it signs in with a bearer token or not at all, and DRF sets `request.user` itself. For it, sessions,
Django's authentication, messages and htmx change nothing in the answer, yet they cost CPU on every
API call (docs/benchmarks.md, "Performance issue"). Each class here is the library's own middleware (a subclass, so
Django's system checks still find it) stepping aside for such a request; every other request, the browser's calls to
/api/ with its session cookie included, runs it unchanged. Django's CSRF middleware and allauth's stay as they are:
`check --deploy` and allauth each insist on their own name in MIDDLEWARE, and for such a request they cost little
(DRF's views are CSRF-exempt; without a session, nothing is checked).
"""

from typing import Any

from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as messages_middleware
from django.contrib.sessions import middleware as sessions_middleware
from django.http import HttpRequest, HttpResponse
from django_htmx import middleware as htmx_middleware

API_PREFIX = "/api/"


def is_stateless_api_request(request: HttpRequest) -> bool:
    # An empty Cookie header (Django's test client always sends one) carries no state either.
    return not request.META.get("HTTP_COOKIE") and request.path_info.startswith(API_PREFIX)


class _BrowserOnly:
    get_response: Any  # the middleware's own attribute, typed there

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_stateless_api_request(request):
            return self.get_response(request)  # type: ignore[no-any-return]
        return super().__call__(request)  # type: ignore[misc, no-any-return]


class SessionMiddleware(_BrowserOnly, sessions_middleware.SessionMiddleware):
    pass


class AuthenticationMiddleware(_BrowserOnly, auth_middleware.AuthenticationMiddleware):
    pass


class MessageMiddleware(_BrowserOnly, messages_middleware.MessageMiddleware):
    pass


class HtmxMiddleware(_BrowserOnly, htmx_middleware.HtmxMiddleware):
    pass
