"""The local date values a series stores as text: RDATE, EXDATE and recurrence ids, read, written and checked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from apps.calendars.recurrence.clock import get_zone
from apps.calendars.recurrence.shapes import MAX_DATES, RecurrenceError

_NOT_ISO = "'{}' is not an ISO date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM:SS)."


def parse_local(value: str, *, timezone: str | None = None) -> datetime | date:
    """An RDATE/EXDATE/recurrence_id string: naive local datetime, or a date. An aware value is read in
    `timezone` (UTC when not given)."""
    if not isinstance(value, str):
        raise RecurrenceError(_NOT_ISO.format(value))
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(get_zone(timezone or "UTC")).replace(tzinfo=None)
    except (ValueError, OverflowError) as exc:
        raise RecurrenceError(_NOT_ISO.format(value)) from exc
    return parsed.replace(microsecond=0)


def format_local(value: datetime | date) -> str:
    """The ISO string of a naive local date-time ("YYYY-MM-DDTHH:MM:SS") or a date ("YYYY-MM-DD")."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0).isoformat()
    return value.isoformat()


def as_local_start(value: datetime | date) -> datetime:
    """A parsed value as the naive local start it keys: a date becomes its midnight."""
    return value if isinstance(value, datetime) else datetime.combine(value, time.min)


def parse_rdate(value: str, timezone: str, all_day: bool) -> tuple[datetime, timedelta | None]:
    """An RDATE value: its local start and, for a period "start/end", its duration (whole days when all-day)."""
    first, sep, second = value.partition("/")
    start_dt = as_local_start(parse_local(first, timezone=timezone))
    if all_day:
        start_dt = datetime.combine(start_dt.date(), time.min)
    if not sep:
        return start_dt, None
    end_dt = as_local_start(parse_local(second, timezone=timezone))
    if end_dt < start_dt:
        raise RecurrenceError(f"The RDATE period {value} ends before it starts.")
    if all_day:
        return start_dt, timedelta(days=max(1, (end_dt.date() - start_dt.date()).days))
    return start_dt, end_dt - start_dt


def validate_dates(
    values: Sequence[str], *, timezone: str, all_day: bool, periods: bool, first_year: int, last_year: int
) -> None:
    """RecurrenceError naming the first RDATE (`periods`) or EXDATE value that cannot be read, or that falls
    outside `first_year` to `last_year`."""
    if len(values) > MAX_DATES:
        raise RecurrenceError(f"At most {MAX_DATES} values.")
    for value in values:
        try:
            if periods:
                start, duration = parse_rdate(value, timezone, all_day)
                moments = [start] if duration is None else [start, start + duration]
            else:
                moments = [as_local_start(parse_local(value, timezone=timezone))]
        except OverflowError as exc:
            raise RecurrenceError(f"'{value}' is outside the years {first_year} to {last_year}.") from exc
        if any(not first_year <= moment.year <= last_year for moment in moments):
            raise RecurrenceError(f"'{value}' is outside the years {first_year} to {last_year}.")
