"""A database error that means "cannot reach it" is a 503 with Retry-After (apps.core.outage), in the API's error
shape under /api/ and as a page elsewhere; any other error stays a 500. The real outage, a stopped PostgreSQL under
gunicorn, is test_database_outage.py; here views raise what psycopg raises then, in-process."""

import logging
from collections.abc import Iterator

import pytest
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core import outage, quiet_warnings
from apps.core.api.views import APIView

REFUSED = 'connection failed: connection to server at "127.0.0.1", port 5432 failed: Connection refused'


class DatabaseDownView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    def get(self, request: Request) -> Response:
        raise OperationalError(REFUSED)


class BrokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    def get(self, request: Request) -> Response:
        raise ValueError("a bug, not an outage")


def page_database_down(request: HttpRequest) -> HttpResponse:
    raise InterfaceError("connection already closed")


def page_broken(request: HttpRequest) -> HttpResponse:
    raise ValueError("a bug, not an outage")


urlpatterns = [
    path("api/v1/down", DatabaseDownView.as_view()),
    path("api/v1/broken", BrokenView.as_view()),
    path("api/v1/plain-down", page_database_down),
    path("page-down/", page_database_down),
    path("page-broken/", page_broken),
]
handler500 = "apps.core.views.server_error"

pytestmark = pytest.mark.urls(__name__)


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


@pytest.fixture(autouse=True)
def _warn_afresh() -> Iterator[None]:
    quiet_warnings.forget()
    yield
    quiet_warnings.forget()


def _assert_unavailable(response: HttpResponse) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == str(outage.RETRY_AFTER_SECONDS)
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("url", ["/api/v1/down", "/api/v1/plain-down"])
def test_the_api_answers_503_in_its_error_shape(client: Client, url: str) -> None:
    response = client.get(url)
    _assert_unavailable(response)
    assert response.json() == {"error": {"code": "unavailable", "message": outage.MESSAGE, "fields": {}}}
    assert "5432" not in response.content.decode()  # the driver's message stays in the log


def test_a_page_answers_503_with_a_page_of_its_own(client: Client) -> None:
    response = client.get("/page-down/")
    _assert_unavailable(response)
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "<h1>Back in a moment</h1>" in body
    assert "Nothing you saved is lost" in body


@pytest.mark.parametrize("url", ["/api/v1/broken", "/page-broken/"])
def test_other_errors_stay_500(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 500
    assert "Retry-After" not in response


def test_the_outage_is_logged_once_a_minute_not_per_request(
    client: Client, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(quiet_warnings, "_clock", lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="apps.core.outage"):
        for _ in range(3):
            client.get("/api/v1/down")
        now[0] += 61
        client.get("/page-down/")
    warnings = [record for record in caplog.records if record.name == "apps.core.outage"]
    assert len(warnings) == 2
