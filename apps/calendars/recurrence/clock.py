"""Wall-clock time in a zone and UTC instants: reading one as the other, fast, with DST gaps and folds."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache

from apps.calendars.recurrence.shapes import RecurrenceError
from apps.core.time import local_midnight_utc

ONE_DAY = timedelta(days=1)
LOOKAROUND = timedelta(hours=3)  # covers any fold between the local and UTC readings of a window
UNTIL_SLACK = timedelta(hours=3)  # covers any DST shift between a UTC UNTIL and its local reading
_NAIVE_EPOCH = datetime(2000, 1, 1)
_UTC_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=1024)
def get_zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise RecurrenceError(f"'{name}' is not a known IANA time zone.") from exc


def to_utc(value: datetime, zone: tzinfo) -> datetime:
    """A naive wall-clock time in `zone` as a UTC instant (a time in a DST gap moves forward)."""
    return value.replace(tzinfo=zone).astimezone(UTC)


def to_local(value: datetime, zone: tzinfo) -> datetime:
    """An aware instant as a naive wall-clock time in `zone`."""
    return value.astimezone(zone).replace(tzinfo=None)


def wall_clock(value: datetime, zone: tzinfo) -> datetime:
    """A wall-clock time in `zone`: an aware value is converted, a naive one taken as it is."""
    if value.tzinfo is not None:
        value = to_local(value, zone)
    return value.replace(microsecond=0)


def as_date(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


def aware_utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise RecurrenceError(f"{name} must be an aware datetime.")
    return value.astimezone(UTC)


def day_start_utc(day: date, timezone: str) -> datetime:
    """Local midnight of `day` in `timezone`, as UTC."""
    return local_midnight_utc(day, get_zone(timezone))


class Clock:
    """Wall-clock times of one zone to UTC, fast: a day without an offset change needs only a subtraction."""

    __slots__ = ("epoch", "offsets", "zone")
    _clocks: dict[str, Clock] = {}

    def __init__(self, zone: zoneinfo.ZoneInfo) -> None:
        self.zone = zone
        self.offsets: dict[date, timedelta | None] = {}
        # datetime.replace(tzinfo=...) is slow; adding a timedelta to an aware epoch is not.
        self.epoch = datetime(2000, 1, 1, tzinfo=zone)

    @classmethod
    def of(cls, zone: zoneinfo.ZoneInfo) -> Clock:
        clock = cls._clocks.get(zone.key)
        if clock is None or clock.zone is not zone:
            clock = cls._clocks[zone.key] = cls(zone)
        return clock

    def _offset(self, day: date) -> timedelta | None:
        """The day's UTC offset, or None when it changes that day."""
        zone = self.zone
        midnight = datetime.combine(day, time.min)
        try:
            offsets = {(midnight + timedelta(hours=h)).replace(tzinfo=zone).utcoffset() for h in (0, 12, 24)}
        except OverflowError:
            return None
        if len(offsets) != 1:
            return None
        if len(self.offsets) > 50_000:
            self.offsets.clear()
        offset = offsets.pop()
        self.offsets[day] = offset
        return offset

    def utc(self, value: datetime) -> datetime:
        day = value.date()
        offset = self.offsets[day] if day in self.offsets else self._offset(day)
        if offset is None:
            return value.replace(tzinfo=self.zone).astimezone(UTC)
        return _UTC_EPOCH + (value - _NAIVE_EPOCH - offset)

    def local(self, value: datetime, instant: datetime) -> datetime:
        """The aware local time of wall-clock `value` whose UTC instant is `instant` (a gap time moves on)."""
        if self.offsets.get(value.date()) is not None:
            return self.epoch + (value - _NAIVE_EPOCH)
        return instant.astimezone(self.zone)
