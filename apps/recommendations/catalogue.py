"""An in-memory copy of the upcoming catalogue as candidate columns, so that a list is a few numpy masks rather than
thousands of rows read and parsed per request (docs/recommendations.md, "Serving").

Each process keeps one copy of the canonical, not-cancelled events starting from BEHIND ago to HORIZON ahead. At most
once per settings.SERVING_CHECK_SECONDS (and at once after a sync in the same process) it asks the database for the
catalogue's version (its latest `updated_at` and id: two index lookups) and rebuilds the copy when it changed, so a
list is never staler than that interval. A deleted event is not a change of version:
the lists skip what they can no longer load. Windows beyond the horizon are read from the database instead.
"""

import math
import threading
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from numpy.typing import NDArray

from apps.events import selectors as event_selectors
from apps.recommendations.context import Candidates

HORIZON = timedelta(days=35)
# How far back the copy reaches: "this weekend" on its Sunday began up to 49 hours ago (Saturday 00:00; the autumn
# clock change makes a weekend 49 hours long), and a window the copy does not cover is read from the database: with
# one day, every list of a Sunday was. Events under way (started yesterday, ending today) are candidates too.
BEHIND = timedelta(days=2, hours=2)
STARTED_GRACE = timedelta(hours=1)  # an event with no end is over this long after it started (as in search)
DEFAULT_DURATION = timedelta(hours=2)  # of an event without an end, for the free-time fit
EARTH_RADIUS_KM = 6371.0088
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Snapshot:
    version: tuple[Any, ...]
    start: datetime
    end: datetime
    columns: Candidates  # every event of [start, end); distance_km is filled in per request
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    end_known: NDArray[np.bool_]
    time_tba: NDArray[np.bool_]

    def covers(self, start: datetime, end: datetime) -> bool:
        return self.start <= start and end <= self.end


def local_time(moment: datetime, tz: str) -> datetime:
    """`moment` by the clock of `tz` (as given when the zone is unknown)."""
    try:
        return moment.astimezone(zoneinfo.ZoneInfo(tz))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return moment


def columns_from_rows(rows: list[tuple[Any, ...]], *, popularity: dict[int, float] | None = None) -> Candidates:
    """Candidate columns from rows of events.selectors.UPCOMING_FIELDS; local times in each event's own zone."""
    count = len(rows)
    local = [local_time(row[4], row[13]) for row in rows]

    def floats(values: Any) -> NDArray[np.float64]:
        return np.fromiter(values, dtype=np.float64, count=count)

    def flags(values: Any) -> NDArray[np.bool_]:
        return np.fromiter(values, dtype=np.bool_, count=count)

    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=count)
    scores = popularity or {}
    return Candidates(
        event_ids=ids,
        categories=[row[1] for row in rows],
        venue_ids=[row[2] for row in rows],
        tags=[tuple(t for t in row[3] if isinstance(t, str)) if isinstance(row[3], list) else () for row in rows],
        start=floats(row[4].timestamp() for row in rows),
        end=floats((row[5] or row[4] + DEFAULT_DURATION).timestamp() for row in rows),
        local_weekday=np.fromiter((moment.weekday() for moment in local), dtype=np.int64, count=count),
        local_hour=np.fromiter((moment.hour for moment in local), dtype=np.int64, count=count),
        all_day=flags(bool(row[6]) for row in rows),
        distance_km=np.full(count, math.nan),
        price_min=floats(math.nan if row[10] is None else float(row[10]) for row in rows),
        is_free=flags(bool(row[11]) for row in rows),
        created=floats(row[12].timestamp() for row in rows),
        popularity=floats(scores.get(int(pk), 0.0) for pk in ids),
    )


def _build(version: tuple[Any, ...], now: datetime) -> Snapshot:
    start, end = now - BEHIND, now + HORIZON
    rows = list(event_selectors.upcoming_rows(start=start, end=end))
    count = len(rows)
    return Snapshot(
        version=version,
        start=start,
        end=end,
        columns=columns_from_rows(rows),
        lat=np.fromiter((math.nan if row[8] is None else row[8] for row in rows), dtype=np.float64, count=count),
        lon=np.fromiter((math.nan if row[9] is None else row[9] for row in rows), dtype=np.float64, count=count),
        end_known=np.fromiter((row[5] is not None for row in rows), dtype=np.bool_, count=count),
        time_tba=np.fromiter((bool(row[7]) for row in rows), dtype=np.bool_, count=count),
    )


_lock = threading.Lock()
_current: list[Snapshot] = []
_checked = [-math.inf]  # when the catalogue's version was last read (`clock`)
# The clock the interval is measured on; tests replace it (time-machine does not move the monotonic clock).
clock: Callable[[], float] = time.monotonic


def _fits(copy: Snapshot, now: datetime) -> bool:
    # A day's slack before the horizon moves; a clock set back (tests) rebuilds too.
    return copy.start <= now - BEHIND <= copy.start + DAY


def snapshot(*, now: datetime) -> Snapshot:
    """The copy for the catalogue as it is now, rebuilt when the catalogue changed or the horizon moved a day. The
    version is read at most once per settings.SERVING_CHECK_SECONDS (a sync in this process asks at once:
    `recheck`)."""
    with _lock:
        current = _current[0] if _current else None
        if current is not None and clock() - _checked[0] < settings.SERVING_CHECK_SECONDS and _fits(current, now):
            return current
    checked = clock()
    version = event_selectors.catalogue_version()
    with _lock:
        current = _current[0] if _current else None
        if current is None or current.version != version or not _fits(current, now):
            current = _build(version, now)
            _current[:] = [current]
        _checked[0] = checked
        return current


def recheck() -> None:
    """The next list reads the catalogue's version (events changed in this process)."""
    with _lock:
        _checked[0] = -math.inf


def forget() -> None:
    """The next list rebuilds the copy (tests)."""
    with _lock:
        _current.clear()
        _checked[0] = -math.inf


def haversine_km(lat: float, lon: float, lats: NDArray[np.float64], lons: NDArray[np.float64]) -> NDArray[np.float64]:
    lat1, lat2 = math.radians(lat), np.radians(lats)
    h = np.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * np.cos(lat2) * np.sin(np.radians(lons - lon) / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(np.sqrt(h), 1.0)), dtype=np.float64)


def candidate_rows(
    copy: Snapshot,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    near: tuple[float, float] | None,
    radius_km: float,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The rows starting in [start, end), not over at `now`, within `radius_km` of `near` (when given), and their
    distances (nan without `near`)."""
    columns = copy.columns
    begin, finish, moment = start.timestamp(), end.timestamp(), now.timestamp()
    over = (copy.end_known & (columns.end <= moment)) | (
        ~copy.end_known & ~columns.all_day & ~copy.time_tba & (columns.start <= moment - STARTED_GRACE.total_seconds())
    )
    rows = np.flatnonzero((columns.start >= begin) & (columns.start < finish) & ~over)
    if near is None:
        return rows, np.full(len(rows), math.nan)
    distances = haversine_km(near[0], near[1], copy.lat[rows], copy.lon[rows])
    within = distances <= radius_km  # nan (no place) is never within
    return rows[within], distances[within]
