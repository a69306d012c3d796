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

The rule engine is our own (it follows dateutil's reading of RFC 5545, which the reference library uses),
because it has to be bounded and fast: it jumps straight to the window instead of walking from DTSTART,
caps the number of instances and of periods it looks at per call, and never loops on a rule that can
never match (such as BYMONTH=2;BYMONTHDAY=30).
"""

from __future__ import annotations

import bisect
import calendar
import re
import threading
import zoneinfo
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cached_property, lru_cache

MAX_OCCURRENCES = 10_000  # instances evaluated per call (and per COUNT series)
MAX_SPAN = timedelta(days=5 * 366)  # the longest window evaluated in one call
MAX_STEPS = 50_000  # days (or clock periods) a rule may examine per call: a bound on time, whatever the rule
MAX_RRULE_LENGTH = 500  # Plan.rrule's column
MAX_DATES = 5_000  # RDATE or EXDATE values per series
MAX_INTERVAL = 10_000

YEARLY, MONTHLY, WEEKLY, DAILY, HOURLY, MINUTELY, SECONDLY = range(7)
FREQUENCIES = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_ORDER = (
    "FREQ", "COUNT", "UNTIL", "INTERVAL", "BYMONTH", "BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY", "BYHOUR",
    "BYMINUTE", "BYSECOND", "BYSETPOS", "WKST",
)  # fmt: skip
_ONE_DAY = timedelta(days=1)
_LOOKAROUND = timedelta(hours=3)  # covers any fold between the local and UTC readings of a window
_UNTIL_SLACK = timedelta(hours=3)  # covers any DST shift between a UTC UNTIL and its local reading


class RecurrenceError(ValueError):
    """A series that cannot be evaluated: an invalid RRULE, date value or override key."""


# --- The public shapes ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OverrideSpec:
    """One instance of a series changed: moved (new start/end), retitled, re-statused or cancelled.

    Times are naive local wall-clock times in the series' zone (or dates for an all-day instance); None means
    "as the series has it". An override of a timed series may become all-day (start_date) and vice versa.
    """

    cancelled: bool = False
    title: str | None = None
    start_local: datetime | None = None
    end_local: datetime | None = None
    start_date: date | None = None
    end_date: date | None = None
    status: str | None = None


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
    def _compiled(self) -> _Compiled:
        return _compile(self)

    @property
    def is_recurring(self) -> bool:
        return bool(self.rrule.strip() or self.rdates)


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


# --- Public functions ---------------------------------------------------------------------------------------


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
    window_start = _aware_utc(window_start_utc, "window_start_utc")
    window_end = _aware_utc(window_end_utc, "window_end_utc")
    if window_end < window_start:
        raise RecurrenceError("The window ends before it starts.")
    window_end = min(window_end, window_start + max_span)
    compiled = series._compiled
    zone = compiled.zone
    lo = _local(window_start, zone) - compiled.lookback - _LOOKAROUND
    hi = _local(window_end, zone) + _LOOKAROUND
    starts = compiled.instances(lo, hi, budget=_Budget(max_occurrences))[:max_occurrences]

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

    An upper bound (UNTIL plus the duration), so window queries can skip series that ended before them.
    """
    compiled = series._compiled
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
                            _local_end_utc(compiled, _local(last_start, compiled.zone), compiled.duration),
                        )
                    )
                else:
                    ends.append(_local_end_utc(compiled, rule.until_naive, compiled.duration))
            else:
                return None
        for start, duration in compiled.rdates:
            ends.append(_local_end_utc(compiled, start, duration if duration is not None else compiled.duration))
        ends.extend(override.occurrence.end_utc for override in compiled.overrides)
        return max(ends)
    except OverflowError:  # an UNTIL or RDATE so late that adding the duration leaves datetime's range
        return None


def validate_rrule(text: str, *, timezone: str | None = None, all_day: bool = False) -> str:
    """The normalised RRULE text, or RecurrenceError saying what is wrong with it.

    Accepts an optional "RRULE:" prefix and several rules on separate lines. Keys are upper-cased and put in
    a fixed order; COUNT and UNTIL together are refused (RFC 5545). With `timezone` (the plan's zone), a local
    or date UNTIL of a timed series is rewritten in UTC ("...Z") as RFC 5545 requires, and the UNTIL of an
    all-day series becomes a date.
    """
    return _normalise_rules(text, strict=True, timezone=timezone, all_day=all_day, start=None)


def normalise_rrule(
    text: str, *, timezone: str | None = None, all_day: bool = False, start: datetime | date | None = None
) -> str:
    """Like validate_rrule, but lenient as importers must be: a negative COUNT and X- parts are dropped, and
    COUNT with UNTIL is kept, or, given the series' `start` (and zone), reduced to whichever ends it first."""
    return _normalise_rules(text, strict=False, timezone=timezone, all_day=all_day, start=start)


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
                start, duration = _parse_rdate(value, timezone, all_day)
                moments = [start] if duration is None else [start, start + duration]
            else:
                parsed = parse_local(value, timezone=timezone)
                moments = [parsed if isinstance(parsed, datetime) else datetime.combine(parsed, time.min)]
        except OverflowError as exc:
            raise RecurrenceError(f"'{value}' is outside the years {first_year} to {last_year}.") from exc
        if any(not first_year <= moment.year <= last_year for moment in moments):
            raise RecurrenceError(f"'{value}' is outside the years {first_year} to {last_year}.")


def parse_local(value: str, *, timezone: str | None = None) -> datetime | date:
    """An RDATE/EXDATE/recurrence_id string: naive local datetime, or a date. An aware value is read in
    `timezone` (UTC when not given)."""
    if not isinstance(value, str):
        raise RecurrenceError(f"'{value}' is not an ISO date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM:SS).")
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(_zone(timezone or "UTC")).replace(tzinfo=None)
    except (ValueError, OverflowError) as exc:
        raise RecurrenceError(f"'{value}' is not an ISO date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM:SS).") from exc
    return parsed.replace(microsecond=0)


def format_local(value: datetime | date) -> str:
    """The ISO string of a naive local date-time ("YYYY-MM-DDTHH:MM:SS") or a date ("YYYY-MM-DD")."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0).isoformat()
    return value.isoformat()


def local_to_utc(value: datetime, timezone: str) -> datetime:
    """A naive wall-clock time in `timezone` as a UTC instant (a time in a DST gap moves forward)."""
    return _utc(value, _zone(timezone))


def day_start_utc(day: date, timezone: str) -> datetime:
    """Local midnight of `day` in `timezone`, as UTC."""
    return _utc(datetime.combine(day, time.min), _zone(timezone))


# --- RRULE text ---------------------------------------------------------------------------------------------


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
    parts: tuple[tuple[str, str], ...] = ()  # normalised KEY=value pairs, in _ORDER


_BYDAY_RE = re.compile(r"^([+-]?)(\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_UNTIL_RE = re.compile(r"^(\d{8})(?:T(\d{6})(Z?))?$")
_INT_LISTS: dict[str, tuple[int, int, bool]] = {
    # name: (lowest, highest, negative values allowed)
    "BYSECOND": (0, 60, False),
    "BYMINUTE": (0, 59, False),
    "BYHOUR": (0, 23, False),
    "BYMONTHDAY": (1, 31, True),
    "BYYEARDAY": (1, 366, True),
    "BYWEEKNO": (1, 53, True),
    "BYMONTH": (1, 12, False),
    "BYSETPOS": (1, 366, True),
}


def parse_rule(text: str, *, strict: bool = True) -> Rule:
    """One RRULE value ("FREQ=...;..."), or RecurrenceError naming the part that is wrong."""
    return _parse_rule(text.strip(), strict)


@lru_cache(maxsize=4096)
def _parse_rule(text: str, strict: bool) -> Rule:
    body = text[6:] if text.upper().startswith("RRULE:") else text
    if not body:
        raise RecurrenceError("The RRULE is empty.")
    values: dict[str, str] = {}
    for raw in body.split(";"):
        if not raw.strip():
            continue
        key, sep, value = raw.partition("=")
        key, value = key.strip().upper(), value.strip().upper()
        if not sep or not key or not value:
            raise RecurrenceError(f"'{raw}' is not a KEY=value part of an RRULE.")
        if key.startswith("X-"):
            if strict:
                raise RecurrenceError(f"The RRULE part {key} is not supported.")
            continue
        if key not in _ORDER:
            if key in ("RSCALE", "SKIP"):
                raise RecurrenceError(f"{key} (non-Gregorian recurrence, RFC 7529) is not supported.")
            raise RecurrenceError(f"'{key}' is not an RRULE part (FREQ, UNTIL, COUNT, INTERVAL, BYxxx, WKST).")
        if key in values:
            raise RecurrenceError(f"The RRULE part {key} is given twice.")
        values[key] = value
    if "FREQ" not in values:
        raise RecurrenceError("The RRULE needs FREQ (e.g. FREQ=WEEKLY).")
    if values["FREQ"] not in FREQUENCIES:
        raise RecurrenceError(f"FREQ={values['FREQ']} is not one of {', '.join(FREQUENCIES)}.")
    freq = FREQUENCIES.index(values["FREQ"])

    count: int | None = None
    if "COUNT" in values:
        number = _integer("COUNT", values["COUNT"])
        if number < 1:
            if strict:
                raise RecurrenceError("COUNT must be a positive number.")
            del values["COUNT"]  # what recurring-ical-events does with COUNT=-1: no count at all
        else:
            count = number
    until: datetime | date | None = None
    if "UNTIL" in values:
        until = _parse_until(values["UNTIL"])
    if strict and count is not None and until is not None:
        raise RecurrenceError("An RRULE may have COUNT or UNTIL, not both.")
    interval = _integer("INTERVAL", values.get("INTERVAL", "1"))
    if not 1 <= interval <= MAX_INTERVAL:
        raise RecurrenceError(f"INTERVAL must be between 1 and {MAX_INTERVAL}.")
    wkst = 0
    if "WKST" in values:
        if values["WKST"] not in WEEKDAYS:
            raise RecurrenceError(f"WKST={values['WKST']} is not a weekday (MO..SU).")
        wkst = WEEKDAYS.index(values["WKST"])
    lists = {name: _int_list(name, values[name]) for name in _INT_LISTS if name in values}
    byday: list[tuple[int, int]] = []
    if "BYDAY" in values:
        for item in values["BYDAY"].split(","):
            match = _BYDAY_RE.match(item.strip())
            if not match:
                raise RecurrenceError(f"BYDAY value '{item}' is not a weekday like MO, 2SA or -1FR.")
            sign, ordinal, day = match.groups()
            n = int(ordinal) if ordinal else 0
            if ordinal and not 1 <= n <= 53:
                raise RecurrenceError(f"BYDAY value '{item}': the ordinal must be between 1 and 53.")
            byday.append((WEEKDAYS.index(day), -n if sign == "-" else n))
    parts = tuple((key, values[key]) for key in _ORDER if key in values)
    return Rule(
        freq=freq,
        interval=interval,
        count=count,
        until=until,
        wkst=wkst,
        bymonth=lists.get("BYMONTH", ()),
        byweekno=lists.get("BYWEEKNO", ()),
        byyearday=lists.get("BYYEARDAY", ()),
        bymonthday=lists.get("BYMONTHDAY", ()),
        byday=tuple(dict.fromkeys(byday)),
        byhour=lists.get("BYHOUR", ()),
        byminute=lists.get("BYMINUTE", ()),
        bysecond=lists.get("BYSECOND", ()),
        bysetpos=lists.get("BYSETPOS", ()),
        parts=parts,
    )


def _integer(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise RecurrenceError(f"{name}={value} is not a whole number.") from exc


def _int_list(name: str, value: str) -> tuple[int, ...]:
    low, high, negative = _INT_LISTS[name]
    numbers: list[int] = []
    for item in value.split(","):
        number = _integer(name, item.strip())
        if not (low <= number <= high or (negative and -high <= number <= -low)):
            allowed = f"{low}..{high}" + (f" or -{high}..-{low}" if negative else "")
            raise RecurrenceError(f"{name} value {number} is out of range ({allowed}).")
        numbers.append(number)
    return tuple(sorted(set(numbers)))


def _parse_until(value: str) -> datetime | date:
    match = _UNTIL_RE.match(value)
    if not match:
        raise RecurrenceError(f"UNTIL={value} is not a date (YYYYMMDD) or date-time (YYYYMMDDTHHMMSS[Z]).")
    day, clock, utc = match.groups()
    try:
        if clock is None:
            return datetime.strptime(day, "%Y%m%d").date()
        parsed = datetime.strptime(day + clock, "%Y%m%d%H%M%S")
    except ValueError as exc:
        raise RecurrenceError(f"UNTIL={value} is not a valid date.") from exc
    return parsed.replace(tzinfo=UTC) if utc else parsed


def _normalise_rules(
    text: str, *, strict: bool, timezone: str | None, all_day: bool, start: datetime | date | None
) -> str:
    lines = [line.strip() for line in text.replace("\r", "\n").split("\n") if line.strip()]
    if not lines:
        raise RecurrenceError("The RRULE is empty.")
    zone = _zone(timezone) if timezone else None
    normalised: list[str] = []
    for line in lines:
        rule = _parse_rule(line, strict)
        parts = dict(rule.parts)
        if rule.count is not None and rule.until is not None and start is not None and zone is not None:
            first = start if isinstance(start, datetime) else datetime.combine(start, time.min)
            instances, _ = _RuleRun(rule, first, zone, all_day).materialized()
            del parts["UNTIL" if len(instances) >= rule.count else "COUNT"]
        if rule.until is not None and "UNTIL" in parts and (zone is not None or all_day):
            parts["UNTIL"] = _format_until(rule.until, zone=zone, all_day=all_day)
        normalised.append(";".join(f"{key}={parts[key]}" for key in _ORDER if key in parts))
    result = "\n".join(dict.fromkeys(normalised))
    if len(result) > MAX_RRULE_LENGTH:
        raise RecurrenceError(f"The RRULE is longer than {MAX_RRULE_LENGTH} characters.")
    return result


def _format_until(until: datetime | date, *, zone: zoneinfo.ZoneInfo | None, all_day: bool) -> str:
    if all_day:
        return (until if not isinstance(until, datetime) else until.date()).strftime("%Y%m%d")
    if zone is None:
        raise RecurrenceError("A timed series needs its zone to normalise UNTIL.")
    if isinstance(until, datetime):
        instant = until if until.tzinfo is not None else _utc(until, zone)
    else:  # a date: through the end of that local day
        instant = _utc(datetime.combine(until + _ONE_DAY, time.min), zone) - timedelta(seconds=1)
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


# --- The rule engine ----------------------------------------------------------------------------------------


class _Budget:
    """Counts instances produced and days (or clock periods) examined in one call; generation stops when
    either runs out."""

    __slots__ = ("instances", "steps")

    def __init__(self, instances: int, steps: int = MAX_STEPS) -> None:
        self.instances = instances
        self.steps = steps


class _Engine:
    """The instances of one RRULE from one DTSTART, as naive local datetimes in order (dateutil's reading)."""

    def __init__(self, rule: Rule, dtstart: datetime) -> None:
        self.rule = rule
        self.dtstart = dtstart = dtstart.replace(microsecond=0, tzinfo=None)
        freq = rule.freq
        self.freq, self.interval, self.wkst = freq, rule.interval, rule.wkst
        bymonth, bymonthday, byday = rule.bymonth, rule.bymonthday, rule.byday
        if not (rule.byweekno or rule.byyearday or rule.bymonthday or rule.byday):
            if freq == YEARLY:
                bymonth = bymonth or (dtstart.month,)
                bymonthday = (dtstart.day,)
            elif freq == MONTHLY:
                bymonthday = (dtstart.day,)
            elif freq == WEEKLY:
                byday = ((dtstart.weekday(), 0),)
        self.bymonth = frozenset(bymonth)
        self.sorted_months = tuple(sorted(bymonth))
        self.bymonthday = bymonthday
        self.pos_monthdays = frozenset(d for d in bymonthday if d > 0)
        self.neg_monthdays = frozenset(d for d in bymonthday if d < 0)
        self.byyearday = frozenset(rule.byyearday)
        self.byweekno = rule.byweekno
        # The ordinal of BYDAY counts within the month or year only for MONTHLY and YEARLY (dateutil, RFC).
        self.plain_days = frozenset(wd for wd, n in byday if n == 0 or freq > MONTHLY)
        self.nth_days = tuple((wd, n) for wd, n in byday if n != 0 and freq <= MONTHLY)
        self.has_byday = bool(byday)
        self.byhour = frozenset(rule.byhour or ((dtstart.hour,) if freq < HOURLY else ()))
        self.byminute = tuple(sorted(rule.byminute or ((dtstart.minute,) if freq < MINUTELY else ())))
        self.bysecond = tuple(sorted(rule.bysecond or ((dtstart.second,) if freq < SECONDLY else ())))
        self.bysetpos = rule.bysetpos
        self.timeset = tuple(time(h, m, s) for h in sorted(self.byhour) for m in self.byminute for s in self.bysecond)
        # Candidate days come from expanding BYMONTHDAY where that is exact; otherwise a scan of the period.
        self.expand_monthdays = freq in (YEARLY, MONTHLY) and bool(bymonthday) and not (rule.byweekno or rule.byyearday)
        # ... or from BYDAY, when no BYMONTHDAY, BYYEARDAY or BYWEEKNO narrows the days.
        self.expand_weekdays = (
            freq in (YEARLY, MONTHLY) and bool(byday) and not (bymonthday or rule.byweekno or rule.byyearday)
        )
        self.filter_only_weekdays = not (self.bymonth or bymonthday or rule.byyearday or rule.byweekno or self.nth_days)
        self.week0 = dtstart.date() - timedelta(days=(dtstart.weekday() - rule.wkst) % 7)
        # From DAILY down, every period offers the same number of candidates: BYSETPOS beyond it never matches.
        per_period = {
            DAILY: len(self.timeset),
            HOURLY: len(self.byminute) * len(self.bysecond),
            MINUTELY: len(self.bysecond),
            SECONDLY: 1,
        }.get(freq)
        self.never = bool(self.bysetpos) and per_period is not None and all(abs(p) > per_period for p in self.bysetpos)
        self.simple = (
            freq in (DAILY, WEEKLY)
            and len(self.timeset) == 1
            and not self.bysetpos
            and (self.filter_only_weekdays if freq == WEEKLY else not (self.bymonth or bymonthday or self.has_byday))
            and not (rule.byyearday or rule.byweekno)
        )
        if freq == WEEKLY:
            self.simple_offsets = tuple(
                timedelta(days=d) for d in sorted((wd - rule.wkst) % 7 for wd in self.plain_days)
            )
        else:
            self.simple_offsets = (timedelta(0),)
        self._nth_cache: dict[tuple[int, int], frozenset[date]] = {}
        self._weekno_cache: dict[int, frozenset[int]] = {}

    # Periods --------------------------------------------------------------------------------------------------

    def first_period(self, lo: datetime) -> int:
        """An index of a period that starts no later than `lo` (so nothing at or after `lo` is skipped)."""
        start, freq, interval = self.dtstart, self.freq, self.interval
        if lo <= start:
            return 0
        if freq == YEARLY:
            periods = (lo.year - start.year) // interval
        elif freq == MONTHLY:
            periods = ((lo.year - start.year) * 12 + lo.month - start.month) // interval
        elif freq == WEEKLY:
            periods = (lo.date() - self.week0).days // (7 * interval)
        elif freq == DAILY:
            periods = (lo.date() - start.date()).days // interval
        else:
            periods = int((lo - self._anchor()).total_seconds() // (self._unit_seconds() * interval))
        return max(0, periods - 1)

    def _anchor(self) -> datetime:
        start = self.dtstart
        if self.freq == HOURLY:
            return start.replace(minute=0, second=0)
        if self.freq == MINUTELY:
            return start.replace(second=0)
        return start

    def _unit_seconds(self) -> int:
        return {HOURLY: 3600, MINUTELY: 60, SECONDLY: 1}[self.freq]

    def iterate(self, first_period: int, stop: datetime, budget: _Budget) -> Iterator[datetime]:
        """Instances from period `first_period` on, up to `stop` (inclusive), within the budget."""
        if self.never:
            return
        if self.simple:
            yield from self._iterate_simple(first_period, stop, budget)
        elif self.freq <= DAILY:
            yield from self._iterate_days(first_period, stop, budget)
        else:
            yield from self._iterate_clock(first_period, stop, budget)

    def _iterate_simple(self, period: int, stop: datetime, budget: _Budget) -> Iterator[datetime]:
        """DAILY, or WEEKLY on some weekdays, at one time of day: plain date arithmetic."""
        dtstart = self.dtstart
        days_per_period = 1 if self.freq == DAILY else 7
        first_day = dtstart.date() if self.freq == DAILY else self.week0
        step = timedelta(days=days_per_period * self.interval)
        offsets = self.simple_offsets
        try:
            base = datetime.combine(first_day, self.timeset[0]) + step * period
        except OverflowError:
            return
        while budget.steps > 0 and budget.instances > 0:
            budget.steps -= days_per_period
            for offset in offsets:
                candidate = base + offset
                if candidate < dtstart:
                    continue
                if candidate > stop:
                    return
                budget.instances -= 1
                yield candidate
                if budget.instances <= 0:
                    return
            try:
                base += step
            except OverflowError:
                return

    def _iterate_days(self, period: int, stop: datetime, budget: _Budget) -> Iterator[datetime]:
        dtstart, stop_day = self.dtstart, stop.date()
        while budget.steps > 0 and budget.instances > 0:
            try:
                period_start, examined, days = self._period(period)
            except (OverflowError, ValueError):
                return  # past year 9999
            budget.steps -= examined
            if period_start > stop_day:
                return
            period += 1
            if not days:
                continue
            if self.bysetpos:
                candidates = _setpos([datetime.combine(d, t) for d in days for t in self.timeset], self.bysetpos)
            else:
                candidates = [datetime.combine(d, t) for d in days for t in self.timeset]
            for candidate in candidates:
                if candidate < dtstart:
                    continue
                if candidate > stop:
                    return
                budget.instances -= 1
                yield candidate
                if budget.instances <= 0:
                    return

    def _period(self, index: int) -> tuple[date, int, list[date]]:
        """The first day of period `index`, how many days were examined, and the matching days in order."""
        freq, step = self.freq, index * self.interval
        start = self.dtstart
        if freq == DAILY:
            day = start.date() + timedelta(days=step)
            return day, 1, [day] if self._day_ok(day, 0) else []
        if freq == WEEKLY:
            first = self.week0 + timedelta(days=7 * step)
            week = [first + timedelta(days=i) for i in range(7)]
            if self.filter_only_weekdays:
                return first, 7, [d for d in week if d.weekday() in self.plain_days]
            return first, 7, [d for d in week if self._day_ok(d, 0)]
        if freq == MONTHLY:
            serial = start.year * 12 + start.month - 1 + step
            year, month = divmod(serial, 12)
            month += 1
            first = date(year, month, 1)
            if self.bymonth and month not in self.bymonth:
                return first, 1, []
            days = self._month_candidates(year, month)
            return first, len(days) or 1, [d for d in days if self._day_ok(d, month)]
        year = start.year + step
        first = date(year, 1, 1)
        if self.expand_monthdays:
            months = self.sorted_months or tuple(range(1, 13))
            days = [d for m in months for d in self._month_candidates(year, m)]
        elif self.sorted_months and not (self.byweekno or self.byyearday):
            days = [d for m in self.sorted_months for d in self._month_candidates(year, m)]
        elif self.expand_weekdays:
            days = self._weekday_candidates(date(year, 1, 1), date(year, 12, 31), (year, 0))
        else:
            days = _days_of_year(year)
        context = -1 if self.sorted_months else 0  # nth weekday within each month, or within the year
        return first, len(days) or 1, [d for d in days if self._day_ok(d, context)]

    def _month_candidates(self, year: int, month: int) -> list[date]:
        if self.expand_weekdays:
            last = calendar.monthrange(year, month)[1]
            return self._weekday_candidates(date(year, month, 1), date(year, month, last), (year, month))
        if not self.expand_monthdays:
            return _days_of_month(year, month)
        length = calendar.monthrange(year, month)[1]
        days = {d if d > 0 else length + d + 1 for d in self.bymonthday}
        return [date(year, month, d) for d in sorted(days) if 1 <= d <= length]

    def _weekday_candidates(self, first: date, last: date, nth_key: tuple[int, int]) -> list[date]:
        """The days from `first` to `last` on a BYDAY weekday, or the BYDAY nth weekdays of the month/year."""
        days: set[date] = set()
        for weekday in self.plain_days:
            day = first + timedelta(days=(weekday - first.weekday()) % 7)
            while day <= last:
                days.add(day)
                day += timedelta(days=7)
        if self.nth_days:
            days.update(self._nth(nth_key))
        return sorted(days)

    def _day_ok(self, day: date, context: int) -> bool:
        """Whether `day` passes every BYxxx day filter. context: 0 = the year (YEARLY) or none, a month number
        (MONTHLY), -1 = the day's own month (YEARLY with BYMONTH)."""
        if self.bymonth and day.month not in self.bymonth:
            return False
        if self.bymonthday and not self.expand_monthdays:
            length = calendar.monthrange(day.year, day.month)[1]
            if day.day not in self.pos_monthdays and day.day - length - 1 not in self.neg_monthdays:
                return False
        if self.byyearday:
            yearday = day.timetuple().tm_yday
            length = 366 if calendar.isleap(day.year) else 365
            if yearday not in self.byyearday and yearday - length - 1 not in self.byyearday:
                return False
        if self.byweekno and (day.timetuple().tm_yday - 1) not in self._weekno_days(day.year):
            return False
        if self.has_byday and day.weekday() not in self.plain_days:
            if not self.nth_days:
                return False
            key = (day.year, day.month) if self.freq == MONTHLY or context == -1 else (day.year, 0)
            if day not in self._nth(key):
                return False
        return True

    def _nth(self, key: tuple[int, int]) -> frozenset[date]:
        found = self._nth_cache.get(key)
        if found is None:
            year, month = key
            if month:
                first, last = date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
            else:
                first, last = date(year, 1, 1), date(year, 12, 31)
            days: set[date] = set()
            for weekday, n in self.nth_days:
                if n > 0:
                    day = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
                else:
                    day = last - timedelta(days=(last.weekday() - weekday) % 7 + 7 * (-n - 1))
                if first <= day <= last:
                    days.add(day)
            found = self._nth_cache[key] = frozenset(days)
        return found

    def _weekno_days(self, year: int) -> frozenset[int]:
        """Day-of-year indexes (0-based) in the BYWEEKNO weeks of `year`, numbered from WKST (dateutil)."""
        found = self._weekno_cache.get(year)
        if found is None:
            found = self._weekno_cache[year] = _weekno_days(year, self.byweekno, self.wkst)
        return found

    def _iterate_clock(self, period: int, stop: datetime, budget: _Budget) -> Iterator[datetime]:
        """HOURLY, MINUTELY, SECONDLY: periods on the wall clock. A day that fails the day filters, an hour not in
        BYHOUR or a minute not in BYMINUTE is skipped in one jump, as dateutil does."""
        unit = timedelta(seconds=self._unit_seconds())
        step = unit * self.interval
        current = self._anchor() + step * period
        dtstart, freq = self.dtstart, self.freq
        byhour, byminute, bysecond = self.byhour, frozenset(self.byminute), frozenset(self.bysecond)
        day_ok: dict[date, bool] = {}
        while budget.steps > 0 and budget.instances > 0:
            budget.steps -= 1
            if current > stop:
                return
            day = current.date()
            ok = day_ok.get(day)
            if ok is None:
                ok = day_ok[day] = self._day_ok(day, 0)
            boundary: datetime | None = None
            if not ok:
                boundary = datetime.combine(day + _ONE_DAY, time.min)
            elif byhour and current.hour not in byhour:
                boundary = current.replace(minute=0, second=0) + timedelta(hours=1)
            elif freq == SECONDLY and byminute and current.minute not in byminute:
                boundary = current.replace(second=0) + timedelta(minutes=1)
            if boundary is not None:  # on to the first period at or after the boundary
                try:
                    current += step * max(1, -(-(boundary - current) // step))
                except OverflowError:
                    return
                continue
            candidates: list[datetime]
            if freq == HOURLY:
                candidates = [current.replace(minute=m, second=s) for m in self.byminute for s in self.bysecond]
            elif freq == MINUTELY:
                matches = not byminute or current.minute in byminute
                candidates = [current.replace(second=s) for s in self.bysecond] if matches else []
            else:
                candidates = [current] if not bysecond or current.second in bysecond else []
            if self.bysetpos:
                candidates = _setpos(candidates, self.bysetpos)
            for candidate in candidates:
                if candidate < dtstart:
                    continue
                if candidate > stop:
                    return
                budget.instances -= 1
                yield candidate
                if budget.instances <= 0:
                    return
            try:
                current += step
            except OverflowError:
                return


def _setpos(candidates: list[datetime], positions: tuple[int, ...]) -> list[datetime]:
    size = len(candidates)
    chosen = {candidates[p - 1] if p > 0 else candidates[p] for p in positions if -size <= p <= size and p != 0}
    return sorted(chosen)


@lru_cache(maxsize=64)
def _days_of_year(year: int) -> list[date]:
    first = date(year, 1, 1).toordinal()
    return [date.fromordinal(first + i) for i in range(366 if calendar.isleap(year) else 365)]


@lru_cache(maxsize=512)
def _days_of_month(year: int, month: int) -> list[date]:
    return [date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)]


def _weekno_days(year: int, byweekno: tuple[int, ...], wkst: int) -> frozenset[int]:
    """dateutil's BYWEEKNO mask: week 1 is the first week (starting on WKST) with at least 4 days in the year."""
    year_weekday = date(year, 1, 1).weekday()
    year_length = 366 if calendar.isleap(year) else 365
    no1wkst = first_wkst = (7 - year_weekday + wkst) % 7
    if no1wkst >= 4:
        no1wkst = 0
        week_year_length = year_length + (year_weekday - wkst) % 7
    else:
        week_year_length = year_length - no1wkst
    div, mod = divmod(week_year_length, 7)
    weeks = div + mod // 4
    days: set[int] = set()

    def mark_week(index: int) -> None:
        for _ in range(7):
            days.add(index)
            index += 1
            if (year_weekday + index) % 7 == wkst:
                break

    for number in byweekno:
        n = number + weeks + 1 if number < 0 else number
        if not 0 < n <= weeks:
            continue
        if n > 1:
            index = no1wkst + (n - 1) * 7
            if no1wkst != first_wkst:
                index -= 7 - first_wkst
        else:
            index = no1wkst
        mark_week(index)
    if 1 in byweekno:  # week 1 of next year may start in this year
        index = no1wkst + weeks * 7
        if no1wkst != first_wkst:
            index -= 7 - first_wkst
        if index < year_length:
            mark_week(index)
    if no1wkst:  # the days before week 1 belong to the last week of the previous year
        if -1 not in byweekno:
            last_weekday = date(year - 1, 1, 1).weekday()
            last_no1wkst = (7 - last_weekday + wkst) % 7
            last_length = 366 if calendar.isleap(year - 1) else 365
            if last_no1wkst >= 4:
                last_weeks = 52 + (last_length + (last_weekday - wkst) % 7) % 7 // 4
            else:
                last_weeks = 52 + (year_length - no1wkst) % 7 // 4
        else:
            last_weeks = -1
        if last_weeks in byweekno:
            days.update(range(no1wkst))
    return frozenset(d for d in days if 0 <= d < year_length)


# --- Compiled series ----------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _engine(rule: Rule, dtstart: datetime) -> _Engine:
    """Engines are immutable apart from their own caches, so the same rule from the same start is shared."""
    return _Engine(rule, dtstart)


class _RuleRun:
    """One RRULE of a series with its UNTIL read in the series' zone, and COUNT instances cached."""

    def __init__(self, rule: Rule, dtstart: datetime, zone: zoneinfo.ZoneInfo, all_day: bool) -> None:
        self.rule = rule
        self.engine = _engine(rule, dtstart.replace(microsecond=0, tzinfo=None))
        self.until_utc: datetime | None = None  # exact check for a UTC UNTIL of a timed series
        self.until_naive: datetime | None = None  # inclusive local bound
        until = rule.until
        if until is None:
            pass
        elif all_day:
            self.until_naive = datetime.combine(until.date() if isinstance(until, datetime) else until, time.max)
        elif isinstance(until, datetime) and until.tzinfo is not None:
            self.until_utc = until
            self.until_naive = _local(until, zone) + _UNTIL_SLACK
        elif isinstance(until, datetime):
            self.until_naive = until
        else:
            self.until_naive = datetime.combine(until, time.max)
        self.zone, self.all_day = zone, all_day
        self._materialized: tuple[tuple[datetime, ...], bool] | None = None
        self._lock = threading.Lock()

    def within_until(self, start: datetime) -> bool:
        if self.until_naive is None:
            return True
        if start > self.until_naive:
            return False
        return self.until_utc is None or _utc(start, self.zone) <= self.until_utc

    def materialized(self) -> tuple[tuple[datetime, ...], bool]:
        """All instances of a COUNT rule (at most MAX_OCCURRENCES), and whether that is all of them."""
        if self._materialized is None:
            with self._lock:
                if self._materialized is None:
                    self._materialized = _materialize(self)
        return self._materialized

    def instances(self, lo: datetime, hi: datetime, budget: _Budget) -> list[datetime]:
        if self.rule.count is not None:
            instances, _ = self.materialized()
            return list(instances[bisect.bisect_left(instances, lo) : bisect.bisect_right(instances, hi)])
        stop = hi if self.until_naive is None else min(hi, self.until_naive)
        result: list[datetime] = []
        for start in self.engine.iterate(self.engine.first_period(lo), stop, budget):
            if start >= lo and self.within_until(start):
                result.append(start)
        return result


_MATERIALIZED: OrderedDict[tuple[Rule, datetime, str, bool], tuple[tuple[datetime, ...], bool]] = OrderedDict()
_MATERIALIZED_LOCK = threading.Lock()
_MATERIALIZED_MAX = 512


def _materialize(run: _RuleRun) -> tuple[tuple[datetime, ...], bool]:
    """A COUNT rule from its DTSTART: shared between Series objects of the same plan (small LRU)."""
    key = (run.rule, run.engine.dtstart, run.zone.key, run.all_day)
    with _MATERIALIZED_LOCK:
        found = _MATERIALIZED.get(key)
        if found is not None:
            _MATERIALIZED.move_to_end(key)
            return found
    count = run.rule.count or 0
    limit = min(count, MAX_OCCURRENCES)
    budget = _Budget(limit)
    stop = run.until_naive or datetime.max
    instances: list[datetime] = []
    complete = False
    for start in run.engine.iterate(0, stop, budget):
        if not run.within_until(start):
            complete = True
            break
        instances.append(start)
    else:
        # The rule ran out (COUNT reached, UNTIL passed or year 9999) unless the budget stopped it.
        complete = len(instances) >= count or (budget.steps > 0 and budget.instances > 0)
    result = (tuple(instances), complete)
    with _MATERIALIZED_LOCK:
        _MATERIALIZED[key] = result
        while len(_MATERIALIZED) > _MATERIALIZED_MAX:
            _MATERIALIZED.popitem(last=False)
    return result


@dataclass(frozen=True, slots=True)
class _CompiledOverride:
    key: datetime
    excluded: bool
    occurrence: Occurrence


class _Compiled:
    def __init__(
        self,
        *,
        zone: zoneinfo.ZoneInfo,
        all_day: bool,
        start: datetime,
        duration: timedelta,
        rules: tuple[_RuleRun, ...],
        rdates: tuple[tuple[datetime, timedelta | None], ...],
        exdates: frozenset[datetime],
        exdate_days: frozenset[date],
    ) -> None:
        self.zone, self.all_day, self.start, self.duration = zone, all_day, start, duration
        self.rules, self.rdates, self.exdates, self.exdate_days = rules, rdates, exdates, exdate_days
        self.rdate_starts = [start for start, _ in rdates]
        self.rdate_durations = {start: d for start, d in rdates if d is not None}
        longest = max([duration, *self.rdate_durations.values()])
        self.lookback = longest if not all_day else longest + _ONE_DAY
        self.overrides: tuple[_CompiledOverride, ...] = ()
        self.override_keys: frozenset[datetime] = frozenset()
        untils = [rule.until_naive for rule in rules if rule.until_naive is not None]
        self.include_start = True
        if untils:
            last = max(rules, key=lambda r: r.until_naive or datetime.min)
            self.include_start = last.within_until(start)

    def excluded(self, start: datetime) -> bool:
        return start in self.exdates or (bool(self.exdate_days) and start.date() in self.exdate_days)

    def instances(self, lo: datetime, hi: datetime, *, budget: _Budget) -> list[datetime]:
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
        duration = self.rdate_durations.get(start, self.duration) if self.rdate_durations else self.duration
        if self.all_day:
            day = start.date()
            return _all_day_occurrence(day.isoformat(), day, day + duration, self.zone)
        return _timed_occurrence(start.isoformat(), start, start + duration, self.zone)


@dataclass(frozen=True, slots=True)
class _Changes:
    """What an override changes besides the times."""

    cancelled: bool = False
    title: str | None = None
    status: str | None = None
    overridden: bool = False


_UNCHANGED = _Changes()


def _timed_occurrence(
    recurrence_id: str, start: datetime, end: datetime, zone: zoneinfo.ZoneInfo, changes: _Changes = _UNCHANGED
) -> Occurrence:
    clock = _Clock.of(zone)
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
    recurrence_id: str, start: date, end: date, zone: zoneinfo.ZoneInfo, changes: _Changes = _UNCHANGED
) -> Occurrence:
    if end <= start:
        end = start + _ONE_DAY
    clock = _Clock.of(zone)
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


def _compile(series: Series) -> _Compiled:
    zone = _zone(series.timezone)
    if series.all_day:
        if series.start_date is None:
            raise RecurrenceError("An all-day series needs start_date.")
        start_day = _as_date(series.start_date)
        end_day = _as_date(series.end_date) if series.end_date is not None else start_day + _ONE_DAY
        if end_day <= start_day:
            raise RecurrenceError("An all-day series' end_date must be after its start_date.")
        start = datetime.combine(start_day, time.min)
        duration = timedelta(days=(end_day - start_day).days)
    else:
        if series.start_local is None:
            raise RecurrenceError("A timed series needs start_local.")
        start = _naive(series.start_local, zone)
        end = _naive(series.end_local, zone) if series.end_local is not None else start
        if end < start:
            raise RecurrenceError("The series ends before it starts.")
        duration = end - start

    rules: list[_RuleRun] = []
    text = series.rrule.strip()
    if text:
        for line in text.replace("\r", "\n").split("\n"):
            if line.strip():
                rules.append(_RuleRun(parse_rule(line, strict=False), start, zone, series.all_day))

    if len(series.rdates) > MAX_DATES or len(series.exdates) > MAX_DATES:
        raise RecurrenceError(f"A series may have at most {MAX_DATES} RDATE and {MAX_DATES} EXDATE values.")
    rdates: dict[datetime, timedelta | None] = {}
    for value in series.rdates:
        rdate_start, period = _parse_rdate(value, series.timezone, series.all_day)
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

    compiled = _Compiled(
        zone=zone,
        all_day=series.all_day,
        start=start,
        duration=duration,
        rules=tuple(rules),
        rdates=tuple(sorted(rdates.items())),
        exdates=frozenset(exdates),
        exdate_days=frozenset(exdate_days),
    )
    overrides = [_compile_override(compiled, key, spec, series.timezone) for key, spec in series.overrides.items()]
    compiled.overrides = tuple(overrides)
    compiled.override_keys = frozenset(o.key for o in overrides)
    return compiled


def _parse_rdate(value: str, timezone: str, all_day: bool) -> tuple[datetime, timedelta | None]:
    first, sep, second = value.partition("/")
    start = parse_local(first, timezone=timezone)
    start_dt = start if isinstance(start, datetime) else datetime.combine(start, time.min)
    if all_day:
        start_dt = datetime.combine(start_dt.date(), time.min)
    if not sep:
        return start_dt, None
    end = parse_local(second, timezone=timezone)
    end_dt = end if isinstance(end, datetime) else datetime.combine(end, time.min)
    if end_dt < start_dt:
        raise RecurrenceError(f"The RDATE period {value} ends before it starts.")
    if all_day:
        return start_dt, timedelta(days=max(1, (end_dt.date() - start_dt.date()).days))
    return start_dt, end_dt - start_dt


def _compile_override(compiled: _Compiled, recurrence_id: str, spec: OverrideSpec, timezone: str) -> _CompiledOverride:
    original = parse_local(recurrence_id, timezone=timezone)
    key = original if isinstance(original, datetime) else datetime.combine(original, time.min)
    label = format_local(original)
    excluded = key in compiled.exdates
    changes = _Changes(cancelled=spec.cancelled, title=spec.title or None, status=spec.status or None, overridden=True)
    zone = compiled.zone
    if spec.start_date is not None or (spec.start_local is None and compiled.all_day):
        start_day = _as_date(spec.start_date) if spec.start_date is not None else key.date()
        if spec.end_date is not None:
            end_day = _as_date(spec.end_date)
        elif compiled.all_day:
            end_day = start_day + compiled.duration
        else:
            end_day = start_day + _ONE_DAY
        occurrence = _all_day_occurrence(label, start_day, end_day, zone, changes)
    else:
        start = _naive(spec.start_local, zone) if spec.start_local is not None else key
        if spec.end_local is not None:
            end = _naive(spec.end_local, zone)
        else:
            end = start + (compiled.duration if not compiled.all_day else timedelta(0))
        if end < start:
            raise RecurrenceError(f"The override of {recurrence_id} ends before it starts.")
        occurrence = _timed_occurrence(label, start, end, zone, changes)
    return _CompiledOverride(key=key, excluded=excluded, occurrence=occurrence)


# --- Small helpers ------------------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise RecurrenceError(f"'{name}' is not a known IANA time zone.") from exc


def _utc(value: datetime, zone: tzinfo) -> datetime:
    return value.replace(tzinfo=zone).astimezone(UTC)


class _Clock:
    """Wall-clock times of one zone to UTC, fast: a day without an offset change needs only a subtraction."""

    __slots__ = ("epoch", "offsets", "zone")
    _clocks: dict[str, _Clock] = {}

    def __init__(self, zone: zoneinfo.ZoneInfo) -> None:
        self.zone = zone
        self.offsets: dict[date, timedelta | None] = {}
        # datetime.replace(tzinfo=...) is slow; adding a timedelta to an aware epoch is not.
        self.epoch = datetime(2000, 1, 1, tzinfo=zone)

    @classmethod
    def of(cls, zone: zoneinfo.ZoneInfo) -> _Clock:
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


_NAIVE_EPOCH = datetime(2000, 1, 1)
_UTC_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _local(value: datetime, zone: tzinfo) -> datetime:
    return value.astimezone(zone).replace(tzinfo=None)


def _naive(value: datetime, zone: tzinfo) -> datetime:
    """A wall-clock time in `zone`: an aware value is converted, a naive one taken as it is."""
    if value.tzinfo is not None:
        value = _local(value, zone)
    return value.replace(microsecond=0)


def _as_date(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _aware_utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise RecurrenceError(f"{name} must be an aware datetime.")
    return value.astimezone(UTC)


def _local_end_utc(compiled: _Compiled, start: datetime, duration: timedelta) -> datetime:
    if compiled.all_day:
        return _utc(datetime.combine(start.date() + duration, time.min), compiled.zone)
    return _utc(start + duration, compiled.zone)


def _overlaps(start: datetime, end: datetime, window_start: datetime, window_end: datetime) -> bool:
    if start == end:
        return window_start <= start < window_end if window_start != window_end else start == window_start
    if window_start == window_end:
        return start <= window_start < end
    return start < window_end and window_start < end


def _order(occurrence: Occurrence) -> tuple[datetime, datetime, str]:
    return occurrence.start_utc, occurrence.end_utc, occurrence.recurrence_id
