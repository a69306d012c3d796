"""Reads that scale out: the read replica (DATABASE_REPLICA_URL) serves the reads that opt in, the primary the rest.

Opting in is explicit, never "every read": `@replica_reads()` on a view (or `with replica_reads():`) marks a
block of reads that may be a moment behind: the catalogue search, event pages, recommendations' candidates,
analytics results. Inside such a block `ReplicaRouter.db_for_read` answers "replica" only when all of these hold:
- a replica is configured and healthy (apps.core.replica_health: reachable, lag within
  DATABASE_REPLICA_MAX_LAG_SECONDS), otherwise the primary serves;
- the person has not just written (read-your-writes, below);
- no write happened earlier in the block, and no transaction is open on the primary (its rows are not on the
  replica yet).
Writes always go to the primary, and migrations run only there.

Read-your-writes. After a successful unsafe request (POST, PUT, PATCH, DELETE answered below 400),
ReadYourWritesMiddleware remembers the writer for DATABASE_REPLICA_STICKY_SECONDS in two ways, because neither
covers every client:
- a short-lived cookie (`wp_primary`, HttpOnly, holding its expiry time) for browsers, signed in or not: it
  follows the browser to its next page without any server state;
- a per-person key in the cache (Redis) for signed-in people, because API clients authenticate with a JWT and
  send no cookies; it also covers a person's other devices.
A block of replica reads checks both (one cache read, for signed-in people only) and stays on the primary while
either is there. Writes that nobody reads back at once (the tracking beacons every page sends) are marked
`@writes_nothing_read_back`, so they do not keep a browsing person on the primary.

Read-your-writes for shared data: once a change to the catalogue is committed (a sync's `events_changed`),
every block reads the primary until the replica has certainly replayed it (`shared_data_changed`), so the
anonymous answers cached under the catalogue's new version are never computed from older rows.

A read that fails on the replica (it stopped between two health checks) marks it down and runs the decorated view
again on the primary: the views that opt in only read, so running them twice is safe.
"""

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

from apps.core import replica_health
from apps.core.replica_health import REPLICA_ALIAS

logger = structlog.get_logger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

STICKY_COOKIE = "wp_primary"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NO_READ_BACK_ATTRIBUTE = "writes_nothing_read_back"


def replica_configured() -> bool:
    return REPLICA_ALIAS in settings.DATABASES


def sticky_key(user_id: object) -> str:
    return f"replica:wrote:{user_id}"


# --- Who has just written --------------------------------------------------------------------------------------

_request: ContextVar[HttpRequest | None] = ContextVar("replica_request", default=None)


def has_just_written(request: HttpRequest | None) -> bool:
    if request is None:
        return False
    expires = request.COOKIES.get(STICKY_COOKIE, "")
    with contextlib.suppress(ValueError):
        # A cookie kept past its time (a client that ignores Max-Age) no longer counts.
        if float(expires) > time.time():
            return True
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    try:
        return cache.get(sticky_key(user.pk)) is not None
    except Exception:  # noqa: BLE001 - without the cache we cannot tell: the primary is always right
        return True


V = TypeVar("V")


def writes_nothing_read_back(view: V) -> V:
    """Marks a view (function or class) whose writes nobody reads back at once: a successful call does not keep the
    caller on the primary."""
    setattr(view, NO_READ_BACK_ATTRIBUTE, True)
    return view


class ReadYourWritesMiddleware:
    """Makes the request known to replica_reads() blocks, and remembers who has just written (module docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _request.reset(token)
        wrote = request.method in UNSAFE_METHODS and response.status_code < 400
        if wrote and not getattr(request, "_no_read_back", False):
            remember_writer(request, response)
        return response

    def process_view(self, request: HttpRequest, view: Any, *_args: object) -> None:
        # DRF's and Django's as_view() functions carry their class as `cls` / `view_class`.
        target = getattr(view, "cls", None) or getattr(view, "view_class", None) or view
        if getattr(target, NO_READ_BACK_ATTRIBUTE, False):
            request._no_read_back = True  # type: ignore[attr-defined]


def remember_writer(request: HttpRequest, response: HttpResponse) -> None:
    seconds = settings.DATABASE_REPLICA_STICKY_SECONDS
    response.set_cookie(
        STICKY_COOKIE,
        f"{time.time() + seconds:.3f}",
        max_age=seconds,
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )
    # DRF sets the JWT's user on the Django request too, so API clients are known here.
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        try:
            cache.set(sticky_key(user.pk), 1, timeout=seconds)
        except Exception:  # noqa: BLE001 - the write succeeded; the cookie still covers browsers
            logger.warning("replica_sticky_key_not_stored", user_id=user.pk)


# --- Blocks of replica reads ------------------------------------------------------------------------------------


@dataclass
class _Scope:
    shared: bool  # data no request of a person writes (the catalogue): read-your-writes does not apply
    alias: str | None = None  # where this block reads, decided at its first read
    used_replica: bool = False


_scope: ContextVar[_Scope | None] = ContextVar("replica_scope", default=None)


class replica_reads:  # lower case: used like a function, `with replica_reads():` and `@replica_reads()`
    """Marks reads that may be served by the replica (module docstring). `shared=True` for reads of data that no
    person's own request writes (the catalogue a sync fills, popularity): they use the replica even for a person
    who has just written."""

    def __init__(self, *, shared: bool = False) -> None:
        self.shared = shared

    @contextlib.contextmanager
    def _block(self) -> Iterator[_Scope | None]:
        if not replica_configured():
            yield None
            return
        scope = _Scope(shared=self.shared)
        token = _scope.set(scope)
        try:
            yield scope
        finally:
            _scope.reset(token)

    def __enter__(self) -> None:
        self._blocks = getattr(self, "_blocks", [])
        block = self._block()
        block.__enter__()
        self._blocks.append(block)

    def __exit__(self, *exc_info: Any) -> None:
        self._blocks.pop().__exit__(*exc_info)

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        @wraps(func)
        def reading(*args: P.args, **kwargs: P.kwargs) -> R:
            with self._block() as scope:
                try:
                    return func(*args, **kwargs)
                except (OperationalError, InterfaceError) as exc:  # a lost or refused connection
                    if scope is None or not scope.used_replica:
                        raise
                    failure = f"read failed ({type(exc).__name__})"
            replica_health.mark_down(failure)
            with contextlib.suppress(Exception):
                connections[REPLICA_ALIAS].close()
            logger.warning("replica_read_failed_retrying_on_primary", view=getattr(func, "__qualname__", str(func)))
            return func(*args, **kwargs)

        return reading


def _choose(scope: _Scope) -> str:
    if not scope.shared and has_just_written(_request.get()):
        return DEFAULT_DB_ALIAS
    if not replica_health.replica_health().usable:
        return DEFAULT_DB_ALIAS
    if _shared_data_just_changed():
        return DEFAULT_DB_ALIAS
    return REPLICA_ALIAS


# --- Shared data just changed --------------------------------------------------------------------------------
# Read-your-writes for what everyone reads: after a sync changed the catalogue, answers cached under its new
# version must not be computed from a replica that has not replayed the change yet. Until the replica has
# certainly replayed it (a replica further behind than DATABASE_REPLICA_MAX_LAG_SECONDS is not used, and its
# lag is known to within DATABASE_REPLICA_CHECK_SECONDS), every block of replica reads uses the primary.
PRIMARY_UNTIL_KEY = "replica:primary-until"


def shared_data_changed() -> None:
    """Called once a change to shared data is committed (apps.events.public_cache, on `events_changed`)."""
    if not replica_configured():
        return
    seconds = settings.DATABASE_REPLICA_MAX_LAG_SECONDS + settings.DATABASE_REPLICA_CHECK_SECONDS
    try:
        cache.set(PRIMARY_UNTIL_KEY, time.time() + seconds, timeout=math.ceil(seconds) + 1)
    except Exception:  # noqa: BLE001 - then the blocks cannot read the mark either, and use the primary
        logger.warning("replica_primary_until_not_stored")


def _shared_data_just_changed() -> bool:
    try:
        until = cache.get(PRIMARY_UNTIL_KEY)
    except Exception:  # noqa: BLE001 - unknown: the primary is never stale
        return True
    return until is not None and float(until) > time.time()


class ReplicaRouter:
    """Installed by planner/settings.py when DATABASE_REPLICA_URL is set."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        scope = _scope.get()
        if scope is None:
            return None  # the default: the primary
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS  # rows this transaction wrote exist only on the primary, and only for it
        if scope.alias is None:
            # Deciding can read (the session's user, to find their key): those reads go to the primary.
            scope.alias = DEFAULT_DB_ALIAS
            scope.alias = _choose(scope)
        scope.used_replica = scope.used_replica or scope.alias == REPLICA_ALIAS
        return scope.alias

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        scope = _scope.get()
        if scope is not None:
            scope.alias = DEFAULT_DB_ALIAS  # the rest of the block reads what it just wrote
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        return True  # one database, two copies of it

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS
