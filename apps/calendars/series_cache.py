"""Plans' series compiled once and kept, keyed by what they are made of.

Compiling a series (parsing its rule, RDATEs, EXDATEs and overrides, and the rule engine's set-up) costs about
0.2 ms; a conflict check or a page of occurrences reads dozens of series, so compiling them again on every
request was most of its time. The key is the series' content (the row's recurrence fields and its override
rows), not the plan's id or `updated_at`: a changed row or override is a different key, so nothing is ever
served stale and nothing needs invalidating, whichever code path (API, import, admin, a test factory) wrote it.

In process memory, bounded (least recently used out first). Not in Redis: a compiled series holds parsed
rule engines, which cost more to pickle and unpickle than to build again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from datetime import date, datetime
from typing import Any

from apps.calendars.recurrence import OverrideSpec, Series

# A person with 10,000 plans has ~1,000 series, and a check reads a few dozen plans; an entry is a few kB (a
# COUNT rule keeps its instances: up to MAX_OCCURRENCES datetimes), so the bound keeps a worker's share small.
MAX_ENTRIES = 4_096

_lock = threading.Lock()
_cache: OrderedDict[Hashable, Series] = OrderedDict()

# The override columns in the order `override_row` lists them.
OVERRIDE_FIELDS = (
    "recurrence_id",
    "cancelled",
    "title",
    "start_local",
    "end_local",
    "start_date",
    "end_date",
    "status",
    "this_and_future",
)
OverrideRow = tuple[str, bool, str, datetime | None, datetime | None, date | None, date | None, str, bool]


def override_row(override: Any) -> OverrideRow:
    """An override (a PlanOverride or anything with its fields) as the tuple the cache keys on."""
    return tuple(getattr(override, name) for name in OVERRIDE_FIELDS)


def series(
    *,
    timezone: str,
    all_day: bool,
    start_local: datetime | None,
    end_local: datetime | None,
    start_date: date | None,
    end_date: date | None,
    rrule: str,
    rdates: Iterable[str],
    exdates: Iterable[str],
    overrides: Iterable[OverrideRow] = (),
) -> Series:
    """The Series of these fields, compiled already when it was asked for before (its `compiled` is kept)."""
    rdates, exdates, overrides = tuple(rdates), tuple(exdates), tuple(overrides)
    key = (timezone, all_day, start_local, end_local, start_date, end_date, rrule, rdates, exdates, overrides)
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    made = Series(
        timezone=timezone,
        all_day=all_day,
        start_local=start_local,
        end_local=end_local,
        start_date=start_date,
        end_date=end_date,
        rrule=rrule,
        rdates=rdates,
        exdates=exdates,
        overrides={row[0]: _spec(row) for row in overrides},
    )
    # Compiled on first use (Series.compiled is a cached property), so a series that cannot be read raises
    # where it is expanded, as before; the compiled state then stays with the cached Series.
    with _lock:
        _cache[key] = made
        if len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
    return made


def clear() -> None:
    with _lock:
        _cache.clear()


def _spec(row: OverrideRow) -> OverrideSpec:
    _, cancelled, title, start_local, end_local, start_date, end_date, status, this_and_future = row
    return OverrideSpec(
        cancelled=cancelled,
        title=title or None,
        start_local=start_local,
        end_local=end_local,
        start_date=start_date,
        end_date=end_date,
        status=status or None,
        this_and_future=this_and_future,
    )
