"""Is the read replica fit to serve reads? Its replay lag, measured on the replica, and a verdict kept per process.

The router asks before every block of replica reads, so the verdict is remembered for
DATABASE_REPLICA_CHECK_SECONDS (one query a second or two per process, not one per request); a "down" verdict is
remembered five times as long, because finding a dead host again can cost a whole connect timeout while the primary
serves perfectly well meanwhile. /ready reports the same verdict (apps.core.health.replica_report).
"""

import contextlib
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.db import connections

REPLICA_ALIAS = "replica"
DOWN_VERDICT_FACTOR = 5

# Seconds since the last transaction the replica replayed, or 0 when it has replayed all the WAL it received (an
# idle primary is not lag). NULL while WAL is pending and nothing was ever replayed: catching up from its start.
# A server that is not in recovery (promoted, or pointed at the primary) has no lag.
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
END
"""


class Cursor(Protocol):
    def execute(self, query: str, /) -> Any: ...
    def fetchone(self) -> Any: ...


@dataclass(frozen=True)
class ReplicaHealth:
    status: str  # "ok", "lagging", "down"
    lag_seconds: float | None
    reason: str | None = None

    @property
    def usable(self) -> bool:
        return self.status == "ok"

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"status": self.status, "lag_seconds": self.lag_seconds}
        if self.reason:
            body["reason"] = self.reason
        return body


def replica_lag_seconds(cursor: Cursor) -> float | None:
    """The replay lag of the server behind `cursor` (None: catching up, lag unknown)."""
    cursor.execute(LAG_SQL)
    row = cursor.fetchone()
    return None if row is None or row[0] is None else max(0.0, float(row[0]))


def judge(lag: float | None, *, max_lag: float) -> ReplicaHealth:
    if lag is None:
        return ReplicaHealth("lagging", None, "catching up: nothing replayed yet")
    lag = round(lag, 3)
    if lag > max_lag:
        return ReplicaHealth("lagging", lag, f"{lag:.1f} s behind (more than {max_lag:g} s)")
    return ReplicaHealth("ok", lag)


def check_replica() -> ReplicaHealth:
    """Measures now, on this thread's replica connection."""
    connection = connections[REPLICA_ALIAS]
    try:
        with connection.cursor() as cursor:
            lag = replica_lag_seconds(cursor)
    except Exception as exc:  # noqa: BLE001 - any failure means "do not read there", reported by class name
        # The next use reconnects instead of reusing a broken connection (closing it may fail too).
        with contextlib.suppress(Exception):
            connection.close()
        return ReplicaHealth("down", None, f"unreachable ({type(exc).__name__})")
    return judge(lag, max_lag=settings.DATABASE_REPLICA_MAX_LAG_SECONDS)


@dataclass(frozen=True)
class _Verdict:
    health: ReplicaHealth
    until: float  # time.monotonic() after which it is checked again


_lock = threading.Lock()
_verdicts: list[_Verdict] = []  # at most one: this process's latest


def _remember(health: ReplicaHealth) -> ReplicaHealth:
    seconds = settings.DATABASE_REPLICA_CHECK_SECONDS * (1 if health.status != "down" else DOWN_VERDICT_FACTOR)
    _verdicts[:] = [_Verdict(health, time.monotonic() + seconds)]
    return health


def replica_health() -> ReplicaHealth:
    """This process's verdict, measured again once it is older than DATABASE_REPLICA_CHECK_SECONDS. While one
    thread measures, the others go on with the previous verdict rather than wait."""
    latest = _verdicts[0] if _verdicts else None
    if latest is not None and time.monotonic() < latest.until:
        return latest.health
    if not _lock.acquire(blocking=latest is None):
        assert latest is not None  # a blocking acquire always succeeds
        return latest.health
    try:
        latest = _verdicts[0] if _verdicts else None
        if latest is not None and time.monotonic() < latest.until:
            return latest.health  # another thread measured while this one waited
        return _remember(check_replica())
    finally:
        _lock.release()


def mark_down(reason: str) -> None:
    """A read on the replica failed: stop sending reads there until the next check."""
    with _lock:
        _remember(ReplicaHealth("down", None, reason))


def forget() -> None:
    """The next call measures again (tests)."""
    with _lock:
        _verdicts.clear()
