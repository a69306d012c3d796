"""Rate limits stored in the shared cache (Redis in production), as fixed-window counters.

One INCR per request, pipelined with the window's expiry (one round trip), keeps the cost flat however high the
limit. If the cache is down, requests are let through with a warning (once a minute per process, not per
request): an outage of Redis must not take the API down with it.
"""

import hashlib
import math
import time
from typing import TYPE_CHECKING

import structlog
from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from apps.core.client_ip import client_ip
from apps.core.quiet_warnings import warn_once_a_minute

if TYPE_CHECKING:  # DRF imports throttles while defining APIView
    from rest_framework.views import APIView

logger = structlog.get_logger(__name__)


def _count(key: str, *, timeout: int) -> int:
    """Adds one to the window's counter and returns it. On Redis, INCR and EXPIRE NX go in one pipelined round trip
    (the first request of a window sets the expiry); other caches (local memory under `make run`) add then incr."""
    client = getattr(cache, "client", None)
    if client is not None and hasattr(client, "get_client"):  # django-redis
        full_key = cache.make_key(key)
        pipe = client.get_client(write=True).pipeline(transaction=False)
        pipe.incr(full_key)
        pipe.expire(full_key, timeout, nx=True)
        count, _ = pipe.execute()
        return int(count)
    cache.add(key, 0, timeout=timeout)
    return cache.incr(key)


class FixedWindowThrottle(BaseThrottle):
    scope = "default"

    def __init__(self) -> None:
        self.wait_seconds: float | None = None

    def limit(self) -> tuple[int, float]:
        """(requests allowed, window in seconds)."""
        raise NotImplementedError

    def identity(self, request: Request, view: "APIView") -> str | None:
        """Who is counted; None exempts the request from this throttle."""
        raise NotImplementedError

    def allow_request(self, request: Request, view: "APIView") -> bool:
        identity = self.identity(request, view)
        if identity is None:
            return True
        allowed, window = self.limit()
        now = time.time()
        window_index = int(now // window)
        digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
        key = f"throttle:{self.scope}:{digest}:{window_index}"
        try:
            count = _count(key, timeout=math.ceil(window) + 1)
        except Exception as exc:  # noqa: BLE001 - fail open, loudly
            warn_once_a_minute(logger, "throttle_unavailable", scope=self.scope, error=type(exc).__name__)
            return True
        if count > allowed:
            self.wait_seconds = (window_index + 1) * window - now
            return False
        return True

    def wait(self) -> float | None:
        return None if self.wait_seconds is None else math.ceil(self.wait_seconds)

    def get_ident(self, request: Request) -> str:
        """The client address the sign-in limits count too (apps.core.client_ip): the peer behind the trusted
        proxies, or the CF-Connecting-IP Cloudflare's edge names when the peer is that edge."""
        return client_ip(request)


class ClientRateThrottle(FixedWindowThrottle):
    """RATE_LIMIT_MAX requests per RATE_LIMIT_WINDOW ms, per user, or per client IP when anonymous."""

    scope = "client"

    def limit(self) -> tuple[int, float]:
        return settings.RATE_LIMIT_MAX, settings.RATE_LIMIT_WINDOW / 1000

    def identity(self, request: Request, view: "APIView") -> str | None:
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return f"ip:{self.get_ident(request)}"


class _AuthThrottle(FixedWindowThrottle):
    def limit(self) -> tuple[int, float]:
        return settings.AUTH_RATE_LIMIT_PER_MINUTE, 60.0


class AuthIpThrottle(_AuthThrottle):
    """Log-in and token endpoints: a few attempts a minute per client IP."""

    scope = "auth-ip"

    def identity(self, request: Request, view: "APIView") -> str | None:
        return f"ip:{self.get_ident(request)}"


class AuthAccountThrottle(_AuthThrottle):
    """Log-in: a few attempts a minute per account named in the body, from any number of IPs."""

    scope = "auth-account"

    def identity(self, request: Request, view: "APIView") -> str | None:
        data = request.data
        email = data.get("email") if hasattr(data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None
        return f"account:{email.strip().lower()}"
