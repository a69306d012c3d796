"""Recurrence of plans: RRULE, RDATE, EXDATE and per-occurrence overrides, evaluated on wall-clock time.

Pure functions, no database. A plan's series is described by a `Series` (what a Plan row and its
PlanOverride rows hold); `expand()` returns every occurrence overlapping a UTC window.

How time is read (RFC 5545, and what recurring-ical-events does with dateutil):

- The rule is evaluated on naive local wall-clock times in the plan's zone, so "every Saturday 10:00
  Europe/Berlin" stays at 10:00 local across daylight-saving changes. A generated local time that does not
  exist (the spring-forward gap) is read with the offset before the gap, so 02:30 becomes 03:30 local; an
  ambiguous one (the autumn fold) takes its first instance.
- An occurrence lasts the master's wall-clock duration (end_local - start_local), or its RDATE period's.
- All-day series work in dates; an all-day occurrence spans the local midnights of its dates in the zone.
- UNTIL may be UTC (`...Z`, an instant), a local date-time (wall-clock in the plan's zone) or a date (for a
  timed series: through the end of that local day; for an all-day series: that day is the last one). For an
  all-day series a date-time UNTIL counts by its date as written.
- DTSTART is always an occurrence (unless it lies after UNTIL), like dateutil's rruleset with DTSTART as
  an RDATE; COUNT counts the instances of the rule.
- An EXDATE removes the instance starting at exactly that local time; a date EXDATE on a timed series
  removes every instance on that local date.
- Overrides are keyed by the instance's original start (recurrence_id). Every override is an occurrence
  of its own (moved into or out of the window, or cancelled and flagged), unless an EXDATE removes it; an
  override whose recurrence_id matches no instance is still shown, as calendar apps do.
- An override with RANGE=THISANDFUTURE also changes every later generated instance (see OverrideSpec).

The modules: `shapes` (limits and data), `clock` (wall clock and UTC), `dates` (RDATE/EXDATE text), `rrule`
(RRULE text), `engine` and `runs` (the rule engine), `compiled` (a series read once) and `expansion`.
"""

from apps.calendars.recurrence.clock import day_start_utc
from apps.calendars.recurrence.dates import format_local, parse_local, validate_dates
from apps.calendars.recurrence.expansion import expand, occurrence_at, series_end_utc, series_start_utc
from apps.calendars.recurrence.rrule import normalise_rrule, parse_rule, validate_rrule
from apps.calendars.recurrence.shapes import (
    MAX_DATES,
    MAX_OCCURRENCES,
    Occurrence,
    OverrideSpec,
    RecurrenceError,
    Series,
)

__all__ = [
    "MAX_DATES",
    "MAX_OCCURRENCES",
    "Occurrence",
    "OverrideSpec",
    "RecurrenceError",
    "Series",
    "day_start_utc",
    "expand",
    "format_local",
    "normalise_rrule",
    "occurrence_at",
    "parse_local",
    "parse_rule",
    "series_end_utc",
    "series_start_utc",
    "validate_dates",
    "validate_rrule",
]
