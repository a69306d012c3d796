"""Rate limits kept in Redis: per user, per client IP, and tighter on log-in; open when Redis is down."""

import logging

import pytest
from django.test import override_settings

from apps.core import quiet_warnings

pytestmark = pytest.mark.django_db

ME_URL = "/api/v1/me"
TOKEN_URL = "/api/v1/auth/token"
UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}


@override_settings(RATE_LIMIT_MAX=3, RATE_LIMIT_WINDOW=60_000)
def test_requests_over_the_limit_get_429_with_retry_after(auth_client):
    for _ in range(3):
        assert auth_client.get(ME_URL).status_code == 200

    response = auth_client.get(ME_URL)

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60


@override_settings(RATE_LIMIT_MAX=2, RATE_LIMIT_WINDOW=60_000)
def test_the_limit_is_per_user(auth_client, other_user, client_for):
    for _ in range(2):
        auth_client.get(ME_URL)
    assert auth_client.get(ME_URL).status_code == 429
    assert client_for(other_user).get(ME_URL).status_code == 200


@override_settings(RATE_LIMIT_MAX=2, RATE_LIMIT_WINDOW=60_000)
def test_anonymous_clients_are_counted_by_ip_and_a_forged_forwarded_header_does_not_help(api_client):
    for n in range(2):
        assert api_client.get(ME_URL, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code == 401
    # No trusted proxy is configured: X-Forwarded-For is the client's to invent, and is ignored.
    assert api_client.get(ME_URL, HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 429
    assert api_client.get(ME_URL, REMOTE_ADDR="192.0.2.7").status_code == 401


@override_settings(RATE_LIMIT_MAX=2, RATE_LIMIT_WINDOW=60_000, TRUSTED_PROXY_COUNT=1)
def test_behind_a_trusted_proxy_the_client_ip_comes_from_its_forwarded_header(api_client):
    for _ in range(2):
        assert api_client.get(ME_URL, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 401
    assert api_client.get(ME_URL, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429
    # A different client behind the same proxy has its own budget; a prefix the client added is ignored.
    assert api_client.get(ME_URL, HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 401
    assert api_client.get(ME_URL, HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.1").status_code == 429


@override_settings(AUTH_RATE_LIMIT_PER_MINUTE=10)
def test_log_in_is_limited_per_ip(api_client):
    for n in range(10):
        response = api_client.post(TOKEN_URL, {"email": f"x{n}@example.test", "password": "wrong"}, format="json")
        assert response.status_code == 401
    response = api_client.post(TOKEN_URL, {"email": "y@example.test", "password": "wrong"}, format="json")
    assert response.status_code == 429
    assert int(response["Retry-After"]) <= 60


@override_settings(AUTH_RATE_LIMIT_PER_MINUTE=10)
def test_log_in_is_limited_per_account_across_ips(api_client, user):
    for n in range(10):
        api_client.post(
            TOKEN_URL, {"email": user.email, "password": "wrong"}, format="json", REMOTE_ADDR=f"192.0.2.{n}"
        )
    response = api_client.post(
        TOKEN_URL,
        {"email": user.email.upper(), "password": user.raw_password},
        format="json",
        REMOTE_ADDR="192.0.2.200",
    )
    assert response.status_code == 429


@override_settings(CACHES=UNREACHABLE_REDIS, RATE_LIMIT_MAX=1)
def test_throttling_fails_open_with_one_warning_a_minute_when_redis_is_down(auth_client, caplog, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(quiet_warnings, "_clock", lambda: now[0])
    quiet_warnings.forget()
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            assert auth_client.get(ME_URL).status_code == 200
        now[0] += quiet_warnings.EVERY_SECONDS
        assert auth_client.get(ME_URL).status_code == 200
    quiet_warnings.forget()
    assert sum("throttle_unavailable" in str(record.msg) for record in caplog.records) == 2


@override_settings(RATE_LIMIT_MAX=2, RATE_LIMIT_WINDOW=60_000)
def test_a_client_guessing_tokens_is_throttled_too(api_client):
    for _ in range(2):
        assert api_client.get(ME_URL, HTTP_AUTHORIZATION="Bearer guessed.token.value").status_code == 401
    assert api_client.get(ME_URL, HTTP_AUTHORIZATION="Bearer guessed.token.value").status_code == 429


# --- Behind Cloudflare (apps/core/client_ip.py) ---------------------------------------------------------------
# Cloudflare's edge connects to the ALB, which appends the edge's address to X-Forwarded-For (TRUSTED_PROXY_COUNT=1)
# and forwards to the pod from inside the VPC. 162.158.0.0/15 is one of Cloudflare's published ranges; 198.51.100.0/24
# is not.
CLOUDFLARE_EDGE = "162.158.40.7"
ELSEWHERE = "198.51.100.9"
ALB = "10.20.1.5"
BEHIND_CLOUDFLARE = override_settings(
    RATE_LIMIT_MAX=2, RATE_LIMIT_WINDOW=60_000, TRUSTED_PROXY_COUNT=1, CLOUDFLARE_TRUSTED=True
)


def through_the_alb(api_client, peer: str, connecting_ip: str, url: str = ME_URL) -> int:  # type: ignore[no-untyped-def]
    response = api_client.get(
        url,
        REMOTE_ADDR=ALB,
        HTTP_X_FORWARDED_FOR=f"{connecting_ip}, {peer}",
        HTTP_CF_CONNECTING_IP=connecting_ip,
    )
    return response.status_code


@BEHIND_CLOUDFLARE
def test_through_cloudflare_each_visitor_is_counted_by_the_address_the_edge_names(api_client):
    assert [through_the_alb(api_client, CLOUDFLARE_EDGE, "203.0.113.7") for _ in range(2)] == [401, 401]
    assert through_the_alb(api_client, CLOUDFLARE_EDGE, "203.0.113.7") == 429
    # Another visitor through the same edge server has a budget of its own, and so does one through another edge.
    assert through_the_alb(api_client, CLOUDFLARE_EDGE, "203.0.113.8") == 401
    assert through_the_alb(api_client, "172.64.3.3", "203.0.113.9") == 401
    # The first visitor is still over its limit whichever edge it comes through.
    assert through_the_alb(api_client, "104.16.0.1", "203.0.113.7") == 429


@BEHIND_CLOUDFLARE
def test_from_anywhere_else_cf_connecting_ip_is_ignored(api_client):
    # A client reaching the ALB directly (not from Cloudflare's ranges) rotates the header on every request: it is
    # still counted by its own address and hits the limit.
    assert [through_the_alb(api_client, ELSEWHERE, f"203.0.113.{n}") for n in range(2)] == [401, 401]
    assert through_the_alb(api_client, ELSEWHERE, "203.0.113.99") == 429
    # An entry the client wrote into X-Forwarded-For does not make it Cloudflare either.
    assert through_the_alb(api_client, f"{CLOUDFLARE_EDGE}, {ELSEWHERE}", "203.0.113.100") == 429


@BEHIND_CLOUDFLARE
def test_the_log_in_throttle_counts_the_visitor_behind_cloudflare_too(api_client):
    emails = (f"someone{n}@example.test" for n in range(100))  # one each: the per-account throttle stays out

    def log_in(peer: str, connecting_ip: str) -> int:
        response = api_client.post(
            TOKEN_URL,
            {"email": next(emails), "password": "wrong"},
            format="json",
            REMOTE_ADDR=ALB,
            HTTP_X_FORWARDED_FOR=f"{connecting_ip}, {peer}",
            HTTP_CF_CONNECTING_IP=connecting_ip,
        )
        return response.status_code

    with override_settings(AUTH_RATE_LIMIT_PER_MINUTE=2, LOGIN_LOCKOUT_THRESHOLD=0):
        assert [log_in(CLOUDFLARE_EDGE, "203.0.113.20") for _ in range(2)] == [401, 401]
        assert log_in(CLOUDFLARE_EDGE, "203.0.113.20") == 429
        assert log_in(CLOUDFLARE_EDGE, "203.0.113.21") == 401
        assert [log_in(ELSEWHERE, f"203.0.113.{n}") for n in (30, 31)] == [401, 401]
        assert log_in(ELSEWHERE, "203.0.113.32") == 429


@override_settings(RATE_LIMIT_MAX=2, RATE_LIMIT_WINDOW=60_000, TRUSTED_PROXY_COUNT=1, CLOUDFLARE_TRUSTED=False)
def test_without_cloudflare_trusted_the_header_means_nothing(api_client):
    # Environments not behind Cloudflare (the default): even a peer in Cloudflare's ranges is counted as itself.
    assert [through_the_alb(api_client, CLOUDFLARE_EDGE, f"203.0.113.{n}") for n in range(2)] == [401, 401]
    assert through_the_alb(api_client, CLOUDFLARE_EDGE, "203.0.113.50") == 429
