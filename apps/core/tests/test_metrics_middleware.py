"""The after-middleware records the request series the chart reads, and not the ones nobody reads."""

import pytest
from django.test import Client
from django.urls import resolve
from prometheus_client import REGISTRY

pytestmark = pytest.mark.django_db

PATH = "/api/v1/categories"  # public, no database rows needed


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_kept_series_count_a_request_and_the_others_do_not() -> None:
    view = resolve(PATH).view_name
    kept = {
        "django_http_requests_total_by_method_total": {"method": "GET"},
        "django_http_responses_total_by_status_view_method_total": {"status": "200", "view": view, "method": "GET"},
        "django_http_requests_latency_seconds_by_view_method_count": {"view": view, "method": "GET"},
    }
    dropped = {
        "django_http_requests_total_by_transport_total": {"transport": "http"},
        "django_http_responses_total_by_charset_total": {"charset": "utf-8"},
        "django_http_responses_total_by_status_total": {"status": "200"},
        "django_http_requests_total_by_view_transport_method_total": {
            "view": view,
            "transport": "http",
            "method": "GET",
        },
        "django_http_responses_body_total_bytes_count": {},
    }
    before = {name: _sample(name, **labels) for name, labels in (kept | dropped).items()}

    response = Client().get(PATH, HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    for name, labels in kept.items():
        assert _sample(name, **labels) == before[name] + 1, name
    for name, labels in dropped.items():
        assert _sample(name, **labels) == before[name], name


def test_an_unknown_method_is_labelled_as_such_in_every_kept_series() -> None:
    before = _sample("django_http_requests_total_by_method_total", method="<invalid method>")
    Client().generic("BREW", PATH)
    assert _sample("django_http_requests_total_by_method_total", method="<invalid method>") == before + 1
    assert not any(
        sample.labels.get("method") == "BREW"
        for family in REGISTRY.collect()
        if family.name.startswith("django_http")
        for sample in family.samples
    )
