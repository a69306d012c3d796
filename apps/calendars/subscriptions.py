"""Calendar subscriptions: an iCalendar URL that a Celery task (tasks.sync_subscription, `sync` queue)
refreshes into a calendar.

Fetching a URL someone typed in is a server-side request on their behalf, so the address guard refuses
every host that is not public: private, loopback, link-local (169.254.169.254, the cloud metadata service,
among them), multicast, reserved and unspecified addresses, IPv4 written inside IPv6 included. A host name
is resolved with `socket.getaddrinfo` and EVERY address it resolves to must pass. The guard runs when the
subscription is made (a name that does not resolve yet is taken, and refused at the refresh until it resolves
to a public address) and again on every refresh, and the request then connects to an address that passed
(the URL's host is swapped for the checked IP; Host and the TLS SNI/certificate check keep the name), so a
name that re-resolves to a private address between the check and the connect (DNS rebinding) is not
followed. `settings.CALENDAR_SUBSCRIPTIONS_ALLOW_PRIVATE` (default False) turns the guard off, for tests
that serve feeds from 127.0.0.1.

A refresh is a conditional GET (If-None-Match from the stored ETag, If-Modified-Since from the stored
Last-Modified): 304 changes nothing. Redirects are not followed (a redirect could lead anywhere the guard
never saw); a 3xx is recorded as an error asking for the final URL. The fetch has timeouts, an overall
deadline and a 10 MB cap counted while streaming. The body is imported with `services.plans_import`, keyed
by UID, so running a refresh twice leaves the same plans. The outcome is recorded on the subscription:
`last_fetched_at` is the last attempt (successful or not, so a failing feed waits its interval like any
other) and `last_error` says why it failed, or is empty.

Limitations: entries removed from the feed stay in the calendar (plans do not record which subscription
brought them); behind an HTTP proxy taken from the environment the proxy makes the connection (to the
checked IP, since the URL carries it).
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import httpx
import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.db.models.fields import CharField
from django.http import Http404

from apps.calendars import services
from apps.calendars.ical import IcsParseError
from apps.calendars.models import Calendar, Subscription
from apps.core.http import ProviderError, RetryPolicy, build_client, call_with_retries, check_response
from apps.core.redaction import redact_text
from apps.users.models import User

logger = structlog.get_logger(__name__)

MAX_URL_LENGTH = 2000
MAX_FEED_BYTES = 10 * 1024 * 1024
MAX_SUBSCRIPTIONS_PER_CALENDAR = 50
FETCH_TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=20.0, pool=5.0)
# However slowly a server trickles its bytes, a fetch ends after this long.
FETCH_DEADLINE_SECONDS = 120.0
FETCH_POLICY = RetryPolicy(attempts=3, base_delay=1.0, max_backoff=10.0, max_wait=30.0)
MAX_ERROR_LENGTH = 1000

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


class SubscriptionError(ValueError):
    """A subscription cannot be made or fetched as asked; `field` names the input at fault."""

    field = "url"


class AddressRefusedError(SubscriptionError):
    """The URL's host is, or resolves to, an address the guard refuses."""


class SubscriptionConflict(SubscriptionError):
    """The calendar already subscribes to the URL, or has as many subscriptions as it may."""


class FetchError(ProviderError):
    """The feed answered, but not with something we take (a redirect, another status, too large, too slow)."""


# --- The address guard ---------------------------------------------------------------------------------------


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


def _allow_private() -> bool:
    return bool(getattr(settings, "CALENDAR_SUBSCRIPTIONS_ALLOW_PRIVATE", False))


def checked_addresses(url: httpx.URL) -> list[str]:
    """The addresses the URL's host stands for, every one of them checked by the guard (unless the setting
    allows private addresses). Raises `AddressRefusedError`, or `SubscriptionError` when the name does not
    resolve."""
    host = url.host
    literal = _ip_literal(host)
    if literal is not None:
        candidates: list[IPAddress] = [literal]
    else:
        port = url.port or (443 if url.scheme == "https" else 80)
        try:  # the IDNA-encoded name, as it goes on the wire
            infos = socket.getaddrinfo(url.raw_host.decode("ascii"), port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
            raise SubscriptionError("The calendar's host name cannot be resolved.") from exc
        candidates = []
        for info in infos:
            try:
                candidates.append(ipaddress.ip_address(str(info[4][0])))
            except ValueError as exc:
                raise AddressRefusedError("The calendar's host resolves to an unreadable address.") from exc
    if not candidates:
        raise SubscriptionError("The calendar's host name cannot be resolved.")
    if not _allow_private():
        for candidate in candidates:
            reason = refusal_reason(candidate)
            if reason:
                raise AddressRefusedError(f"Calendars are only fetched from public addresses; this host is {reason}.")
    return list(dict.fromkeys(str(candidate) for candidate in candidates))


# --- Reads, always through the owner -------------------------------------------------------------------------


def subscriptions_of(*, calendar: Calendar) -> QuerySet[Subscription]:
    return Subscription.objects.filter(calendar=calendar).order_by("created_at", "pk")


def subscription_of(*, owner: User, calendar_id: int, subscription_id: int) -> Subscription:
    subscription = Subscription.objects.filter(
        calendar__owner=owner, calendar_id=calendar_id, pk=subscription_id
    ).first()
    if subscription is None:
        raise Http404("No such subscription.")
    return subscription


def subscriptions_due(*, now: datetime | None = None) -> list[int]:
    """Subscriptions never fetched, or whose interval has passed since the last attempt.

    One condition per distinct interval (there are few), so the query is the same on PostgreSQL and SQLite.
    """
    now = now or datetime.now(UTC)
    due = Q(last_fetched_at__isnull=True)
    for minutes in Subscription.objects.values_list("interval_minutes", flat=True).distinct().order_by():
        due |= Q(interval_minutes=minutes, last_fetched_at__lte=now - timedelta(minutes=minutes))
    return list(Subscription.objects.filter(due).order_by("last_fetched_at", "pk").values_list("pk", flat=True))


# --- Writes ----------------------------------------------------------------------------------------------------


def subscription_create(*, calendar: Calendar, url: str) -> Subscription:
    """Subscribes a calendar to a URL after the address guard passed it. The first refresh is the caller's to
    enqueue (on commit)."""
    normalized = normalize_url(url)
    try:
        checked_addresses(normalized)
    except AddressRefusedError:
        raise
    except SubscriptionError:
        # A name that does not resolve just now (DNS trouble, a name not yet published) is taken: every refresh
        # runs the guard again before connecting, and records the failure in last_error until it resolves.
        pass
    text = str(normalized)
    url_hash = Subscription.hash_url(text)
    if Subscription.objects.filter(calendar=calendar, url_hash=url_hash).exists():
        raise SubscriptionConflict("This calendar already subscribes to that URL.")
    if Subscription.objects.filter(calendar=calendar).count() >= MAX_SUBSCRIPTIONS_PER_CALENDAR:
        raise SubscriptionConflict(f"A calendar has at most {MAX_SUBSCRIPTIONS_PER_CALENDAR} subscriptions.")
    try:
        with transaction.atomic():
            return Subscription.objects.create(calendar=calendar, url=text)
    except IntegrityError as exc:  # the same URL subscribed concurrently
        raise SubscriptionConflict("This calendar already subscribes to that URL.") from exc


def subscription_delete(*, subscription: Subscription) -> None:
    subscription.delete()


# --- Refreshing ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefreshResult:
    """`status`: "imported", "not_modified", "failed" (see `error`) or "gone" (the subscription was deleted)."""

    status: str
    created: int = 0
    updated: int = 0
    refused: int = 0
    error: str = ""


@dataclass(frozen=True)
class _Fetched:
    not_modified: bool
    body: bytes = b""
    etag: str = ""
    last_modified: str = ""


def _host_header(url: httpx.URL) -> str:
    host = url.raw_host.decode("ascii")
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{url.port}" if url.port is not None else host


def _download(
    client: httpx.Client,
    url: httpx.URL,
    headers: dict[str, str],
    *,
    max_bytes: int,
    deadline_seconds: float,
) -> _Fetched:
    """One attempt: resolve and check the host, connect to a checked address, stream the body under the cap."""
    addresses = checked_addresses(url)
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
        try:
            return _stream(client, target, request_headers, extensions, max_bytes, deadline_seconds)
        except httpx.ConnectError as exc:
            last_error = exc
    assert last_error is not None
    raise last_error


def _stream(
    client: httpx.Client,
    target: httpx.URL,
    headers: dict[str, str],
    extensions: dict[str, str],
    max_bytes: int,
    deadline_seconds: float,
) -> _Fetched:
    too_large = f"The calendar is larger than {_size(max_bytes)}."
    started = time.monotonic()
    request = client.build_request("GET", target, headers=headers, extensions=extensions)
    response = client.send(request, stream=True, follow_redirects=False)
    try:
        check_response(response)
        status = response.status_code
        if status == 304:
            return _Fetched(
                not_modified=True,
                etag=response.headers.get("ETag", ""),
                last_modified=response.headers.get("Last-Modified", ""),
            )
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
        return _Fetched(
            not_modified=False,
            body=b"".join(chunks),
            etag=response.headers.get("ETag", ""),
            last_modified=response.headers.get("Last-Modified", ""),
        )
    finally:
        response.close()


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit} bytes"


def _conditional_headers(subscription: Subscription) -> dict[str, str]:
    headers = {"Accept": "text/calendar, */*;q=0.5"}
    if subscription.etag:
        headers["If-None-Match"] = subscription.etag
    if subscription.last_modified:
        headers["If-Modified-Since"] = subscription.last_modified
    return headers


def _fits(value: str, field_name: str) -> str:
    """A validator too long to store is dropped rather than cut: a cut ETag would never match."""
    column = Subscription._meta.get_field(field_name)
    assert isinstance(column, CharField)
    return value if len(value) <= (column.max_length or 0) else ""


def _failed(subscription_id: int, message: str, *, url: str) -> RefreshResult:
    # The URL of a private calendar is its secret: an error that repeats it (a server's error page, an
    # exception naming the request) must not store or log it, since last_error is shown in the admin.
    message = redact_text(message, also=[url])[:MAX_ERROR_LENGTH]
    Subscription.objects.filter(pk=subscription_id).update(last_error=message, last_fetched_at=datetime.now(UTC))
    logger.info("subscription_refresh_failed", subscription_id=subscription_id, error=message)
    return RefreshResult(status="failed", error=message)


def subscription_refresh(
    *,
    subscription_id: int,
    transport: httpx.BaseTransport | None = None,
    timeout: httpx.Timeout = FETCH_TIMEOUT,
    policy: RetryPolicy = FETCH_POLICY,
    max_bytes: int = MAX_FEED_BYTES,
    deadline_seconds: float = FETCH_DEADLINE_SECONDS,
) -> RefreshResult:
    """Fetches the subscription's URL (conditionally) and imports it into its calendar. Never raises for what
    the feed did: the outcome is recorded on the subscription and returned. Safe to run twice, or at once."""
    subscription = Subscription.objects.filter(pk=subscription_id).first()
    if subscription is None:
        return RefreshResult(status="gone")
    try:
        url = normalize_url(subscription.url)
        with build_client(base_url="", timeout=timeout, transport=transport) as client:
            fetched = call_with_retries(
                partial(
                    _download,
                    client,
                    url,
                    _conditional_headers(subscription),
                    max_bytes=max_bytes,
                    deadline_seconds=deadline_seconds,
                ),
                policy=policy,
                name="calendar subscription",
            )
    except (SubscriptionError, ProviderError, httpx.HTTPError, httpx.InvalidURL) as exc:
        return _failed(subscription_id, str(exc) or type(exc).__name__, url=subscription.url)

    now = datetime.now(UTC)
    if fetched.not_modified:
        changes: dict[str, object] = {"last_fetched_at": now, "last_error": ""}
        if fetched.etag:
            changes["etag"] = _fits(fetched.etag, "etag")
        if fetched.last_modified:
            changes["last_modified"] = _fits(fetched.last_modified, "last_modified")
        if not Subscription.objects.filter(pk=subscription_id).update(**changes):
            return RefreshResult(status="gone")
        logger.info("subscription_not_modified", subscription_id=subscription_id)
        return RefreshResult(status="not_modified")

    try:
        with transaction.atomic():
            # Concurrent refreshes of one subscription import one after the other, so UIDs never collide.
            locked = (
                Subscription.objects.select_for_update(of=("self",))
                .select_related("calendar")
                .filter(pk=subscription_id)
                .first()
            )
            if locked is None:
                return RefreshResult(status="gone")
            imported = services.plans_import(calendar=locked.calendar, data=fetched.body)
            Subscription.objects.filter(pk=subscription_id).update(
                etag=_fits(fetched.etag, "etag"),
                last_modified=_fits(fetched.last_modified, "last_modified"),
                last_fetched_at=now,
                last_error="",
            )
    except IcsParseError as exc:
        return _failed(subscription_id, f"Not a readable iCalendar file: {exc}", url=subscription.url)
    logger.info(
        "subscription_imported",
        subscription_id=subscription_id,
        created=imported.created,
        updated=imported.updated,
        refused=len(imported.refused),
    )
    return RefreshResult(
        status="imported", created=imported.created, updated=imported.updated, refused=len(imported.refused)
    )
