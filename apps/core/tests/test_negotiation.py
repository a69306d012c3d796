"""The API's content negotiation answers as DRF's does (apps.core.api.negotiation)."""

import pytest
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from apps.core.api.negotiation import FirstRendererNegotiation
from apps.core.api.renderers import JSONRenderer

ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=4",
    "application/*",
    "text/html",
    "text/html, application/json;q=0.9",
    "text/html;q=0.5, */*",
    "application/xml",
]
RENDERERS = [[JSONRenderer], [JSONRenderer, BrowsableAPIRenderer], [BrowsableAPIRenderer, JSONRenderer]]


def _choice(negotiation, accept, renderers, query=""):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get("/api/v1/me" + query, **headers))
    try:
        renderer, media_type = negotiation.select_renderer(request, [cls() for cls in renderers])
    except Exception as error:  # noqa: BLE001 - the refusal is part of the answer compared
        return type(error).__name__
    return type(renderer).__name__, media_type


@pytest.mark.parametrize("renderers", RENDERERS, ids=lambda r: "+".join(cls.__name__ for cls in r))
@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", ["", "?format=json", "?format=api", "?page_size=5"])
def test_it_chooses_what_drf_chooses(renderers, accept, query):
    ours = _choice(FirstRendererNegotiation(), accept, renderers, query)
    assert ours == _choice(DefaultContentNegotiation(), accept, renderers, query)


def test_what_api_calls_send_is_answered_without_drf_s_parsing(monkeypatch):
    def parsing(*args, **kwargs):
        raise AssertionError("parsed")

    monkeypatch.setattr(DefaultContentNegotiation, "select_renderer", parsing)
    for accept in (None, "*/*", "application/json"):
        assert _choice(FirstRendererNegotiation(), accept, [JSONRenderer]) == ("JSONRenderer", "application/json")
    assert _choice(FirstRendererNegotiation(), "text/html", [JSONRenderer]) == "AssertionError"
