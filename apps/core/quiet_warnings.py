"""Warnings about a dependency that is down (the database, Redis), logged once a minute per process and kind
rather than once per request: during an outage every request meets it, and a line per request would bury the
logs (and the log pipeline) under copies of one fact."""

import threading
import time
from typing import Any

EVERY_SECONDS = 60.0
_last: dict[str, float] = {}
_lock = threading.Lock()
_clock = time.monotonic  # replaced by the tests


def warn_once_a_minute(logger: Any, event: str, *, kind: str | None = None, **fields: Any) -> bool:
    """Logs `event` with `fields` as a warning unless this process logged the same kind (default: the event) in
    the last minute. True when it logged."""
    key = kind or event
    now = _clock()
    with _lock:
        if now - _last.get(key, float("-inf")) < EVERY_SECONDS:
            return False
        _last[key] = now
    logger.warning(event, **fields)
    return True


def forget() -> None:
    """The next warning of every kind is logged (tests)."""
    with _lock:
        _last.clear()
