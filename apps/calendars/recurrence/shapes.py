"""What recurrence works with: its limits, its error, a series and its overrides, a parsed RRULE, an occurrence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apps.calendars.recurrence.compiled import CompiledSeries

MAX_OCCURRENCES = 10_000  # instances evaluated per call (and per COUNT series)
MAX_SPAN = timedelta(days=5 * 366)  # the longest window evaluated in one call
MAX_STEPS = 50_000  # days (or clock periods) a rule may examine per call: a bound on time, whatever the rule
MAX_RRULE_LENGTH = 500  # Plan.rrule's column
MAX_DATES = 5_000  # RDATE or EXDATE values per series
MAX_INTERVAL = 10_000

YEARLY, MONTHLY, WEEKLY, DAILY, HOURLY, MINUTELY, SECONDLY = range(7)
FREQUENCIES = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
RULE_PARTS = (
    "FREQ", "COUNT", "UNTIL", "INTERVAL", "BYMONTH", "BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY", "BYHOUR",
    "BYMINUTE", "BYSECOND", "BYSETPOS", "WKST",
)  # fmt: skip


class RecurrenceError(ValueError):
    """A series that cannot be evaluated: an invalid RRULE, date value or override key."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OverrideSpec:
    """One instance of a series changed: moved (new start/end), retitled, re-statused or cancelled.

    Times are naive local wall-clock times in the series' zone (or dates for an all-day instance); None means
    "as the series has it". An override of a timed series may become all-day (start_date) and vice versa.

    With `this_and_future` (RECURRENCE-ID;RANGE=THISANDFUTURE) the change also applies to every later instance
    the rules or RDATEs generate, until a later such override takes over: each is moved by this override's
    shift (its start minus its original start), lasts this override's duration and takes its title, status
    and cancellation.
    """

    cancelled: bool = False
    title: str | None = None
    start_local: datetime | None = None
    end_local: datetime | None = None
    start_date: date | None = None
    end_date: date | None = None
    status: str | None = None
    this_and_future: bool = False


@dataclass(frozen=True, eq=False)
class Series:
    """A plan's recurrence, as its Plan row stores it.

    `rrule` is RRULE value text ("FREQ=WEEKLY;BYDAY=SA"; several rules, rarely, one per line); `rdates` and
    `exdates` are ISO strings: naive local "YYYY-MM-DDTHH:MM:SS" for timed series (an RDATE may be a period
    "start/end"), "YYYY-MM-DD" for all-day ones. `overrides` maps recurrence_id (the instance's original start
    in the same notation) to its OverrideSpec.

    Parsed state is cached on the instance, so keep one Series per plan while it is expanded repeatedly.
    """

    timezone: str
    all_day: bool = False
    start_local: datetime | None = None
    end_local: datetime | None = None
    start_date: date | None = None
    end_date: date | None = None
    rrule: str = ""
    rdates: Sequence[str] = ()
    exdates: Sequence[str] = ()
    overrides: Mapping[str, OverrideSpec] = field(default_factory=dict)

    @cached_property
    def compiled(self) -> CompiledSeries:
        """The series parsed for expansion; RecurrenceError when it cannot be evaluated."""
        from apps.calendars.recurrence.compiled import compile_series  # compiled.py builds on these shapes

        return compile_series(self)

    @property
    def is_recurring(self) -> bool:
        return bool(self.rrule.strip() or self.rdates)


@dataclass(frozen=True, slots=True)
class Rule:
    """One parsed RRULE. `until` is an aware UTC datetime, a naive local datetime or a date."""

    freq: int
    interval: int = 1
    count: int | None = None
    until: datetime | date | None = None
    wkst: int = 0
    bymonth: tuple[int, ...] = ()
    byweekno: tuple[int, ...] = ()
    byyearday: tuple[int, ...] = ()
    bymonthday: tuple[int, ...] = ()
    byday: tuple[tuple[int, int], ...] = ()  # (weekday 0=MO..6=SU, n); n=0: every such weekday
    byhour: tuple[int, ...] = ()
    byminute: tuple[int, ...] = ()
    bysecond: tuple[int, ...] = ()
    bysetpos: tuple[int, ...] = ()
    parts: tuple[tuple[str, str], ...] = ()  # normalised KEY=value pairs, in RULE_PARTS order


@dataclass(slots=True, unsafe_hash=True)
class Occurrence:
    """One occurrence of a series: UTC instants, plus local times (timed) or dates (all-day). Read-only by
    convention and hashable (not frozen only because frozen dataclasses are slower to build, and expand builds
    many)."""

    recurrence_id: str
    start_utc: datetime
    end_utc: datetime
    all_day: bool
    start_local: datetime | None = None  # aware, in the plan's zone
    end_local: datetime | None = None
    start_date: date | None = None
    end_date: date | None = None  # exclusive
    cancelled: bool = False
    title: str | None = None  # the override's title, None when the series' applies
    status: str | None = None  # the override's status, None when the series' applies
    overridden: bool = False
