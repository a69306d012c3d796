"""The browser's middleware steps aside for stateless API requests (apps.core.browser_middleware) and for nothing
else: a bearer or anonymous call to /api/ works without sessions, CSRF or messages, while the browser's calls to /api/
with its session cookie keep session authentication and its CSRF check, and pages keep every middleware."""

import pytest
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from apps.core.browser_middleware import is_stateless_api_request

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "cookie", "stateless"),
    [
        ("/api/v1/me", "", True),
        ("/api/v1/events", None, True),
        ("/api/v1/me", "sessionid=abc", False),
        ("/events/", "", False),
        ("/accounts/login/", "", False),
        ("/apiary", "", False),
    ],
)
def test_which_requests_are_stateless(path: str, cookie: str | None, stateless: bool) -> None:
    request = RequestFactory().get(path)
    if cookie is None:
        del request.META["HTTP_COOKIE"]
    else:
        request.META["HTTP_COOKIE"] = cookie
    assert is_stateless_api_request(request) is stateless


def test_a_bearer_request_gets_no_session_and_needs_no_csrf(auth_client: APIClient, user) -> None:  # type: ignore[no-untyped-def]
    auth_client.handler.enforce_csrf_checks = True
    response = auth_client.patch("/api/v1/me", {"display_name": "Ada"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["display_name"] == "Ada"
    assert "sessionid" not in response.cookies
    assert "csrftoken" not in response.cookies
    assert "Cookie" not in response.headers.get("Vary", "")


def test_an_anonymous_api_request_is_answered_as_anonymous(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/me")
    assert response.status_code == 401
    assert "sessionid" not in response.cookies


def test_a_browser_session_still_signs_in_to_the_api_and_its_writes_need_the_csrf_token(user) -> None:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/v1/me").json()["email"] == user.email

    refused = client.patch("/api/v1/me", {"display_name": "Ada"}, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.content.decode(), refused.content

    client.get("/accounts/email/")  # any page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    accepted = client.patch(
        "/api/v1/me", {"display_name": "Ada"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 200, accepted.content


def test_a_page_without_a_cookie_still_gets_its_csrf_cookie() -> None:
    response = Client().get("/accounts/login/")
    assert response.status_code == 200
    assert "csrftoken" in response.cookies
