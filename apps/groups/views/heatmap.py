"""The group page's availability in words and shades: a weekend grid (hours as rows, days as columns) of how many
sharing members are free for the whole of each hour, and the best windows to meet, clipped to waking hours.

Built from the windows of apps.groups.availability (free/busy only: nobody's plan titles ever reach it)."""

import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.utils import dateformat

from apps.groups.availability import Window

NIGHT_HOURS = range(0, 8)  # 00:00-07:59: hidden unless asked for
DAY_START_HOUR, DAY_END_HOUR = 8, 23  # best windows are proposed inside these local hours
SHADES = 4  # heat-0 (nobody) .. heat-4 (everyone)
BEST_WINDOWS = 6


@dataclass(frozen=True)
class Cell:
    free: int
    shade: int  # 0..SHADES
    text: str  # "2 of 3 free" (what a screen reader says)
    shown: str  # what the cell shows: the count, or "–" for the hour a DST change skips


@dataclass(frozen=True)
class Row:
    hour: int
    label: str  # "14:00"
    night: bool
    cells: list[Cell]


@dataclass(frozen=True)
class BestWindow:
    start: datetime  # UTC
    end: datetime
    free: int
    everyone: bool
    label: str  # "Sat 14:00–18:00"
    summary: str  # "Everyone free: Sat 14:00–18:00"

    @property
    def value(self) -> str:
        """How a poll form names this window: "<start ISO>/<end ISO>"."""
        return f"{self.start.astimezone(UTC).isoformat()}/{self.end.astimezone(UTC).isoformat()}"


def _local_hour_start(day: date, hour: int, zone: zoneinfo.ZoneInfo) -> datetime:
    """In UTC: Python compares two datetimes of the same zone by their wall clocks, which a DST change breaks."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=zone).astimezone(UTC)


def _free_during(pieces: Sequence[Window], start: datetime, end: datetime) -> int:
    """Members free for all of [start, end): the fewest free among the windows it overlaps; 0 if some part of it
    is in no window (nobody free there)."""
    spans = sorted((w.start.astimezone(UTC), w.end.astimezone(UTC), len(w.free)) for w in pieces)
    overlapping = [(begin, finish, free) for begin, finish, free in spans if begin < end and finish > start]
    cursor, fewest = start, None
    for begin, finish, free in overlapping:
        if begin > cursor:
            return 0
        fewest = free if fewest is None else min(fewest, free)
        cursor = max(cursor, finish)
    if cursor < end or fewest is None:
        return 0
    return fewest


def grid(pieces: Sequence[Window], *, days: Sequence[date], tz: str, sharing: int) -> list[Row]:
    """24 rows (local hours) by len(days) columns. `pieces` are the windows of the whole weekend with no minimum
    length, so together with the gaps where nobody is free they cover it. A DST change makes one local hour
    shorter or longer; it is shaded for what that hour holds."""
    zone = zoneinfo.ZoneInfo(tz)
    rows = []
    for hour in range(24):
        cells = []
        for day in days:
            start = _local_hour_start(day, hour, zone)
            end = (
                _local_hour_start(day, hour + 1, zone)
                if hour < 23
                else _local_hour_start(day + timedelta(days=1), 0, zone)
            )
            if end <= start:  # the hour the clocks skip when they go forward
                cells.append(Cell(free=0, shade=0, text="no such hour: the clocks go forward", shown="–"))
                continue
            free = _free_during(pieces, start, end)
            shade = round(SHADES * free / sharing) if sharing else 0
            shade = max(shade, 1) if free else 0  # one free person is never shown as nobody
            cells.append(Cell(free=free, shade=shade, text=f"{free} of {sharing} free", shown=str(free)))
        rows.append(Row(hour=hour, label=f"{hour:02d}:00", night=hour in NIGHT_HOURS, cells=cells))
    return rows


def best_windows(
    pieces: Sequence[Window],
    *,
    days: Sequence[date],
    tz: str,
    sharing: int,
    min_minutes: int = 60,
    not_before: datetime | None = None,
) -> list[BestWindow]:
    """The windows where most members are free, each cut to one day's waking hours, to `not_before` (now: a
    weekend under way offers only what is left of it) and at least `min_minutes` long; most free first, then
    longest, then earliest."""
    zone = zoneinfo.ZoneInfo(tz)
    found: list[BestWindow] = []
    for day in days:
        day_start = _local_hour_start(day, DAY_START_HOUR, zone)
        if not_before is not None:
            day_start = max(day_start, not_before.astimezone(UTC))
        day_end = _local_hour_start(day, DAY_END_HOUR, zone)
        for window in pieces:
            start, end = max(window.start.astimezone(UTC), day_start), min(window.end.astimezone(UTC), day_end)
            if end - start < timedelta(minutes=min_minutes) or not window.free:
                continue
            local_start, local_end = start.astimezone(zone), end.astimezone(zone)
            label = f"{dateformat.format(local_start, 'D H:i')}–{dateformat.format(local_end, 'H:i')}"
            everyone = len(window.free) >= sharing > 0
            who = "Everyone free" if everyone else f"{len(window.free)} of {sharing} free"
            found.append(BestWindow(start, end, len(window.free), everyone, label, f"{who}: {label}"))
    found.sort(key=lambda w: (-w.free, -(w.end - w.start), w.start))
    return found[:BEST_WINDOWS]
