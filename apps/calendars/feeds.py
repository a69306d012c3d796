"""The private ICS feed (/feeds/<token>.ics) that Google, Apple and Outlook subscribe to. The token is the
only credential, so an unknown or revoked one is a plain 404; an unchanged feed answers 304 to its ETag."""

import hashlib

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import condition, require_GET

from apps.calendars import selectors


def _body(request: HttpRequest, token: str) -> bytes:
    if not hasattr(request, "_feed_body"):
        calendar = selectors.calendar_by_feed_token(token=token)
        if calendar is None:
            raise Http404("No such feed.")
        request._feed_body = selectors.calendar_ics(calendar=calendar)  # type: ignore[attr-defined]
    body: bytes = request._feed_body  # type: ignore[attr-defined]
    return body


def _etag(request: HttpRequest, token: str) -> str:
    return hashlib.sha256(_body(request, token)).hexdigest()[:32]


@require_GET
@condition(etag_func=_etag)
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    response = HttpResponse(_body(request, token), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response
