"""/health, /ready, /metrics, request ids, CORS and the error shape, in-process and in real server processes."""

import io
import json
import logging
import uuid

import httpx
import pytest
import structlog
from django.conf import settings
from django.db import connection
from django.test import override_settings

from apps.core.logging import json_formatter
from apps.core.tests.test_throttling import UNREACHABLE_REDIS
from scripts.support.databases import database_url, drop_database, ensure_database
from scripts.support.production_env import throwaway_production_secrets

pytestmark = pytest.mark.django_db


def test_health_answers_without_touching_anything(client):
    with override_settings(CACHES=UNREACHABLE_REDIS):
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_when_database_migrations_and_cache_are_fine(client):
    response = client.get("/ready")
    assert response.status_code == 200, response.content


def test_ready_is_503_naming_the_cache_when_redis_is_down(client):
    with override_settings(CACHES=UNREACHABLE_REDIS):
        response = client.get("/ready")
    assert response.status_code == 503
    assert list(response.json()["failed"]) == ["cache"]


def test_metrics_come_from_real_instrumentation(client):
    client.get("/api/v1/me")
    body = client.get("/metrics").content.decode()
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in body
    assert 'django_http_responses_total_by_status_view_method_total{method="GET",status="401",view="api-me"}' in body
    assert "django_db_execute_total" in body


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_metrics_are_not_served_to_requests_that_came_through_the_load_balancer(client):
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 404
    assert client.get("/metrics").status_code == 200


def test_request_id_is_echoed_or_made(client):
    given = client.get("/api/v1/me", HTTP_X_REQUEST_ID="abc-123")
    assert given["X-Request-ID"] == "abc-123"
    made = client.get("/api/v1/me")
    assert len(made["X-Request-ID"]) == 32
    hostile = client.get("/api/v1/me", HTTP_X_REQUEST_ID="bad id\r\nSet-Cookie: x")
    assert hostile["X-Request-ID"] != "bad id\r\nSet-Cookie: x"


@pytest.fixture
def json_log():
    """What the project's JSON log formatter writes while the test runs, as a StringIO."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def test_every_log_line_of_a_request_carries_its_id_and_user(auth_client, user, json_log):
    auth_client.get("/api/v1/me", HTTP_X_REQUEST_ID="trace-me-42")
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    request_lines = [line for line in lines if line.get("event") == "request"]
    assert request_lines, lines
    line = request_lines[-1]
    assert line["request_id"] == "trace-me-42"
    assert line["user_id"] == user.pk
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/v1/me", 200)
    assert isinstance(line["duration_ms"], float)


def test_passwords_and_tokens_never_reach_the_log(api_client, user, json_log):
    response = api_client.post(
        "/api/v1/auth/token", {"email": user.email, "password": user.raw_password}, format="json"
    )
    structlog.get_logger("test").info("oops", password="hunter2", refresh_token=response.json()["refresh"])
    out = json_log.getvalue()
    assert user.raw_password not in out
    assert "hunter2" not in out
    assert response.json()["refresh"] not in out
    assert response.json()["access"] not in out
    assert "[redacted]" in out


def test_unknown_api_paths_are_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@override_settings(CORS_ALLOWED_ORIGINS=["https://app.weekendplanner.example"])
def test_cors_allows_only_the_configured_origins(client):
    allowed = client.options(
        "/api/v1/me",
        HTTP_ORIGIN="https://app.weekendplanner.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
    )
    assert allowed["Access-Control-Allow-Origin"] == "https://app.weekendplanner.example"
    refused = client.get("/api/v1/me", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in refused


# --- Real processes ------------------------------------------------------------------------------------


def _production_env(clean_env, **overrides):
    local = {
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": settings.CACHES["default"]["LOCATION"],
    }
    return clean_env(**{**throwaway_production_secrets(), **local, **overrides})


@pytest.mark.django_db(transaction=True)
def test_probes_answer_a_pod_ip_host_over_plain_http_in_production(start_server, clean_env):
    base = start_server(_production_env(clean_env))

    for path in ("/health", "/ready"):
        response = httpx.get(f"{base}{path}", headers={"Host": "10.42.3.17:8000"}, follow_redirects=False)
        assert response.status_code == 200, (path, response.text)
    metrics = httpx.get(f"{base}/metrics", headers={"Host": "10.42.3.17:8000"})
    assert metrics.status_code == 200
    # Everything else still validates the host and redirects to HTTPS.
    assert httpx.get(f"{base}/", headers={"Host": "10.42.3.17:8000"}).status_code == 400
    home = httpx.get(f"{base}/", headers={"Host": "weekendplanner.example"}, follow_redirects=False)
    assert home.status_code == 301
    assert home.headers["Location"].startswith("https://weekendplanner.example/")


def test_production_refuses_to_start_without_a_secret(clean_env):
    import subprocess
    import sys

    env = _production_env(clean_env)
    del env["JWT_PRIVATE_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True, cwd=settings.BASE_DIR
    )
    assert result.returncode != 0
    assert "JWT_PRIVATE_KEY must be set when DJANGO_ENV=production" in result.stderr


def test_ready_is_503_when_the_database_is_unreachable(start_server, clean_env):
    env = clean_env(DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere", DATABASE_CONNECT_TIMEOUT="1")
    base = start_server(env)

    assert httpx.get(f"{base}/health").status_code == 200
    response = httpx.get(f"{base}/ready", timeout=10)
    assert response.status_code == 503
    assert "database" in response.json()["failed"]


@pytest.fixture
def unmigrated_database():
    url = database_url(connection.settings_dict, name=f"wp_unmigrated_{uuid.uuid4().hex[:8]}")
    ensure_database(url)
    yield url
    drop_database(url)


def test_ready_is_503_while_migrations_are_pending(start_server, clean_env, unmigrated_database):
    base = start_server(clean_env(DATABASE_URL=unmigrated_database))

    response = httpx.get(f"{base}/ready", timeout=10)

    assert response.status_code == 503
    assert "pending" in response.json()["failed"]["migrations"]


def test_database_url_options_such_as_sslmode_are_kept(clean_env):
    import subprocess
    import sys

    env = clean_env(DATABASE_URL="postgres://app@db.example:5432/planner?sslmode=verify-full&connect_timeout=9")
    code = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**env, "DJANGO_SETTINGS_MODULE": "planner.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "{'sslmode': 'verify-full', 'connect_timeout': 9}"
