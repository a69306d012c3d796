"""Questions asked of a series: its occurrences in a window, and the earliest and latest moments it can reach."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from apps.calendars.recurrence.clock import LOOKAROUND, aware_utc, to_local, to_utc
from apps.calendars.recurrence.compiled import CompiledSeries
from apps.calendars.recurrence.dates import parse_local
from apps.calendars.recurrence.engine import Budget
from apps.calendars.recurrence.shapes import MAX_OCCURRENCES, MAX_SPAN, Occurrence, RecurrenceError, Series


def expand(
    series: Series,
    window_start_utc: datetime,
    window_end_utc: datetime,
    *,
    max_occurrences: int = MAX_OCCURRENCES,
    max_span: timedelta = MAX_SPAN,
) -> list[Occurrence]:
    """Every occurrence overlapping [window_start, window_end), in start order.

    A zero-length occurrence counts when it starts inside the window. Cancelled overrides are included
    (flagged `cancelled`); callers hide them. At most `max_occurrences` instances are evaluated and the window
    is cut to `max_span`, so no rule can make this run away; a rule that hits the cap returns its first
    instances in the window.
    """
    window_start = aware_utc(window_start_utc, "window_start_utc")
    window_end = aware_utc(window_end_utc, "window_end_utc")
    if window_end < window_start:
        raise RecurrenceError("The window ends before it starts.")
    window_end = min(window_end, window_start + max_span)
    compiled = series.compiled
    zone = compiled.zone
    lo = to_local(window_start, zone) - compiled.lookback - LOOKAROUND
    hi = to_local(window_end, zone) + compiled.lookahead + LOOKAROUND
    starts = compiled.instances(lo, hi, budget=Budget(max_occurrences))[:max_occurrences]

    result: list[Occurrence] = []
    for start in starts:
        if start in compiled.override_keys:
            continue
        occurrence = compiled.occurrence(start)
        if _overlaps(occurrence.start_utc, occurrence.end_utc, window_start, window_end):
            result.append(occurrence)
    for override in compiled.overrides:
        if override.excluded:
            continue
        occurrence = override.occurrence
        if _overlaps(occurrence.start_utc, occurrence.end_utc, window_start, window_end):
            result.append(occurrence)
    result.sort(key=_order)
    return result


def series_end_utc(series: Series) -> datetime | None:
    """The latest moment any occurrence can end (UTC), or None when the series is unbounded (or ends beyond
    year 9999).

    An upper bound (UNTIL plus the duration, and what THISANDFUTURE overrides move), so window queries can skip
    series that ended before them.
    """
    compiled = series.compiled
    try:
        ends: list[datetime] = [compiled.occurrence(compiled.start).end_utc]
        for rule in compiled.rules:
            if rule.rule.count is not None:
                instances, complete = rule.materialized()
                if not complete:
                    return None
                if instances:
                    ends.append(_local_end_utc(compiled, instances[-1], compiled.duration))
            elif rule.until_naive is not None:
                if rule.until_utc is not None:
                    last_start = rule.until_utc
                    ends.append(
                        max(
                            last_start + compiled.duration,
                            _local_end_utc(compiled, to_local(last_start, compiled.zone), compiled.duration),
                        )
                    )
                else:
                    ends.append(_local_end_utc(compiled, rule.until_naive, compiled.duration))
            else:
                return None
        for start, duration in compiled.rdates:
            ends.append(_local_end_utc(compiled, start, duration if duration is not None else compiled.duration))
        ends.extend(override.occurrence.end_utc for override in compiled.overrides)
        if compiled.tails:  # a THISANDFUTURE override may move the later instances on (LOOKAROUND: DST)
            return max(ends) + compiled.tail_extra + LOOKAROUND
        return max(ends)
    except OverflowError:  # an UNTIL or RDATE so late that adding the duration leaves datetime's range
        return None


def occurrence_at(series: Series, recurrence_id: str) -> Occurrence:
    """The generated instance with that recurrence id where the series now places it: moved by the last
    THISANDFUTURE override before it, not by an override of its own."""
    value = parse_local(recurrence_id, timezone=series.timezone)
    start = value if isinstance(value, datetime) else datetime.combine(value, time.min)
    return series.compiled.occurrence(start)


def series_start_utc(series: Series) -> datetime:
    """The earliest moment any occurrence can start (UTC): a lower bound, so window queries can skip series that
    begin after them. An RDATE or a moved occurrence may come before the first start; an instance moved by a
    THISANDFUTURE override never starts before that override's own (LOOKAROUND: a DST change between them)."""
    compiled = series.compiled
    starts = [compiled.occurrence(compiled.start).start_utc]
    starts.extend(_local_end_utc(compiled, start, timedelta(0)) for start, _ in compiled.rdates)
    starts.extend(override.occurrence.start_utc for override in compiled.overrides)
    earliest = min(starts)
    return earliest - LOOKAROUND if compiled.tails else earliest


def _local_end_utc(compiled: CompiledSeries, start: datetime, duration: timedelta) -> datetime:
    if compiled.all_day:
        return to_utc(datetime.combine(start.date() + duration, time.min), compiled.zone)
    return to_utc(start + duration, compiled.zone)


def _overlaps(start: datetime, end: datetime, window_start: datetime, window_end: datetime) -> bool:
    if start == end:
        return window_start <= start < window_end if window_start != window_end else start == window_start
    if window_start == window_end:
        return start <= window_start < end
    return start < window_end and window_start < end


def _order(occurrence: Occurrence) -> tuple[datetime, datetime, str]:
    return occurrence.start_utc, occurrence.end_utc, occurrence.recurrence_id
