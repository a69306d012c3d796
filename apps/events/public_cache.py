"""What anonymous reads of the catalogue are cached by (docs/api.md, "Caching"): the catalogue's version, its
last change, the clock step, and the code that shapes the answers.

- The version is a number in the cache, bumped when the catalogue changes: by `events_changed` after a sync, and
  by any Event saved or deleted one at a time (the admin). It is part of every ETag and every cache key,
  so one bump retires every cached answer at once. A lost version (Redis restarted, evicted) starts again from a
  random number, never from one an old ETag could carry.
- Last-Modified is the newest event update (one indexed query per version, then cached with it).
- Answers that depend on the clock (a weekend, "not over yet") are computed at the start of the current clock step
  (CATALOGUE_CACHE_SECONDS) instead of the exact instant: the same step, version and question always give the
  same answer, so it can be cached and revalidated for that long.
- The code generation is a digest of the templates and of this app's code, so that a deploy which changes the
  markup does not leave browsers revalidating their old pages as current.
"""

import contextlib
import functools
import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from apps.core import db_router
from apps.events import selectors

VERSION_KEY = "catalogue:version"
MODIFIED_KEY = "catalogue:modified"  # (version, last modified): stale when its version is not the current one
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # Last-Modified of an empty catalogue


@dataclass(frozen=True)
class CatalogueState:
    version: int
    last_modified: datetime


# The state as this process last read it, and until when (its clock) it may answer from it.
_remembered: tuple[float, CatalogueState] | None = None
_clock = time.monotonic


def catalogue_state() -> CatalogueState:
    """The current version and last change: read at most once every CATALOGUE_STATE_MEMO_SECONDS per process.

    Every anonymous catalogue read needs it, and reading it was a Redis round trip of each (5% of a new search's
    CPU; docs/benchmarks.md, eleventh pass). A change made in this process is seen at once (`_bump` forgets it);
    one made elsewhere (a sync on a Celery worker) within that second, where browsers and shared caches keep the
    answers for max_age() anyway."""
    global _remembered  # one per process, replaced whole (no lock: a tuple is swapped atomically)
    remembered, now = _remembered, _clock()
    if remembered is not None and now < remembered[0]:
        return remembered[1]
    state = _read_state()
    seconds = float(settings.CATALOGUE_STATE_MEMO_SECONDS)
    _remembered = (now + seconds, state) if seconds > 0 else None
    return state


def _forget() -> None:
    global _remembered
    _remembered = None


def _read_state() -> CatalogueState:
    """The current version and last change, in one cache round trip (plus one query after each change)."""
    found = cache.get_many([VERSION_KEY, MODIFIED_KEY])
    version = found.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, secrets.randbits(52), timeout=None)
        version = cache.get(VERSION_KEY)
    modified = found.get(MODIFIED_KEY)
    if modified is not None and modified[0] == version:
        return CatalogueState(version=version, last_modified=modified[1])
    latest, _ = selectors.catalogue_version()
    last_modified = max(latest or EPOCH, EPOCH)
    cache.set(MODIFIED_KEY, (version, last_modified), timeout=None)
    return CatalogueState(version=version, last_modified=last_modified)


def events_changed(**_: Any) -> None:
    """After a sync (its pages are committed when it sends `events_changed`): retire every cached answer."""
    _bump()


def event_saved_or_deleted(**_: Any) -> None:
    """An Event saved or deleted one at a time: retire every cached answer once the change is committed (a request
    between the change and its commit would otherwise cache the old rows under the new version)."""
    transaction.on_commit(_bump, robust=True)


def _bump() -> None:
    # Before the new version: no answer cached under it may be read from a replica that lags behind the change.
    db_router.shared_data_changed()
    with contextlib.suppress(ValueError):  # no version yet: the next read starts one
        cache.incr(VERSION_KEY)
    _forget()


def max_age() -> int:
    return int(settings.CATALOGUE_CACHE_SECONDS)


def clock_step(now: datetime) -> datetime:
    """The start of the clock step `now` falls in: what anonymous answers that depend on the clock are computed at."""
    step = max_age()
    return datetime.fromtimestamp(int(now.timestamp()) // step * step, tz=UTC)


@functools.cache
def code_generation() -> str:
    """A digest of what shapes the cached answers: the templates and this app's modules."""
    digest = hashlib.blake2b(digest_size=8)
    engines: list[dict[str, Any]] = settings.TEMPLATES
    sources = [Path(directory) for engine in engines for directory in engine.get("DIRS", [])]
    sources.append(Path(__file__).resolve().parent)
    for source in sources:
        for path in sorted(source.rglob("*")):
            if path.suffix in {".html", ".py"} and "tests" not in path.parts and "migrations" not in path.parts:
                digest.update(path.read_bytes())
    return digest.hexdigest()
