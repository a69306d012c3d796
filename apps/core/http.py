"""The outbound HTTP client every integration uses: explicit timeouts, bounded retries, polite pacing.

`build_client` makes an `httpx.Client` that never waits forever. `call_with_retries` runs one provider
call with exponential backoff and full jitter, honouring the provider's own `Retry-After` (or reset)
signal, but never sleeps longer than `max_wait`: a longer wait becomes `RetryLaterError`, so a sync
task can checkpoint and be rescheduled instead of holding a worker. `RateLimiter` paces requests per key.

A provider call is a plain function that sends a request and returns its result; it signals "try again"
by raising `RetryableError` (usually through `check_response`). Sleeping and the clock are injectable
so that tests never wait.

A URL someone typed in (a calendar subscription) is a server-side request on their behalf, so it goes through
the address guard: `public_addresses` resolves the host and refuses it unless EVERY address is public (not
private, loopback, link-local such as the cloud metadata service 169.254.169.254, multicast, reserved or
unspecified, IPv4 written inside IPv6 included), and `send_pinned` then connects to an address that passed,
keeping the name for Host and for TLS (SNI and the certificate), so a name that re-resolves to a private address
between the check and the connection (DNS rebinding) is not followed. Behind an HTTP proxy taken from the
environment the proxy makes the connection, to the checked address since the URL carries it.
"""

import email.utils
import ipaddress
import logging
import math
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
import structlog
import tenacity

from apps.core.redaction import redact_text

logger = structlog.get_logger(__name__)

# httpx logs every request URL at INFO, and some providers (Google Geocoding) take the key in the query.
logging.getLogger("httpx").setLevel(logging.WARNING)

T = TypeVar("T")
Sleep = Callable[[float], None]
Clock = Callable[[], float]

# Connecting is quick or it is not happening; a provider may take a while to compute an answer.
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=20.0, pool=5.0)
USER_AGENT = "weekend-planner/1.0"


class ProviderError(Exception):
    """An outbound integration failed; the base of everything this module raises.

    Its message ends up in logs, SyncRun.error and the admin, and is often built from a provider's answer or
    an httpx error, which can repeat the request URL with its `apikey=`: it is redacted when it is made.
    """

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(redact_text(str(message)), *args)


class CredentialsRejectedError(ProviderError):
    """The provider refused our credentials (401/403 or its own equivalent). Retrying cannot help."""

    def __init__(self, message: str = "credentials rejected", *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class ProviderUnavailableError(ProviderError):
    """The provider kept failing (5xx, 429, timeouts, broken bodies) until the retries ran out."""


class RetryLaterError(ProviderUnavailableError):
    """The provider asked us to wait longer than we are willing to sleep in-process.

    The caller should checkpoint and try again after `retry_after_seconds`.
    """

    def __init__(self, retry_after_seconds: float) -> None:
        super().__init__(f"provider asks to retry in {retry_after_seconds:.0f} s")
        self.retry_after_seconds = retry_after_seconds


class RetryableError(ProviderError):
    """Raised by a provider call to say "this attempt failed, another may succeed".

    `retry_after` is the provider's own hint in seconds, when it gave one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. `attempts` counts the first try; backoff waits are full-jitter exponential:
    uniform(0, min(max_backoff, base_delay * 2**n))."""

    attempts: int = 4
    base_delay: float = 0.5
    max_backoff: float = 20.0
    max_wait: float = 60.0
    sleep: Sleep = field(default=time.sleep, compare=False)
    clock: Clock = field(default=time.time, compare=False)


DEFAULT_POLICY = RetryPolicy()


def build_client(
    *,
    base_url: str,
    headers: Mapping[str, str] | None = None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """An httpx client for one provider. `transport` lets tests answer at the network boundary."""
    return httpx.Client(
        base_url=base_url,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        timeout=timeout,
        transport=transport,
        # A provider that redirects is misconfigured; following could leak the key to another host.
        follow_redirects=False,
    )


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date. None if absent or garbled."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:  # HTTP dates are GMT; an obsolete format may parse as naive
            return None
        seconds = moment.timestamp() - now
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def parse_reset_epoch_ms(value: str | None, *, now: float) -> float | None:
    """Seconds until a provider's reset time given in epoch milliseconds (Ticketmaster `Rate-Limit-Reset`)."""
    if value is None:
        return None
    try:
        reset_ms = float(value.strip())
    except ValueError:
        return None
    if math.isnan(reset_ms) or math.isinf(reset_ms):
        return None
    return max(0.0, reset_ms / 1000 - now)


def retry_hint(response: httpx.Response, *, now: float, reset_header: str | None = None) -> float | None:
    """The provider's own "wait this long" signal: `Retry-After` first, else its reset header."""
    hint = parse_retry_after(response.headers.get("Retry-After"), now=now)
    if hint is None and reset_header is not None:
        hint = parse_reset_epoch_ms(response.headers.get(reset_header), now=now)
    return hint


def check_response(
    response: httpx.Response, *, reset_header: str | None = None, clock: Clock = time.time
) -> httpx.Response:
    """Raise for what the retry loop must act on; return every other response to the caller.

    401/403 raise `CredentialsRejectedError`; 429 and 5xx raise `RetryableError` carrying the provider's
    wait hint. Other statuses (2xx, 404, 400...) are the caller's to interpret.
    """
    status = response.status_code
    if status in (401, 403):
        raise CredentialsRejectedError(f"{response.request.url.host} answered {status}", status_code=status)
    if status == 429 or status >= 500:
        hint = retry_hint(response, now=clock(), reset_header=reset_header)
        raise RetryableError(f"{response.request.url.host} answered {status}", retry_after=hint)
    return response


def call_with_retries(call: Callable[[], T], *, policy: RetryPolicy = DEFAULT_POLICY, name: str = "provider") -> T:
    """Run `call`, retrying on `RetryableError` and httpx transport errors (timeouts included).

    Raises `RetryLaterError` as soon as the provider asks for a wait longer than `policy.max_wait`, or
    when the retries run out after it asked for any wait; otherwise `ProviderUnavailableError` once the
    attempts are spent. Any other exception (`CredentialsRejectedError` among them) passes straight through.
    """

    def attempt() -> T:
        try:
            return call()
        except RetryableError as exc:
            if exc.retry_after is not None and exc.retry_after > policy.max_wait:
                raise RetryLaterError(exc.retry_after) from exc
            raise

    backoff = tenacity.wait_random_exponential(multiplier=policy.base_delay, max=policy.max_backoff)

    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetryableError) and error.retry_after is not None:
            return error.retry_after  # the provider knows best; already at most max_wait
        return min(backoff(state), policy.max_wait)

    def log_retry(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        logger.warning(
            "provider_retry",
            provider=name,
            attempt=state.attempt_number,
            error=str(error) or type(error).__name__,
            wait_seconds=round(state.upcoming_sleep, 3),
        )

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max(1, policy.attempts)),
        wait=wait,
        retry=tenacity.retry_if_exception_type((RetryableError, httpx.TransportError)),
        sleep=policy.sleep,
        before_sleep=log_retry,
    )
    try:
        return retrying(attempt)
    except tenacity.RetryError as exhausted:
        last = exhausted.last_attempt.exception()
        if isinstance(last, RetryableError) and last.retry_after is not None:
            raise RetryLaterError(last.retry_after) from last
        raise ProviderUnavailableError(f"{name} failed after {policy.attempts} attempts: {last}") from last


class RateLimiter:
    """At most `rate_per_second` requests per key, evenly spaced; process-local and thread-safe.

    Each caller reserves the next free slot under the lock and sleeps outside it, so concurrent callers
    queue up behind each other instead of all waking at once. Sleeps only as long as needed.
    """

    def __init__(self, rate_per_second: float, *, sleep: Sleep = time.sleep, clock: Clock = time.monotonic) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        self.interval = 1.0 / rate_per_second
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._next_slot: dict[str, float] = {}

    def acquire(self, key: str = "default") -> float:
        """Wait for this key's next slot; returns the seconds slept."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot.get(key, now))
            self._next_slot[key] = slot + self.interval
        delay = slot - now
        if delay > 0:
            self._sleep(delay)
        return delay


# --- The address guard -------------------------------------------------------------------------------------

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


class AddressRefusedError(ProviderError):
    """The URL's host is, or resolves to, an address the guard refuses. `reason` names the kind of address
    ("a private address"), or is None when the resolver answered something that is not an address."""

    def __init__(self, reason: str | None) -> None:
        if reason is None:
            super().__init__("The host resolves to an unreadable address.")
        else:
            super().__init__(f"Only public addresses are fetched; this host is {reason}.")
        self.reason = reason


class HostNotResolvedError(ProviderError):
    """The URL's host name does not resolve (yet)."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo client, NAT64, IPv4-compatible), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal_reason(address: IPAddress) -> str | None:
    """Why the guard refuses to fetch from `address`, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = refusal_reason(embedded)
            if reason:
                return reason
    checks = (
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address (the cloud metadata service among them)"),
        (address.is_private, "a private address"),
        (address.is_multicast, "a multicast address"),
        (address.is_reserved, "a reserved address"),
        (address.is_unspecified, "an unspecified address"),
        (not address.is_global, "not a public address"),
    )
    return next((reason for refused, reason in checks if refused), None)


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def public_addresses(url: httpx.URL, *, allow_private: bool = False) -> list[str]:
    """The addresses the URL's host stands for, every one of them checked by the guard (none, with
    `allow_private`, for tests that serve from 127.0.0.1). Raises `AddressRefusedError`, or
    `HostNotResolvedError` when the name does not resolve."""
    literal = _ip_literal(url.host)
    if literal is not None:
        candidates: list[IPAddress] = [literal]
    else:
        port = url.port or (443 if url.scheme == "https" else 80)
        try:  # the IDNA-encoded name, as it goes on the wire
            infos = socket.getaddrinfo(url.raw_host.decode("ascii"), port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
            raise HostNotResolvedError("The host name cannot be resolved.") from exc
        candidates = []
        for info in infos:
            try:
                candidates.append(ipaddress.ip_address(str(info[4][0])))
            except ValueError as exc:
                raise AddressRefusedError(None) from exc
    if not candidates:
        raise HostNotResolvedError("The host name cannot be resolved.")
    if not allow_private:
        for candidate in candidates:
            reason = refusal_reason(candidate)
            if reason:
                raise AddressRefusedError(reason)
    return list(dict.fromkeys(str(candidate) for candidate in candidates))


def _host_header(url: httpx.URL) -> str:
    host = url.raw_host.decode("ascii")
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{url.port}" if url.port is not None else host


def send_pinned(
    client: httpx.Client, url: httpx.URL, addresses: list[str], *, headers: Mapping[str, str]
) -> httpx.Response:
    """GETs `url` from the first of `addresses` (what `public_addresses` passed for it) that takes the
    connection, with the URL's name kept in Host and for TLS; redirects are not followed. The response is
    streamed: the caller reads and closes it."""
    is_literal = _ip_literal(url.host) is not None
    last_error: httpx.ConnectError | None = None
    for address in addresses:
        target, extensions, request_headers = url, {}, dict(headers)
        if not is_literal:
            # Connect to the address that was checked, not to whatever the name resolves to a moment later.
            target = url.copy_with(host=address)
            request_headers["Host"] = _host_header(url)
            if url.scheme == "https":
                extensions["sni_hostname"] = url.raw_host.decode("ascii")  # SNI and the certificate's name
        request = client.build_request("GET", target, headers=request_headers, extensions=extensions)
        try:
            return client.send(request, stream=True, follow_redirects=False)
        except httpx.ConnectError as exc:
            last_error = exc
    if last_error is None:
        raise HostNotResolvedError("The host name cannot be resolved.")
    raise last_error
