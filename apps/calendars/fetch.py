"""Fetching a subscribed calendar's URL: what a subscription URL is, and its body as the server gives it.

Every fetch goes through the address guard of `apps.core.http` (`public_addresses`, `send_pinned`): the host is
resolved and checked on every attempt and the request connects to an address that passed. The guard's refusals
are said in a subscription's words here. `settings.CALENDAR_SUBSCRIPTIONS_ALLOW_PRIVATE` (default False) turns
the guard off, for tests that serve feeds from 127.0.0.1.

A fetch is a conditional GET (If-None-Match from the stored ETag, If-Modified-Since from the stored
Last-Modified): 304 is `Fetched.not_modified`. Redirects are not followed (a redirect could lead anywhere the
guard never saw); a 3xx is a FetchError asking for the final URL. The fetch has timeouts, retries, an overall
deadline and a 10 MB cap counted while streaming.
"""

import time
from dataclasses import dataclass
from functools import partial

import httpx
from django.conf import settings

from apps.core import http
from apps.core.http import ProviderError, RetryPolicy, build_client, call_with_retries, check_response
from apps.core.icalendar import MAX_FEED_BYTES

MAX_URL_LENGTH = 2000
FETCH_TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=20.0, pool=5.0)
# However slowly a server trickles its bytes, a fetch ends after this long.
FETCH_DEADLINE_SECONDS = 120.0
FETCH_POLICY = RetryPolicy(attempts=3, base_delay=1.0, max_backoff=10.0, max_wait=30.0)


class SubscriptionError(ValueError):
    """A subscription cannot be made or fetched as asked; `field` names the input at fault."""

    field = "url"


class AddressRefusedError(SubscriptionError):
    """The URL's host is, or resolves to, an address the guard refuses."""


class FetchError(ProviderError):
    """The feed answered, but not with something we take (a redirect, another status, too large, too slow)."""


@dataclass(frozen=True)
class Fetched:
    not_modified: bool
    body: bytes = b""
    etag: str = ""
    last_modified: str = ""


def normalize_url(url: str) -> httpx.URL:
    """The URL as it is stored and fetched: webcal(s) becomes https, only http(s) is taken, no fragment."""
    text = (url or "").strip()
    if not text:
        raise SubscriptionError("Enter the calendar's URL.")
    if len(text) > MAX_URL_LENGTH:
        raise SubscriptionError(f"A calendar URL is at most {MAX_URL_LENGTH} characters.")
    lowered = text.lower()
    for prefix in ("webcal://", "webcals://"):
        if lowered.startswith(prefix):
            text = "https://" + text[len(prefix) :]
            break
    try:
        parsed = httpx.URL(text)
    except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
        raise SubscriptionError("This is not a valid URL.") from exc
    if parsed.scheme not in ("http", "https"):
        raise SubscriptionError("Use an http, https or webcal URL.")
    if not parsed.host:
        raise SubscriptionError("The URL has no host.")
    return parsed.copy_with(fragment=None)


def checked_addresses(url: httpx.URL) -> list[str]:
    """The addresses the URL's host stands for, each passed by the guard. Raises `AddressRefusedError`, or
    `SubscriptionError` when the name does not resolve."""
    allow_private = bool(getattr(settings, "CALENDAR_SUBSCRIPTIONS_ALLOW_PRIVATE", False))
    try:
        return http.public_addresses(url, allow_private=allow_private)
    except http.AddressRefusedError as exc:
        if exc.reason is None:
            raise AddressRefusedError("The calendar's host resolves to an unreadable address.") from exc
        raise AddressRefusedError(
            f"Calendars are only fetched from public addresses; this host is {exc.reason}."
        ) from exc
    except http.HostNotResolvedError as exc:
        raise SubscriptionError("The calendar's host name cannot be resolved.") from exc


def subscribable_url(url: str) -> httpx.URL:
    """The URL as it is stored (normalize_url), once the guard passed it. A name that does not resolve just now
    (DNS trouble, a name not yet published) is taken: every fetch runs the guard again before connecting."""
    normalized = normalize_url(url)
    try:
        checked_addresses(normalized)
    except AddressRefusedError:
        raise
    except SubscriptionError:
        pass
    return normalized


def fetch(
    url: httpx.URL,
    *,
    etag: str = "",
    last_modified: str = "",
    transport: httpx.BaseTransport | None = None,
    timeout: httpx.Timeout = FETCH_TIMEOUT,
    policy: RetryPolicy = FETCH_POLICY,
    max_bytes: int = MAX_FEED_BYTES,
    deadline_seconds: float = FETCH_DEADLINE_SECONDS,
) -> Fetched:
    """The calendar at `url`, unless it is unchanged since `etag` / `last_modified`. Raises SubscriptionError
    (the guard), FetchError and what `call_with_retries` raises once the retries are spent."""
    headers = {"Accept": "text/calendar, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    with build_client(base_url="", timeout=timeout, transport=transport) as client:
        attempt = partial(_download, client, url, headers, max_bytes=max_bytes, deadline_seconds=deadline_seconds)
        return call_with_retries(attempt, policy=policy, name="calendar subscription")


def _download(
    client: httpx.Client, url: httpx.URL, headers: dict[str, str], *, max_bytes: int, deadline_seconds: float
) -> Fetched:
    """One attempt: resolve and check the host, connect to a checked address, stream the body under the cap."""
    addresses = checked_addresses(url)
    too_large = f"The calendar is larger than {_size(max_bytes)}."
    started = time.monotonic()
    response = http.send_pinned(client, url, addresses, headers=headers)
    try:
        check_response(response)
        status = response.status_code
        validators = {
            "etag": response.headers.get("ETag", ""),
            "last_modified": response.headers.get("Last-Modified", ""),
        }
        if status == 304:
            return Fetched(not_modified=True, **validators)
        if 300 <= status < 400:
            raise FetchError(
                f"The calendar URL redirects (HTTP {status}); redirects are not followed, subscribe to the final URL."
            )
        if status != 200:
            raise FetchError(f"The calendar server answered HTTP {status}.")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise FetchError(too_large)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise FetchError(too_large)
            if time.monotonic() - started > deadline_seconds:
                raise FetchError(f"The calendar took longer than {deadline_seconds:.0f} s to download.")
            chunks.append(chunk)
        return Fetched(not_modified=False, body=b"".join(chunks), **validators)
    finally:
        response.close()


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit} bytes"
