"""Time helpers shared by every app: weekends in a person's zone, and window bounds from query strings."""

import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

SATURDAY = 5


def weekend_window(which: Literal["this", "next"], tz: str, *, now: datetime) -> tuple[datetime, datetime]:
    """Saturday 00:00 to Monday 00:00 in `tz`, as UTC. On a Saturday or Sunday, "this" is the one under way.

    Built from local dates rather than by adding hours, so a DST change inside the weekend moves nothing.
    """
    zone = zoneinfo.ZoneInfo(tz)
    today = now.astimezone(zone).date()
    days_back = today.weekday() - SATURDAY
    saturday = today - timedelta(days=days_back) if days_back >= 0 else today + timedelta(days=-days_back)
    if which == "next":
        saturday += timedelta(days=7)
    return local_midnight_utc(saturday, zone), local_midnight_utc(saturday + timedelta(days=2), zone)


def local_midnight_utc(day: date, zone: zoneinfo.ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


# Dates and times the API takes, as patterns the OpenAPI schema publishes (\A and \Z become ^ and $) and the
# server checks before parsing, so both read a value the same way. Years run from FIRST_YEAR to LAST_YEAR: wide
# enough for any plan, and narrow enough that going back a plan's whole length from a window's start never
# leaves the years Python can represent (2 * FIRST_YEAR - LAST_YEAR > 1).
FIRST_YEAR, LAST_YEAR = 1600, 2999
_YEAR = r"(?:1[6-9][0-9]{2}|2[0-9]{3})"
_DATE = _YEAR + r"-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
_OFFSET = r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
DATE_PATTERN = rf"\A{_DATE}\Z"
DATE_TIME_PATTERN = rf"\A{_DATE}T{_TIME}{_OFFSET}\Z"
# A window bound: a date, or a date-time with its offset.
WINDOW_BOUND_PATTERN = rf"\A{_DATE}(?:T{_TIME}{_OFFSET})?\Z"
# A plan's moment: a date, or a date-time with or without an offset (without one, wall-clock time).
LOCAL_MOMENT_PATTERN = rf"\A{_DATE}(?:T{_TIME}{_OFFSET}?)?\Z"
# An RDATE: a moment, or a period "start/end" of two.
RDATE_PATTERN = rf"\A{_DATE}(?:T{_TIME}{_OFFSET}?)?(?:/{_DATE}(?:T{_TIME}{_OFFSET}?)?)?\Z"


def matches(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern.removeprefix(r"\A").removesuffix(r"\Z"), value) is not None


def parse_window_bound(value: str, tz: str) -> datetime:
    """A date (midnight in `tz`) or a date-time with its offset; a date-time without one is refused."""
    if not matches(WINDOW_BOUND_PATTERN, value):
        if matches(LOCAL_MOMENT_PATTERN, value):
            raise ValueError("A date-time needs its offset, e.g. 2026-05-02T10:00:00+02:00 or ...Z.")
        raise ValueError(
            f"Use a date (YYYY-MM-DD) or a date-time with offset (2026-05-02T10:00:00+02:00), "
            f"years {FIRST_YEAR} to {LAST_YEAR}."
        )
    try:
        if len(value) == 10:
            return local_midnight_utc(date.fromisoformat(value), zoneinfo.ZoneInfo(tz))
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError as exc:
        raise ValueError(f"{value} is not a date on the calendar.") from exc
