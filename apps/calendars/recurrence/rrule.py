"""RRULE text: parsed into a Rule, checked, and normalised for storage and export (RFC 5545 3.3.10)."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from apps.calendars.recurrence.clock import ONE_DAY, get_zone, to_utc
from apps.calendars.recurrence.runs import RuleRun
from apps.calendars.recurrence.shapes import (
    FREQUENCIES,
    MAX_INTERVAL,
    MAX_RRULE_LENGTH,
    RULE_PARTS,
    WEEKDAYS,
    RecurrenceError,
    Rule,
)

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
        if key not in RULE_PARTS:
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
    parts = tuple((key, values[key]) for key in RULE_PARTS if key in values)
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
    zone = get_zone(timezone) if timezone else None
    normalised: list[str] = []
    for line in lines:
        rule = _parse_rule(line, strict)
        parts = dict(rule.parts)
        if rule.count is not None and rule.until is not None and start is not None and zone is not None:
            first = start if isinstance(start, datetime) else datetime.combine(start, time.min)
            instances, _ = RuleRun(rule, first, zone, all_day).materialized()
            del parts["UNTIL" if len(instances) >= rule.count else "COUNT"]
        if rule.until is not None and "UNTIL" in parts and (zone is not None or all_day):
            parts["UNTIL"] = _format_until(rule.until, zone=zone, all_day=all_day)
        normalised.append(";".join(f"{key}={parts[key]}" for key in RULE_PARTS if key in parts))
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
        instant = until if until.tzinfo is not None else to_utc(until, zone)
    else:  # a date: through the end of that local day
        instant = to_utc(datetime.combine(until + ONE_DAY, time.min), zone) - timedelta(seconds=1)
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


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
