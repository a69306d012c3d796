"""apps.core.security.CSPMiddleware builds the settings' policy once and still defers to django-csp wherever a
response differs: a page that used a nonce, a view decorated with django-csp, a changed setting."""

import pytest
from csp.constants import HEADER, NONCE
from csp.decorators import csp_update
from csp.utils import build_policy
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings

from apps.core.security import CSPMiddleware

pytestmark = pytest.mark.django_db


def answer(view: object) -> HttpResponse:
    request = RequestFactory().get("/somewhere")
    return CSPMiddleware(view)(request)  # type: ignore[arg-type, return-value]


def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse("plain")


def with_nonce(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"<script nonce='{request.csp_nonce}'></script>")  # type: ignore[attr-defined]


@csp_update({"img-src": ["https://img.example"]})
def decorated(request: HttpRequest) -> HttpResponse:
    return HttpResponse("decorated")


def test_a_plain_response_gets_django_csps_own_policy() -> None:
    assert answer(plain)[HEADER] == build_policy()


def test_a_response_that_used_a_nonce_carries_it() -> None:
    response = answer(with_nonce)
    nonce = response.content.decode().split("'")[1]
    assert f"'nonce-{nonce}'" in response[HEADER]
    assert "'nonce-" not in answer(plain)[HEADER]


def test_a_decorated_view_keeps_its_change() -> None:
    assert "https://img.example" in answer(decorated)[HEADER]
    assert "https://img.example" not in answer(plain)[HEADER]


def test_a_changed_setting_changes_the_header() -> None:
    before = answer(plain)[HEADER]
    with override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"default-src": ["'none'"], "script-src": [NONCE]}}):
        assert set(answer(plain)[HEADER].split("; ")) == {"default-src 'none'", "script-src"}
    assert answer(plain)[HEADER] == before


def test_api_answers_and_pages_carry_the_policy(client: Client) -> None:
    assert client.get("/api/v1/events")[HEADER] == build_policy()
    assert client.get("/accounts/login/")[HEADER] == build_policy()
