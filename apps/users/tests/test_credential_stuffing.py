"""Sign-in limits against credential stuffing, on the API token endpoint and the browser login alike.

Failures are counted per email (whether or not it has an account) and per client address, in Redis; a locked
email refuses even the right password, and nothing in the answers tells a known email from an unknown one.
The clock is frozen in each test (time_machine), so answers can be compared byte for byte and the lock can be
outlived without waiting.
"""

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import MD5PasswordHasher
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_redis import get_redis_connection
from rest_framework.test import APIClient

from apps.users import services
from apps.users.adapter import AccountAdapter
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token"
UNKNOWN = "nobody-here@example.test"
START = datetime(2026, 6, 17, 10, 15, tzinfo=UTC)  # the address limit's hour ends at 11:00, 2,700 s later
THRESHOLD = 3
LOCK_SECONDS = 600
NOT_CORRECT = "The email address and/or password you specified are not correct."
TOO_MANY = "Too many failed login attempts. Try again later."

LIMITS = override_settings(
    LOGIN_LOCKOUT_THRESHOLD=THRESHOLD,
    LOGIN_LOCKOUT_WINDOW_SECONDS=900,
    LOGIN_LOCKOUT_SECONDS=LOCK_SECONDS,
    LOGIN_ADDRESS_LIMIT_PER_HOUR=1000,
    # The DRF throttles' per-minute budgets are not what these tests are about.
    AUTH_RATE_LIMIT_PER_MINUTE=10_000,
)


@pytest.fixture(autouse=True)
def _limits():  # type: ignore[no-untyped-def]
    with LIMITS:
        yield


@pytest.fixture
def frozen():  # type: ignore[no-untyped-def]
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def token(client: APIClient, email: str, password: str, address: str = "192.0.2.10", **extra: str):  # type: ignore[no-untyped-def]
    return client.post(TOKEN_URL, {"email": email, "password": password}, format="json", REMOTE_ADDR=address, **extra)


def page_login(client: Client, email: str, password: str, address: str = "192.0.2.10", **extra: str):  # type: ignore[no-untyped-def]
    return client.post(reverse("account_login"), {"login": email, "password": password}, REMOTE_ADDR=address, **extra)


def page_errors(response) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'<ul class="errorlist nonfield"><li>(.*?)</li></ul>', response.content.decode())


def page_shape(response, email: str) -> bytes:  # type: ignore[no-untyped-def]
    """The page with what differs between any two requests blanked: the masked CSRF token (in the form and the
    htmx headers), a CSP nonce, and the email as typed."""
    html = response.content.decode().replace(email, "EMAIL")
    html = re.sub(r"\b[A-Za-z0-9]{64}\b", "CSRF", html)
    html = re.sub(r'nonce="[^"]*"', 'nonce=""', html)
    return html.encode()


# --- The API token endpoint --------------------------------------------------------------------------------


def test_an_email_locks_after_n_failures_alike_whether_or_not_it_has_an_account(frozen, user):
    answers = {}
    for email, address in ((user.email, "192.0.2.1"), (UNKNOWN, "192.0.2.2")):
        client = APIClient()
        answers[email] = [token(client, email, "wrong", address) for _ in range(THRESHOLD + 2)]

    known, unknown = answers[user.email], answers[UNKNOWN]
    assert [r.status_code for r in known] == [401] * THRESHOLD + [429, 429]
    for mine, theirs in zip(known, unknown, strict=True):
        assert mine.status_code == theirs.status_code
        assert mine.content == theirs.content  # byte for byte
        assert mine.get("Retry-After") == theirs.get("Retry-After")
    locked = known[THRESHOLD]
    assert locked["Retry-After"] == str(LOCK_SECONDS)
    assert locked.json()["error"]["code"] == "throttled"
    assert set(locked.json()["error"]) == {"code", "message", "fields"}


def test_the_right_password_is_refused_while_locked_and_accepted_after_the_lock(frozen, user, api_client):
    for _ in range(THRESHOLD):
        assert token(api_client, user.email, "wrong").status_code == 401

    refused = token(api_client, user.email.upper(), user.raw_password, address="198.51.100.9")
    assert refused.status_code == 429
    assert refused["Retry-After"] == str(LOCK_SECONDS)
    assert "access" not in refused.json()

    frozen.shift(timedelta(seconds=LOCK_SECONDS - 1))
    still = token(api_client, user.email, user.raw_password)
    assert still.status_code == 429
    assert still["Retry-After"] == "1"

    frozen.shift(timedelta(seconds=2))
    assert token(api_client, user.email, user.raw_password).status_code == 200
    # The lock is over and the count started again: a few failures do not lock at once.
    assert token(api_client, user.email, "wrong").status_code == 401


def test_a_success_resets_the_emails_failures(frozen, user, api_client):
    for _ in range(THRESHOLD - 1):
        assert token(api_client, user.email, "wrong").status_code == 401
    assert token(api_client, user.email, user.raw_password).status_code == 200

    for _ in range(THRESHOLD - 1):
        assert token(api_client, user.email, "wrong").status_code == 401
    # 2 × (THRESHOLD - 1) failures in the window, but never THRESHOLD in a row without a success between.
    assert token(api_client, user.email, user.raw_password).status_code == 200


@override_settings(LOGIN_ADDRESS_LIMIT_PER_HOUR=5)
def test_an_address_is_limited_across_many_emails(frozen, user, api_client):
    # Its own successes do not use up an address's budget.
    for _ in range(3):
        assert token(api_client, user.email, user.raw_password, address="203.0.113.7").status_code == 200
    for n in range(5):
        assert token(api_client, f"person-{n}@example.test", "guess", address="203.0.113.7").status_code == 401

    blocked = token(api_client, "person-99@example.test", "guess", address="203.0.113.7")
    assert blocked.status_code == 429
    assert blocked["Retry-After"] == "2700"  # until the hour's window ends
    # Even an account's right password, from that address: the attacker learns nothing more.
    assert token(api_client, user.email, user.raw_password, address="203.0.113.7").status_code == 429
    # Other clients, and the same email from elsewhere, are not affected.
    assert token(api_client, user.email, user.raw_password, address="203.0.113.8").status_code == 200

    frozen.shift(timedelta(seconds=2700))
    assert token(api_client, user.email, user.raw_password, address="203.0.113.7").status_code == 200


@override_settings(LOGIN_ADDRESS_LIMIT_PER_HOUR=2)
def test_x_forwarded_for_is_ignored_without_a_trusted_proxy(frozen, api_client):
    for n in range(2):
        response = token(api_client, f"a{n}@example.test", "x", "192.0.2.50", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
        assert response.status_code == 401
    # A new X-Forwarded-For is the client's own invention: the same address, over its limit.
    response = token(api_client, "b@example.test", "x", "192.0.2.50", HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert response.status_code == 429


@override_settings(LOGIN_ADDRESS_LIMIT_PER_HOUR=2, TRUSTED_PROXY_COUNT=1)
def test_behind_a_trusted_proxy_the_address_is_the_one_it_forwarded(frozen, api_client):
    def via_proxy(email: str, forwarded_for: str) -> int:
        # Every request arrives from the load balancer, which appends the address it saw.
        return token(api_client, email, "x", "10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded_for).status_code

    assert [via_proxy(f"a{n}@example.test", "198.51.100.1") for n in range(2)] == [401, 401]
    assert via_proxy("b@example.test", "198.51.100.1") == 429
    # Another client behind the same proxy has its own budget; an entry the client prepended changes nothing.
    assert via_proxy("b@example.test", "203.0.113.5") == 401
    assert via_proxy("c@example.test", "1.2.3.4, 198.51.100.1") == 429


@override_settings(LOGIN_ADDRESS_LIMIT_PER_HOUR=2)
def test_ipv6_clients_are_counted_by_their_64(frozen, api_client):
    for n in range(2):
        assert token(api_client, f"a{n}@example.test", "x", address=f"2001:db8:1:2::{n + 1}").status_code == 401
    assert token(api_client, "b@example.test", "x", address="2001:db8:1:2:ffff::9").status_code == 429
    assert token(api_client, "b@example.test", "x", address="2001:db8:1:3::1").status_code == 401


def test_the_cache_holds_neither_emails_nor_addresses(frozen, user, api_client):
    for _ in range(THRESHOLD):
        token(api_client, user.email, "wrong", address="192.0.2.77")
    keys = [key.decode() for key in get_redis_connection("default").keys("*signin*")]
    assert any(":lock:account:" in key for key in keys)
    assert not [key for key in keys if user.email in key or "192.0.2.77" in key]


def test_attempts_in_flight_count_before_their_passwords_are_checked(frozen):
    # A burst of parallel requests: each takes its place in the count as it starts, so no more than the
    # threshold get their password checked.
    started = [services.sign_in_begin(email=UNKNOWN, address="192.0.2.60") for _ in range(THRESHOLD)]
    with pytest.raises(services.SignInBlocked):
        services.sign_in_begin(email=UNKNOWN.upper(), address="192.0.2.61")

    for attempt in started:
        services.sign_in_failed(attempt=attempt)
    with pytest.raises(services.SignInBlocked) as blocked:
        services.sign_in_begin(email=UNKNOWN, address="192.0.2.62")
    assert blocked.value.retry_after == LOCK_SECONDS


UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}


@override_settings(CACHES=UNREACHABLE_REDIS, LOGIN_LOCKOUT_THRESHOLD=1)
def test_with_redis_down_sign_ins_go_through_with_a_warning(user, api_client, caplog):
    with caplog.at_level(logging.WARNING):
        assert token(api_client, user.email, "wrong").status_code == 401
        assert token(api_client, user.email, user.raw_password).status_code == 200
    assert any("sign_in_limits_unavailable" in str(record.msg) for record in caplog.records)


# --- The browser login page (allauth) -----------------------------------------------------------------------


def test_the_login_page_answers_alike_for_known_and_unknown_emails(frozen, user):
    pages = {}
    for email, address in ((user.email, "192.0.2.1"), (UNKNOWN, "192.0.2.2")):
        client = Client()
        pages[email] = [page_login(client, email, "wrong", address) for _ in range(THRESHOLD + 1)]

    known, unknown = pages[user.email], pages[UNKNOWN]
    assert [page_errors(r) for r in known] == [[NOT_CORRECT]] * THRESHOLD + [[TOO_MANY]]
    for mine, theirs in zip(known, unknown, strict=True):
        assert mine.status_code == theirs.status_code == 200
        assert page_shape(mine, user.email) == page_shape(theirs, UNKNOWN)


def test_the_login_page_refuses_the_right_password_while_locked_then_lets_in(frozen, user, client):
    for _ in range(THRESHOLD):
        page_login(client, user.email, "wrong")

    refused = page_login(client, user.email, user.raw_password)
    assert refused.status_code == 200
    assert page_errors(refused) == [TOO_MANY]
    assert client.get(reverse("profile")).status_code == 302  # still signed out

    frozen.shift(timedelta(seconds=LOCK_SECONDS + 1))
    assert page_login(client, user.email, user.raw_password).status_code == 302
    assert client.get(reverse("profile")).status_code == 200


def test_the_page_and_the_api_share_one_count(frozen, user, client, api_client):
    page_login(client, user.email.upper(), "wrong")
    for _ in range(THRESHOLD - 1):
        assert token(api_client, user.email, "wrong").status_code == 401

    assert token(api_client, user.email, user.raw_password).status_code == 429
    assert page_errors(page_login(client, user.email, user.raw_password)) == [TOO_MANY]


@override_settings(LOGIN_ADDRESS_LIMIT_PER_HOUR=2, TRUSTED_PROXY_COUNT=1, ALLAUTH_TRUSTED_PROXY_COUNT=1)
def test_the_login_page_counts_the_address_the_trusted_proxy_forwarded(frozen, user, client):
    def via_proxy(email: str, password: str, forwarded_for: str):  # type: ignore[no-untyped-def]
        return page_login(client, email, password, "10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded_for)

    for n in range(2):
        assert page_errors(via_proxy(f"a{n}@example.test", "x", "198.51.100.1")) == [NOT_CORRECT]
    assert page_errors(via_proxy(user.email, user.raw_password, "198.51.100.1")) == [TOO_MANY]
    assert via_proxy(user.email, user.raw_password, "203.0.113.5").status_code == 302


# --- Equal work for known and unknown emails ------------------------------------------------------------------


class CountingHasher(MD5PasswordHasher):
    """The suite's MD5 hasher, counting every hash it computes (checking a password, or a dummy hash)."""

    computed = 0

    def encode(self, password: str, salt: str) -> str:
        type(self).computed += 1
        return super().encode(password, salt)


def _known_plain() -> str:
    return UserFactory().email


def _known_verified() -> str:
    # As allauth's sign-up leaves an account once its email is confirmed: allauth's own backend would skip
    # the user table for it.
    user = UserFactory()
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user.email


def _known_without_password() -> str:
    user = UserFactory()  # as a Google sign-in leaves an account
    user.set_unusable_password()
    user.save()
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user.email


def _known_inactive() -> str:
    return UserFactory(is_active=False).email


ACCOUNTS = {
    "known": _known_plain,
    "known, verified address": _known_verified,
    "known, no usable password": _known_without_password,
    "known, inactive": _known_inactive,
}


def _work(attempt) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(password hashes, SQL queries) of one failed attempt."""
    CountingHasher.computed = 0
    with CaptureQueriesContext(connection) as queries:
        attempt()
    return CountingHasher.computed, len(queries.captured_queries)


@pytest.mark.parametrize("account", list(ACCOUNTS))
@pytest.mark.parametrize("path", ["api", "page"])
@override_settings(PASSWORD_HASHERS=[f"{__name__}.CountingHasher"])
def test_a_known_email_costs_the_same_hashing_and_queries_as_an_unknown_one(frozen, account, path):
    known_email = ACCOUNTS[account]()

    def attempt_with(email: str):  # type: ignore[no-untyped-def]
        if path == "api":
            return lambda: token(APIClient(), email, "a wrong password", address="192.0.2.90")
        return lambda: page_login(Client(), email, "a wrong password", address="192.0.2.90")

    _work(attempt_with("warm-up@example.test"))  # first-request work (caches, connections) out of the way
    known = _work(attempt_with(known_email))
    unknown = _work(attempt_with(UNKNOWN))

    assert known[0] >= 1, "a wrong password must be hashed"
    assert known == unknown, f"{account} via {path}: (hashes, queries) {known} against {unknown} for an unknown email"


# --- Behind Cloudflare ------------------------------------------------------------------------------------
# The ALB appends the address that connected to it (TRUSTED_PROXY_COUNT=1); when that is Cloudflare's edge
# (162.158.0.0/15 is one of its ranges), the client is the CF-Connecting-IP the edge names (apps.core.client_ip).
CLOUDFLARE_EDGE = "162.158.40.7"
ELSEWHERE = "198.51.100.9"


@override_settings(LOGIN_ADDRESS_LIMIT_PER_HOUR=2, TRUSTED_PROXY_COUNT=1, CLOUDFLARE_TRUSTED=True)
def test_behind_cloudflare_the_address_limit_counts_each_visitor(frozen, api_client):
    def attempt(email: str, peer: str, visitor: str) -> int:
        extra = {"HTTP_X_FORWARDED_FOR": f"{visitor}, {peer}", "HTTP_CF_CONNECTING_IP": visitor}
        return token(api_client, email, "x", "10.20.1.5", **extra).status_code

    assert [attempt(f"a{n}@example.test", CLOUDFLARE_EDGE, "203.0.113.7") for n in range(2)] == [401, 401]
    assert attempt("b@example.test", CLOUDFLARE_EDGE, "203.0.113.7") == 429
    # Two visitors through the same edge server: separate counts.
    assert attempt("b@example.test", CLOUDFLARE_EDGE, "203.0.113.8") == 401
    # A client that is not Cloudflare rotates the header: counted by its own address, locked all the same.
    assert [attempt(f"c{n}@example.test", ELSEWHERE, f"203.0.113.{50 + n}") for n in range(2)] == [401, 401]
    assert attempt("d@example.test", ELSEWHERE, "203.0.113.99") == 429


@override_settings(LOGIN_ADDRESS_LIMIT_PER_HOUR=2, TRUSTED_PROXY_COUNT=1, CLOUDFLARE_TRUSTED=True)
def test_behind_cloudflare_the_login_page_and_allauth_count_the_visitor(frozen, user, client):
    def via(peer: str, visitor: str, email: str, password: str):  # type: ignore[no-untyped-def]
        extra = {"HTTP_X_FORWARDED_FOR": f"{visitor}, {peer}", "HTTP_CF_CONNECTING_IP": visitor}
        return page_login(client, email, password, "10.20.1.5", **extra)

    for n in range(2):
        assert page_errors(via(CLOUDFLARE_EDGE, "203.0.113.7", f"a{n}@example.test", "x")) == [NOT_CORRECT]
    assert page_errors(via(CLOUDFLARE_EDGE, "203.0.113.7", user.email, user.raw_password)) == [TOO_MANY]
    assert via(CLOUDFLARE_EDGE, "203.0.113.8", user.email, user.raw_password).status_code == 302


@override_settings(TRUSTED_PROXY_COUNT=1, CLOUDFLARE_TRUSTED=True)
def test_allauths_own_rate_limits_see_the_same_address():
    def seen(peer: str) -> str:
        extra = {"HTTP_X_FORWARDED_FOR": f"203.0.113.7, {peer}", "HTTP_CF_CONNECTING_IP": "203.0.113.7"}
        request = RequestFactory().get("/", REMOTE_ADDR="10.20.1.5", **extra)
        return AccountAdapter(request).get_client_ip(request)

    assert seen(CLOUDFLARE_EDGE) == "203.0.113.7"
    assert seen(ELSEWHERE) == ELSEWHERE
