"""Warnings about a dependency that is down (the database, Redis), logged once a minute per process and kind
rather than once per request: during an outage every request meets it, and a line per request would bury the
logs (and the log pipeline) under copies of one fact."""

import logging
import threading
import time
from typing import Any

import structlog

EVERY_SECONDS = 60.0
_last: dict[str, float] = {}
_lock = threading.Lock()
_clock = time.monotonic  # replaced by the tests
logger = structlog.get_logger(__name__)


def _due(kind: str) -> bool:
    now = _clock()
    with _lock:
        if now - _last.get(kind, float("-inf")) < EVERY_SECONDS:
            return False
        _last[kind] = now
    return True


def warn_once_a_minute(logger: Any, event: str, *, kind: str | None = None, **fields: Any) -> bool:
    """Logs `event` with `fields` as a warning unless this process logged the same kind (default: the event) in
    the last minute. True when it logged."""
    if not _due(kind or event):
        return False
    logger.warning(event, **fields)
    return True


def forget() -> None:
    """The next warning of every kind is logged (tests)."""
    with _lock:
        _last.clear()


class CacheOutage(logging.Filter):
    """The filter of django-redis's logger (DJANGO_REDIS_LOGGER), which writes an "Exception ignored" error with
    its traceback for every cache call that Redis did not answer (the cache ignores them: IGNORE_EXCEPTIONS). It
    drops them all and says `cache_unavailable` once a minute instead, naming the error."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        cause = getattr(error, "__cause__", None) or error
        warn_once_a_minute(logger, "cache_unavailable", error=type(cause).__name__ if cause else "unknown")
        return False
