"""The outbound HTTP client: timeouts, retries with backoff and the provider's own wait signals, pacing; and
the address guard for URLs people type in.

A provider is faked at the network boundary with httpx.MockTransport; sleeping is recorded, never done.
"""

import email.utils
import ipaddress
import socket
import threading
from collections.abc import Callable

import httpx
import pytest

from apps.core.http import (
    DEFAULT_TIMEOUT,
    AddressRefusedError,
    CredentialsRejectedError,
    HostNotResolvedError,
    ProviderUnavailableError,
    RateLimiter,
    RetryLaterError,
    RetryPolicy,
    build_client,
    call_with_retries,
    check_response,
    parse_reset_epoch_ms,
    parse_retry_after,
    public_addresses,
    refusal_reason,
    send_pinned,
)

NOW = 1_750_000_000.0  # a fixed "time.time()" for the tests that read reset times


class Provider:
    """A fake provider answering queued responses (or raising queued transport errors) in order."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def client(self) -> httpx.Client:
        return build_client(base_url="https://api.provider.test", transport=httpx.MockTransport(self))


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def policy(sleeps: list[float]) -> RetryPolicy:
    return RetryPolicy(
        attempts=4, base_delay=0.5, max_backoff=8.0, max_wait=60.0, sleep=sleeps.append, clock=lambda: NOW
    )


def get_events(provider: Provider, policy: RetryPolicy, reset_header: str | None = None) -> httpx.Response:
    """What a connector does: one GET, checked, retried."""
    with provider.client() as client:
        return call_with_retries(
            lambda: check_response(client.get("/events"), reset_header=reset_header, clock=policy.clock),
            policy=policy,
            name="test-provider",
        )


# --- The client ------------------------------------------------------------------------------------------


def test_build_client_sets_explicit_timeouts_headers_and_base_url():
    provider = Provider(httpx.Response(200, json={"ok": True}))
    client = build_client(
        base_url="https://api.provider.test/v2",
        headers={"X-Api-Key": "k"},
        transport=httpx.MockTransport(provider),
    )
    with client:
        assert client.timeout.connect == DEFAULT_TIMEOUT.connect
        assert client.timeout.read == DEFAULT_TIMEOUT.read
        assert client.timeout.connect is not None
        assert client.timeout.read is not None
        client.get("/events", params={"page": 2})

    (request,) = provider.requests
    assert str(request.url) == "https://api.provider.test/v2/events?page=2"
    assert request.headers["X-Api-Key"] == "k"
    assert request.headers["User-Agent"].startswith("weekend-planner/")


def test_build_client_accepts_a_custom_timeout_and_does_not_follow_redirects():
    provider = Provider(httpx.Response(302, headers={"Location": "https://elsewhere.test/steal"}))
    with build_client(
        base_url="https://api.provider.test",
        timeout=httpx.Timeout(connect=1.0, read=2.0, write=2.0, pool=1.0),
        transport=httpx.MockTransport(provider),
    ) as client:
        assert (client.timeout.connect, client.timeout.read) == (1.0, 2.0)
        response = client.get("/moved")
    assert response.status_code == 302
    assert len(provider.requests) == 1


# --- Retry-After and reset headers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("-5", 0.0),
        (email.utils.formatdate(NOW + 90, usegmt=True), 90.0),
        (email.utils.formatdate(NOW - 90, usegmt=True), 0.0),  # a date in the past: go now
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, now=NOW) == expected


def test_parse_reset_epoch_ms():
    assert parse_reset_epoch_ms(str(int((NOW + 12.5) * 1000)), now=NOW) == pytest.approx(12.5)
    assert parse_reset_epoch_ms(str(int((NOW - 3) * 1000)), now=NOW) == 0.0
    assert parse_reset_epoch_ms("tomorrow", now=NOW) is None
    assert parse_reset_epoch_ms(None, now=NOW) is None


# --- Retries ----------------------------------------------------------------------------------------------


def test_429_then_success_waits_as_long_as_retry_after_says(policy, sleeps):
    provider = Provider(
        httpx.Response(429, headers={"Retry-After": "3"}, json={"error": "slow down"}),
        httpx.Response(200, json={"events": []}),
    )
    response = get_events(provider, policy)
    assert response.json() == {"events": []}
    assert len(provider.requests) == 2
    assert sleeps == [3.0]


def test_429_with_an_http_date_retry_after(policy, sleeps):
    provider = Provider(
        httpx.Response(429, headers={"Retry-After": email.utils.formatdate(NOW + 10, usegmt=True)}),
        httpx.Response(200),
    )
    get_events(provider, policy)
    assert sleeps == [10.0]


def test_429_with_a_provider_reset_header_in_epoch_ms(policy, sleeps):
    # Ticketmaster signals its quota window with Rate-Limit-Reset (epoch milliseconds), not Retry-After.
    reset_ms = int((NOW + 4) * 1000)
    provider = Provider(
        httpx.Response(
            429, headers={"Rate-Limit": "5000", "Rate-Limit-Available": "0", "Rate-Limit-Reset": str(reset_ms)}
        ),
        httpx.Response(200),
    )
    get_events(provider, policy, reset_header="Rate-Limit-Reset")
    assert sleeps == [pytest.approx(4.0)]


def test_retry_after_wins_over_the_reset_header(policy, sleeps):
    provider = Provider(
        httpx.Response(429, headers={"Retry-After": "2", "Rate-Limit-Reset": str(int((NOW + 30) * 1000))}),
        httpx.Response(200),
    )
    get_events(provider, policy, reset_header="Rate-Limit-Reset")
    assert sleeps == [2.0]


def test_500_then_success_backs_off_with_full_jitter(policy, sleeps):
    provider = Provider(httpx.Response(500, text="Internal Server Error"), httpx.Response(200, json={"ok": 1}))
    assert get_events(provider, policy).json() == {"ok": 1}
    assert len(provider.requests) == 2
    (wait,) = sleeps
    assert 0.0 <= wait <= policy.base_delay  # first retry: uniform(0, base)


def test_backoff_grows_but_stays_under_its_cap(sleeps):
    policy = RetryPolicy(attempts=8, base_delay=1.0, max_backoff=4.0, sleep=sleeps.append)
    provider = Provider(*[httpx.Response(503)] * 7, httpx.Response(200))
    get_events(provider, policy)
    assert len(sleeps) == 7
    ceilings = [1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    assert all(0.0 <= wait <= ceiling for wait, ceiling in zip(sleeps, ceilings, strict=True))


def test_timeouts_are_retried(policy, sleeps):
    provider = Provider(httpx.ReadTimeout("read timed out"), httpx.Response(200, json={"ok": 1}))
    assert get_events(provider, policy).json() == {"ok": 1}
    assert len(provider.requests) == 2
    assert len(sleeps) == 1


def test_transport_errors_are_retried_then_reported_as_unavailable(policy, sleeps):
    provider = Provider(*[httpx.ConnectError("connection refused")] * 4)
    with pytest.raises(ProviderUnavailableError) as caught:
        get_events(provider, policy)
    assert not isinstance(caught.value, RetryLaterError)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(provider.requests) == policy.attempts
    assert len(sleeps) == policy.attempts - 1


def test_5xx_until_the_attempts_run_out(policy, sleeps):
    provider = Provider(*[httpx.Response(502, text="<html>Bad Gateway</html>")] * 4)
    with pytest.raises(ProviderUnavailableError, match="4 attempts"):
        get_events(provider, policy)
    assert len(provider.requests) == 4


def test_retry_after_longer_than_max_wait_raises_retry_later_without_sleeping(policy, sleeps):
    provider = Provider(httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(RetryLaterError) as caught:
        get_events(provider, policy)
    assert caught.value.retry_after_seconds == 3600.0
    assert sleeps == []
    assert len(provider.requests) == 1


def test_a_far_reset_time_raises_retry_later(policy, sleeps):
    provider = Provider(httpx.Response(429, headers={"Rate-Limit-Reset": str(int((NOW + 600) * 1000))}))
    with pytest.raises(RetryLaterError) as caught:
        get_events(provider, policy, reset_header="Rate-Limit-Reset")
    assert caught.value.retry_after_seconds == pytest.approx(600.0)
    assert sleeps == []


def test_429s_until_the_attempts_run_out_ask_the_caller_to_come_back(policy, sleeps):
    provider = Provider(*[httpx.Response(429, headers={"Retry-After": "5"})] * 4)
    with pytest.raises(RetryLaterError) as caught:
        get_events(provider, policy)
    assert caught.value.retry_after_seconds == 5.0
    assert sleeps == [5.0, 5.0, 5.0]


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_credentials_are_not_retried(policy, sleeps, status):
    provider = Provider(httpx.Response(status, json={"fault": {"faultstring": "Invalid ApiKey"}}))
    with pytest.raises(CredentialsRejectedError) as caught:
        get_events(provider, policy)
    assert caught.value.status_code == status
    assert len(provider.requests) == 1
    assert sleeps == []


def test_other_client_errors_are_returned_to_the_caller(policy, sleeps):
    provider = Provider(httpx.Response(404, json={"error": "no such event"}))
    assert get_events(provider, policy).status_code == 404
    assert sleeps == []


def test_max_wait_also_caps_backoff(sleeps):
    policy = RetryPolicy(attempts=3, base_delay=100.0, max_backoff=1000.0, max_wait=2.0, sleep=sleeps.append)
    provider = Provider(httpx.Response(500), httpx.Response(500), httpx.Response(200))
    get_events(provider, policy)
    assert all(wait <= 2.0 for wait in sleeps)


# --- Rate limiter ---------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleeper(self, record: list[float]) -> Callable[[float], None]:
        def sleep(seconds: float) -> None:
            record.append(seconds)
            self.now += seconds

        return sleep


def test_rate_limiter_spaces_requests_by_the_minimum_needed():
    clock, slept = FakeClock(), []
    limiter = RateLimiter(4, sleep=clock.sleeper(slept), clock=clock)

    assert limiter.acquire("ticketmaster") == 0.0
    assert limiter.acquire("ticketmaster") == pytest.approx(0.25)
    clock.now += 0.1  # some work between requests counts towards the interval
    assert limiter.acquire("ticketmaster") == pytest.approx(0.15)
    clock.now += 10  # an idle key does not bank a burst
    assert limiter.acquire("ticketmaster") == 0.0
    assert limiter.acquire("ticketmaster") == pytest.approx(0.25)
    assert slept == [pytest.approx(0.25), pytest.approx(0.15), pytest.approx(0.25)]


def test_rate_limiter_keys_are_independent():
    clock, slept = FakeClock(), []
    limiter = RateLimiter(1, sleep=clock.sleeper(slept), clock=clock)
    assert limiter.acquire("eventbrite") == 0.0
    assert limiter.acquire("meetup") == 0.0
    assert slept == []


def test_rate_limiter_is_thread_safe():
    # The clock stands still, so each thread's wait shows which slot it reserved: all distinct.
    slept: list[float] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:
        with lock:
            slept.append(seconds)

    limiter = RateLimiter(10, sleep=record, clock=lambda: 50.0)
    threads = [threading.Thread(target=limiter.acquire, args=("k",)) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(round(wait, 6) for wait in slept) == [round(0.1 * n, 6) for n in range(1, 20)]


def test_rate_limiter_rejects_a_zero_rate():
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)


# --- The address guard ---------------------------------------------------------------------------------------


def _resolver(answers: dict[str, list[str]]) -> Callable[..., list[tuple[object, ...]]]:
    def getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        if not answers.get(host):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        family = {True: socket.AF_INET6, False: socket.AF_INET}
        return [(family[":" in a], socket.SOCK_STREAM, 6, "", (a, port)) for a in answers[host]]

    return getaddrinfo


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("93.184.215.14", None),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", None),
        ("127.0.0.1", "a loopback address"),
        ("169.254.169.254", "a link-local address (the cloud metadata service among them)"),
        ("10.0.0.5", "a private address"),
        ("224.0.0.1", "a multicast address"),
        ("240.0.0.1", "a private address"),  # reserved, and listed among the private ranges
        ("0.0.0.0", "a private address"),  # noqa: S104 - the address under test, not one bound to
        ("100.64.0.1", "not a public address"),  # shared address space (carrier-grade NAT)
        ("::ffff:127.0.0.1", "a loopback address"),  # IPv4-mapped
        ("2002:a00:1::", "a private address"),  # 6to4 carrying 10.0.0.1
        ("64:ff9b::a9fe:a9fe", "a link-local address (the cloud metadata service among them)"),  # NAT64
        ("fd00::1", "a private address"),
    ],
)
def test_refusal_reason_names_what_is_not_public(address: str, reason: str | None) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) == reason


def test_public_addresses_checks_every_address_a_name_resolves_to(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        _resolver({"mixed.example.com": ["93.184.215.14", "10.1.2.3"], "public.example.com": ["93.184.215.14"] * 2}),
    )
    with pytest.raises(AddressRefusedError, match="this host is a private address") as refused:
        public_addresses(httpx.URL("https://mixed.example.com/x"))
    assert refused.value.reason == "a private address"
    assert public_addresses(httpx.URL("https://mixed.example.com/x"), allow_private=True) == [
        "93.184.215.14",
        "10.1.2.3",
    ]
    assert public_addresses(httpx.URL("https://public.example.com/x")) == ["93.184.215.14"]  # once each
    assert public_addresses(httpx.URL("http://93.184.215.14:8080/x")) == ["93.184.215.14"]  # no lookup
    with pytest.raises(HostNotResolvedError):
        public_addresses(httpx.URL("https://nowhere.example.com/x"))
    with pytest.raises(AddressRefusedError):
        public_addresses(httpx.URL("http://[::1]/x"))


def test_send_pinned_connects_to_a_checked_address_and_keeps_the_name() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "192.0.2.1":
            raise httpx.ConnectError("nothing listens there", request=request)
        return httpx.Response(302, headers={"Location": "https://elsewhere.example.com/"})

    url = httpx.URL("https://feed.example.com:8443/team.ics?t=1")
    with build_client(base_url="", transport=httpx.MockTransport(answer)) as client:
        response = send_pinned(client, url, ["192.0.2.1", "93.184.215.14"], headers={"Accept": "text/calendar"})
        response.close()
    assert response.status_code == 302  # redirects are the caller's to refuse, never followed
    assert [str(request.url) for request in seen] == [
        "https://192.0.2.1:8443/team.ics?t=1",
        "https://93.184.215.14:8443/team.ics?t=1",
    ]
    assert seen[1].headers["Host"] == "feed.example.com:8443"
    assert seen[1].headers["Accept"] == "text/calendar"
    assert seen[1].extensions["sni_hostname"] == "feed.example.com"


def test_send_pinned_leaves_an_address_literal_as_it_is() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    with build_client(base_url="", transport=httpx.MockTransport(answer)) as client:
        send_pinned(client, httpx.URL("http://[2606:2800:21f::1]/x"), ["2606:2800:21f::1"], headers={}).close()
    assert seen[0].headers["Host"] == "[2606:2800:21f::1]"
    assert "sni_hostname" not in seen[0].extensions
