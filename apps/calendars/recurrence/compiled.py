"""A series compiled for expansion: its rules, RDATEs, EXDATEs and overrides parsed once, in wall-clock terms."""

from __future__ import annotations

import bisect
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from apps.calendars.recurrence.clock import ONE_DAY, Clock, as_date, get_zone, wall_clock
from apps.calendars.recurrence.dates import as_local_start, format_local, parse_local, parse_rdate
from apps.calendars.recurrence.engine import Budget
from apps.calendars.recurrence.rrule import parse_rule
from apps.calendars.recurrence.runs import RuleRun
from apps.calendars.recurrence.shapes import MAX_DATES, Occurrence, OverrideSpec, RecurrenceError, Series


@dataclass(frozen=True, slots=True)
class Changes:
    """What an override changes besides the times."""

    cancelled: bool = False
    title: str | None = None
    status: str | None = None
    overridden: bool = False


_UNCHANGED = Changes()


@dataclass(frozen=True, slots=True)
class Tail:
    """A THISANDFUTURE override as it applies to the later instances: each moves by `shift` and lasts
    `duration` (wall-clock; whole days when the instances become all-day) and takes the override's changes."""

    key: datetime
    all_day: bool
    shift: timedelta
    duration: timedelta
    changes: Changes


@dataclass(frozen=True, slots=True)
class CompiledOverride:
    key: datetime
    excluded: bool
    occurrence: Occurrence
    tail: Tail | None


class CompiledSeries:
    """A series read once: its start and duration in wall-clock time, its rules, RDATEs, EXDATEs and overrides."""

    def __init__(
        self,
        *,
        zone: zoneinfo.ZoneInfo,
        all_day: bool,
        start: datetime,
        duration: timedelta,
        rules: tuple[RuleRun, ...],
        rdates: tuple[tuple[datetime, timedelta | None], ...],
        exdates: frozenset[datetime],
        exdate_days: frozenset[date],
    ) -> None:
        self.zone, self.all_day, self.start, self.duration = zone, all_day, start, duration
        self.rules, self.rdates, self.exdates, self.exdate_days = rules, rdates, exdates, exdate_days
        self.rdate_starts = [start for start, _ in rdates]
        self.rdate_durations = {start: d for start, d in rdates if d is not None}
        longest = max([duration, *self.rdate_durations.values()])
        self.longest = longest
        self.lookback = longest if not all_day else longest + ONE_DAY
        self.lookahead = timedelta(0)
        self.overrides: tuple[CompiledOverride, ...] = ()
        self.override_keys: frozenset[datetime] = frozenset()
        self.tails: tuple[Tail, ...] = ()
        self.tail_keys: list[datetime] = []
        self.tail_extra = timedelta(0)  # how much later than the series' own instances a moved one can end
        untils = [rule.until_naive for rule in rules if rule.until_naive is not None]
        self.include_start = True
        if untils:
            last = max(rules, key=lambda r: r.until_naive or datetime.min)
            self.include_start = last.within_until(start)

    def excluded(self, start: datetime) -> bool:
        return start in self.exdates or (bool(self.exdate_days) and start.date() in self.exdate_days)

    def instances(self, lo: datetime, hi: datetime, *, budget: Budget) -> list[datetime]:
        found: set[datetime] = set()
        if self.include_start and lo <= self.start <= hi:
            found.add(self.start)
        for rule in self.rules:
            found.update(rule.instances(lo, hi, budget))
        starts = self.rdate_starts
        found.update(starts[bisect.bisect_left(starts, lo) : bisect.bisect_right(starts, hi)])
        if self.exdates or self.exdate_days:
            found = {start for start in found if not self.excluded(start)}
        return sorted(found)

    def occurrence(self, start: datetime) -> Occurrence:
        """The occurrence of the generated instance starting at `start`, as the last THISANDFUTURE override
        before it (if any) changes it."""
        tail = self._tail_before(start) if self.tails else None
        if tail is not None:
            return self._moved(start, tail)
        duration = self.rdate_durations.get(start, self.duration) if self.rdate_durations else self.duration
        if self.all_day:
            day = start.date()
            return _all_day_occurrence(day.isoformat(), day, day + duration, self.zone)
        return _timed_occurrence(start.isoformat(), start, start + duration, self.zone)

    def _tail_before(self, start: datetime) -> Tail | None:
        index = bisect.bisect_left(self.tail_keys, start)
        return self.tails[index - 1] if index else None

    def _moved(self, start: datetime, tail: Tail) -> Occurrence:
        # An RDATE period keeps its own length, as in recurring-ical-events.
        duration = self.rdate_durations.get(start, tail.duration) if tail.all_day == self.all_day else tail.duration
        label = start.date().isoformat() if self.all_day else start.isoformat()
        if tail.all_day:
            day = start.date() + tail.shift
            return _all_day_occurrence(label, day, day + duration, self.zone, tail.changes)
        moved = start + tail.shift
        return _timed_occurrence(label, moved, moved + duration, self.zone, tail.changes)

    def add_overrides(self, overrides: list[CompiledOverride]) -> None:
        """Sets the overrides, and widens what expansion reads for instances a THISANDFUTURE one moves."""
        self.overrides = tuple(overrides)
        self.override_keys = frozenset(o.key for o in overrides)
        self.tails = tuple(sorted((o.tail for o in overrides if o.tail is not None), key=lambda t: t.key))
        self.tail_keys = [tail.key for tail in self.tails]
        if not self.tails:
            return
        # A moved instance may end `reach` after its original start, or start `ahead` before it (a day's slack
        # for all-day occurrences, which span local midnights).
        reach = max(tail.shift + max(tail.duration, self.longest) for tail in self.tails) + ONE_DAY
        ahead = max(-min(tail.shift for tail in self.tails), timedelta(0)) + ONE_DAY
        self.lookback = max(self.lookback, reach)
        self.lookahead = ahead
        self.tail_extra = max(reach - self.duration, timedelta(0))


def _timed_occurrence(
    recurrence_id: str, start: datetime, end: datetime, zone: zoneinfo.ZoneInfo, changes: Changes = _UNCHANGED
) -> Occurrence:
    clock = Clock.of(zone)
    start_utc = clock.utc(start)
    end_utc = clock.utc(end)
    if end_utc < start_utc:
        end_utc, end = start_utc, start
    # Positional, in field order: recurrence_id, start_utc, end_utc, all_day, start_local, end_local,
    # start_date, end_date, cancelled, title, status, overridden.
    return Occurrence(
        recurrence_id,
        start_utc,
        end_utc,
        False,
        clock.local(start, start_utc),
        clock.local(end, end_utc),
        None,
        None,
        changes.cancelled,
        changes.title,
        changes.status,
        changes.overridden,
    )


def _all_day_occurrence(
    recurrence_id: str, start: date, end: date, zone: zoneinfo.ZoneInfo, changes: Changes = _UNCHANGED
) -> Occurrence:
    if end <= start:
        end = start + ONE_DAY
    clock = Clock.of(zone)
    return Occurrence(
        recurrence_id=recurrence_id,
        start_utc=clock.utc(datetime.combine(start, time.min)),
        end_utc=clock.utc(datetime.combine(end, time.min)),
        all_day=True,
        start_date=start,
        end_date=end,
        cancelled=changes.cancelled,
        title=changes.title,
        status=changes.status,
        overridden=changes.overridden,
    )


def compile_series(series: Series) -> CompiledSeries:
    """The series ready to expand; RecurrenceError when any part of it cannot be read."""
    zone = get_zone(series.timezone)
    if series.all_day:
        if series.start_date is None:
            raise RecurrenceError("An all-day series needs start_date.")
        start_day = as_date(series.start_date)
        end_day = as_date(series.end_date) if series.end_date is not None else start_day + ONE_DAY
        if end_day <= start_day:
            raise RecurrenceError("An all-day series' end_date must be after its start_date.")
        start = datetime.combine(start_day, time.min)
        duration = timedelta(days=(end_day - start_day).days)
    else:
        if series.start_local is None:
            raise RecurrenceError("A timed series needs start_local.")
        start = wall_clock(series.start_local, zone)
        end = wall_clock(series.end_local, zone) if series.end_local is not None else start
        if end < start:
            raise RecurrenceError("The series ends before it starts.")
        duration = end - start

    rules: list[RuleRun] = []
    text = series.rrule.strip()
    if text:
        for line in text.replace("\r", "\n").split("\n"):
            if line.strip():
                rules.append(RuleRun(parse_rule(line, strict=False), start, zone, series.all_day))

    if len(series.rdates) > MAX_DATES or len(series.exdates) > MAX_DATES:
        raise RecurrenceError(f"A series may have at most {MAX_DATES} RDATE and {MAX_DATES} EXDATE values.")
    rdates: dict[datetime, timedelta | None] = {}
    for value in series.rdates:
        rdate_start, period = parse_rdate(value, series.timezone, series.all_day)
        rdates[rdate_start] = period
    exdates: set[datetime] = set()
    exdate_days: set[date] = set()
    for value in series.exdates:
        parsed = parse_local(value, timezone=series.timezone)
        if isinstance(parsed, datetime):
            if series.all_day:
                exdate_days.add(parsed.date())
            else:
                exdates.add(parsed)
        else:
            exdates.add(datetime.combine(parsed, time.min))
            if not series.all_day:
                exdate_days.add(parsed)  # a date EXDATE on a timed series removes that whole local day

    compiled = CompiledSeries(
        zone=zone,
        all_day=series.all_day,
        start=start,
        duration=duration,
        rules=tuple(rules),
        rdates=tuple(sorted(rdates.items())),
        exdates=frozenset(exdates),
        exdate_days=frozenset(exdate_days),
    )
    compiled.add_overrides(
        [_compile_override(compiled, key, spec, series.timezone) for key, spec in series.overrides.items()]
    )
    return compiled


def _compile_override(
    compiled: CompiledSeries, recurrence_id: str, spec: OverrideSpec, timezone: str
) -> CompiledOverride:
    original = parse_local(recurrence_id, timezone=timezone)
    key = as_local_start(original)
    label = format_local(original)
    excluded = key in compiled.exdates
    changes = Changes(cancelled=spec.cancelled, title=spec.title or None, status=spec.status or None, overridden=True)
    zone = compiled.zone
    if spec.start_date is not None or (spec.start_local is None and compiled.all_day):
        start_day = as_date(spec.start_date) if spec.start_date is not None else key.date()
        if spec.end_date is not None:
            end_day = as_date(spec.end_date)
        elif compiled.all_day:
            end_day = start_day + compiled.duration
        else:
            end_day = start_day + ONE_DAY
        occurrence = _all_day_occurrence(label, start_day, end_day, zone, changes)
        shift = timedelta(days=(start_day - key.date()).days)
        tail = Tail(key, True, shift, timedelta(days=max(1, (end_day - start_day).days)), changes)
    else:
        start = wall_clock(spec.start_local, zone) if spec.start_local is not None else key
        if spec.end_local is not None:
            end = wall_clock(spec.end_local, zone)
        else:
            end = start + (compiled.duration if not compiled.all_day else timedelta(0))
        if end < start:
            raise RecurrenceError(f"The override of {recurrence_id} ends before it starts.")
        occurrence = _timed_occurrence(label, start, end, zone, changes)
        tail = Tail(key, False, start - key, end - start, changes)
    return CompiledOverride(key, excluded, occurrence, tail if spec.this_and_future else None)
