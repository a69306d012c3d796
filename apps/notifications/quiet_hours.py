"""Quiet hours: no email between 22:00 and 08:00 in the person's own zone (reminders excepted). Pure: no Django."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

QUIET_FROM = time(22, 0)
QUIET_UNTIL = time(8, 0)


def is_quiet(local: time) -> bool:
    return local >= QUIET_FROM or local < QUIET_UNTIL


def send_after(now: datetime, timezone: str) -> datetime | None:
    """None when `now` (aware) is outside quiet hours in `timezone`; otherwise the next 08:00 there, as an aware
    UTC instant. 08:00 is never inside a DST gap or fold in any zone we know, so the wall time is unambiguous."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    if not is_quiet(local.time()):
        return None
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_UNTIL, tzinfo=zone).astimezone(ZoneInfo("UTC"))
