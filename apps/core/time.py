"""Time helpers shared by every app: weekends in a person's zone, and window bounds from query strings."""

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


def parse_window_bound(value: str, tz: str) -> datetime:
    """A date (midnight in `tz`) or a date-time with its offset; a date-time without one is refused."""
    value = value.strip()
    try:
        if len(value) == 10:
            return local_midnight_utc(date.fromisoformat(value), zoneinfo.ZoneInfo(tz))
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError("Use a date (YYYY-MM-DD) or a date-time with offset (2026-05-02T10:00:00+02:00).") from exc
    if parsed.tzinfo is None:
        raise ValueError("A date-time needs its offset, e.g. 2026-05-02T10:00:00+02:00 or ...Z.")
    return parsed.astimezone(UTC)
