"""What iCalendar is read into and written from: plan data with its overrides, refusals, and the limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from apps.calendars.recurrence import OverrideSpec, Series

PRODID = "-//Weekend Planner//Calendars//EN"
MAX_TITLE = 500
MAX_LOCATION = 500
MAX_UID = 500
UNTITLED = "(no title)"
STATUSES = {"CONFIRMED": "confirmed", "TENTATIVE": "tentative", "CANCELLED": "cancelled"}
X_TIMEZONE = "X-WEEKEND-PLANNER-TIMEZONE"  # the zone of an all-day plan, which DATE values cannot carry
# The fields a Series takes from PlanData as they are.
_SERIES_FIELDS = ("timezone", "all_day", "start_local", "end_local", "start_date", "end_date", "rrule")


class IcsParseError(ValueError):
    """The data is not an iCalendar file that can be read at all; the message says where it broke."""


@dataclass(frozen=True, slots=True)
class OverrideData(OverrideSpec):
    """One changed instance of a series, keyed by its RECURRENCE-ID: None means "as the series has it"."""

    recurrence_id: str


@dataclass
class PlanData:
    """Everything a Plan row (and its PlanOverride rows) holds that iCalendar carries."""

    uid: str
    title: str
    notes: str = ""
    timezone: str = "UTC"
    all_day: bool = False
    start_local: datetime | None = None  # naive wall-clock time in `timezone`
    end_local: datetime | None = None
    start_date: date | None = None
    end_date: date | None = None  # exclusive
    rrule: str = ""
    rdates: list[str] = field(default_factory=list)
    exdates: list[str] = field(default_factory=list)
    location: str = ""
    lat: float | None = None
    lon: float | None = None
    status: str = "confirmed"
    sequence: int = 0
    overrides: list[OverrideData] = field(default_factory=list)
    # LAST-MODIFIED (or DTSTAMP) when read; written as DTSTAMP, so a feed's bytes only change with its plans.
    updated_at: datetime | None = field(default=None, compare=False)

    def series(self) -> Series:
        """The plan's recurrence, overrides included, as the expansion reads it."""
        return Series(
            **{name: getattr(self, name) for name in _SERIES_FIELDS},
            rdates=tuple(self.rdates),
            exdates=tuple(self.exdates),
            overrides={o.recurrence_id: o for o in self.overrides},
        )

    def original_span(self, original: datetime | date) -> tuple[Any, Any]:
        """The start and end the instance with this original start has before any override: dates when
        all-day, wall-clock times otherwise."""
        if self.all_day:
            day = original.date() if isinstance(original, datetime) else original
            assert self.start_date is not None
            assert self.end_date is not None
            return day, day + (self.end_date - self.start_date)
        start = original if isinstance(original, datetime) else datetime.combine(original, time.min)
        assert self.start_local is not None
        assert self.end_local is not None
        return start, start + (self.end_local - self.start_local)


@dataclass(frozen=True)
class Refusal:
    uid: str | None
    reason: str


@dataclass
class ParsedCalendar:
    items: list[PlanData]
    refused: list[Refusal]
    skipped_components: int
    name: str = ""  # X-WR-CALNAME
    timezone: str | None = None  # X-WR-TIMEZONE, when it names a known zone
