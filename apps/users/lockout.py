"""Sign-in limits against credential stuffing: what is counted, under which keys, and for how long.

Failed sign-ins are counted per account key and per client address, for the browser login (allauth, through
apps.users.adapter) and the API token endpoint alike; the counting itself is in apps.users.services
(`sign_in_begin`, `sign_in_failed`, `sign_in_succeeded`). This module holds what they share: the limits, the
keys and the clock.

- The account key is the lower-cased email, whether or not such an account exists: an unknown email is
  counted and locked exactly like a known one, so no answer tells them apart.
- The client address is apps.core.client_ip's, the one the API throttles count too: REMOTE_ADDR, or the
  X-Forwarded-For entry added by the outermost of the TRUSTED_PROXY_COUNT proxies (never an entry the client
  wrote itself), or, when that peer is Cloudflare's edge (CLOUDFLARE_TRUSTED), the CF-Connecting-IP it names.
  An IPv6 client is counted by its /64, which one subscriber usually holds whole.
- A lock stores the moment it ends and is compared with Django's clock, so tests can move time past it;
  the cache's own expiry only cleans up.
"""

import ipaddress
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac

from apps.core.client_ip import client_ip

ADDRESS_WINDOW_SECONDS = 3600


@dataclass(frozen=True)
class Limits:
    threshold: int  # failures per account key within window_seconds that lock it; 0 turns the lock off
    window_seconds: int
    lock_seconds: int
    address_limit: int  # failures per client address within an hour; 0 turns the limit off


def limits() -> Limits:
    """Read at every attempt, so a changed setting applies at once."""
    return Limits(
        threshold=settings.LOGIN_LOCKOUT_THRESHOLD,
        window_seconds=max(1, settings.LOGIN_LOCKOUT_WINDOW_SECONDS),
        lock_seconds=max(1, settings.LOGIN_LOCKOUT_SECONDS),
        address_limit=settings.LOGIN_ADDRESS_LIMIT_PER_HOUR,
    )


def now() -> float:
    return timezone.now().timestamp()


def account_key(email: str) -> str:
    return email.strip().lower()


def client_address(request: HttpRequest) -> str:
    return _address_bucket(client_ip(request))


def _address_bucket(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # not an address (a misconfigured proxy): still counted, as written
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def _digest(kind: str, value: str) -> str:
    # Keyed, so that the cache holds no email address, nor anything a dictionary would turn back into one.
    return salted_hmac("apps.users.lockout", f"{kind}:{value}").hexdigest()[:32]


def account_failures_key(account: str, *, at: float, window_seconds: int) -> str:
    return f"signin:failures:account:{_digest('account', account)}:{int(at // window_seconds)}"


def account_lock_key(account: str) -> str:
    return f"signin:lock:account:{_digest('account', account)}"


def address_failures_key(address: str, *, at: float) -> str:
    return f"signin:failures:address:{_digest('address', address)}:{int(at // ADDRESS_WINDOW_SECONDS)}"


def address_window_end(*, at: float) -> float:
    return (int(at // ADDRESS_WINDOW_SECONDS) + 1) * ADDRESS_WINDOW_SECONDS
