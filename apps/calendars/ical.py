"""iCalendar (RFC 5545) in and out: VEVENTs to plan data, and plans to a feed.

Reading. Every VEVENT becomes the data of one plan (keyed by UID) with its RRULE/RDATE/EXDATE kept, and the
VEVENTs carrying a RECURRENCE-ID for the same UID become its overrides. Times become naive wall-clock times in
the plan's own IANA zone:

- DTSTART;TZID=... gives the zone: IANA names, Windows/Outlook names (through icalendar's table), and
  "globally unique" /vendor/Region/City ids. A custom VTIMEZONE with an unknown name is matched to the IANA
  zone whose offsets agree with it; one that matches none is read as UTC instants.
- A UTC time (...Z) is in zone "UTC", unless the calendar has X-WR-TIMEZONE (Google's exports): then UTC and
  floating times are shown in that zone, as the x-wr-timezone package does for recurring-ical-events.
- A floating time (no zone) is read in `default_timezone`, the zone of the calendar imported into.
- A DATE value makes an all-day plan (in the X-WR-TIMEZONE or default zone); DTEND is exclusive. Without
  DTEND: DURATION, else one day (all-day) or no duration (timed), as RFC 5545 says.

Something that cannot be used alone (no DTSTART, an end before the start, an unreadable RRULE, overrides whose
master is missing) is refused with a reason and the rest is kept; other components (VTODO, VJOURNAL,
VFREEBUSY, ...) are counted as skipped. A file that does not parse at all raises IcsParseError naming the line
or component where it broke.

Writing. `render_calendar` produces a VCALENDAR with a VTIMEZONE for every zone used (generated from the IANA
database, observance by observance), stable UIDs, DTSTAMP, SEQUENCE, DTSTART/DTEND with TZID (or DATE values),
RRULE/RDATE/EXDATE as stored and one VEVENT per override with its RECURRENCE-ID. Reading what it wrote gives
the same plan data back.
"""

from __future__ import annotations

import hashlib
import math
import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any

import icalendar
from icalendar.prop import vBroken, vInline
from icalendar.timezone.tzid import tzids_from_tzinfo
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from apps.calendars import recurrence
from apps.calendars.recurrence import OverrideSpec, RecurrenceError, Series, format_local

PRODID = "-//Weekend Planner//Calendars//EN"
MAX_TITLE = 500
MAX_LOCATION = 500
MAX_UID = 500
UNTITLED = "(no title)"
STATUSES = {"CONFIRMED": "confirmed", "TENTATIVE": "tentative", "CANCELLED": "cancelled"}
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu", "Z"})
X_TIMEZONE = "X-WEEKEND-PLANNER-TIMEZONE"  # the zone of an all-day plan, which DATE values cannot carry
EXPORT_UTC_TZID = "Etc/UTC"  # icalendar writes TZID=UTC as a bare (floating) time; Etc/UTC survives
VTIMEZONE_LAST_YEAR = 2037
_ONE_DAY = timedelta(days=1)


class IcsParseError(ValueError):
    """The data is not an iCalendar file that can be read at all; the message says where it broke."""


# --- Data ---------------------------------------------------------------------------------------------------


@dataclass
class OverrideData:
    """One changed instance of a series: None means "as the series has it"."""

    recurrence_id: str
    cancelled: bool = False
    title: str | None = None
    start_local: datetime | None = None
    end_local: datetime | None = None
    start_date: date | None = None
    end_date: date | None = None
    status: str | None = None

    def spec(self) -> OverrideSpec:
        return OverrideSpec(
            cancelled=self.cancelled,
            title=self.title or None,
            start_local=self.start_local,
            end_local=self.end_local,
            start_date=self.start_date,
            end_date=self.end_date,
            status=self.status or None,
        )


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
        return Series(
            timezone=self.timezone,
            all_day=self.all_day,
            start_local=self.start_local,
            end_local=self.end_local,
            start_date=self.start_date,
            end_date=self.end_date,
            rrule=self.rrule,
            rdates=tuple(self.rdates),
            exdates=tuple(self.exdates),
            overrides={o.recurrence_id: o.spec() for o in self.overrides},
        )


RenderPlan = PlanData


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


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- Reading ------------------------------------------------------------------------------------------------


def parse_calendar(data: bytes | str, *, default_timezone: str) -> ParsedCalendar:
    """The plans in an iCalendar file. Raises IcsParseError when the file cannot be read at all."""
    try:
        zoneinfo.ZoneInfo(default_timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"'{default_timezone}' is not a known IANA time zone.") from exc
    text = _decode(data)
    text, blocks = _check_structure(text)
    try:
        calendars = icalendar.Calendar.from_ical(text, multiple=True)
    except Exception as exc:
        raise IcsParseError(_locate(text, blocks, exc)) from exc

    items: list[PlanData] = []
    refused: list[Refusal] = []
    skipped = 0
    name, calendar_zone = "", None
    for calendar in calendars:
        if calendar.name != "VCALENDAR":
            raise IcsParseError(f"Expected a VCALENDAR, found {calendar.name}.")
        reader = _Reader(calendar, default_timezone)
        name = name or _text(calendar.get("X-WR-CALNAME"))
        calendar_zone = calendar_zone or reader.x_wr_zone
        found, refusals, others = reader.read()
        items.extend(found)
        refused.extend(refusals)
        skipped += others
    return ParsedCalendar(items=items, refused=refused, skipped_components=skipped, name=name, timezone=calendar_zone)


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


_LINE_BREAK = re.compile(r"\r\n|\n|\r")
_NAME = re.compile(r"^[A-Za-z0-9-]+$")


@dataclass(frozen=True)
class _Block:
    name: str
    first_line: int
    last_line: int
    text: str


def _check_structure(text: str) -> tuple[str, list[_Block]]:
    """Checks BEGIN/END nesting line by line, so a broken file is reported with its line number.

    Returns the text to parse (without content after the last END:VCALENDAR) and the components directly inside
    each VCALENDAR, with their lines, for locating later errors.
    """
    lines = _LINE_BREAK.split(text)
    stack: list[tuple[str, int]] = []
    blocks: list[_Block] = []
    block_start = 0
    seen_calendar = False
    trailing_from = 0
    logical: list[tuple[int, str]] = []  # (line number, unfolded content line)
    for number, line in enumerate(lines, start=1):
        if line[:1] in (" ", "\t") and logical:
            logical[-1] = (logical[-1][0], logical[-1][1] + line[1:])
        elif line.strip():
            logical.append((number, line))
    if not logical:
        raise IcsParseError("The file is empty.")
    for number, line in logical:
        key, _, value = line.partition(":")
        key, value = key.strip().upper(), value.strip()
        if key in ("BEGIN", "END") and not _NAME.match(value):
            raise IcsParseError(f"Line {number}: '{_clip(line, 60)}' does not name a component.")
        value = value.upper()
        if key == "BEGIN":
            if not stack and value != "VCALENDAR":
                raise IcsParseError(f"Line {number}: expected BEGIN:VCALENDAR, found '{_clip(line, 60)}'.")
            if len(stack) == 1:
                block_start = number
            stack.append((value, number))
            seen_calendar = True
        elif key == "END":
            if not stack:
                raise IcsParseError(f"Line {number}: END:{value} without a matching BEGIN.")
            open_names = [name for name, _ in stack]
            if value != open_names[-1]:
                if value in open_names:
                    inner, opened = stack[-1]
                    raise IcsParseError(f"Line {number}: END:{value} while {inner} (opened on line {opened}) is open.")
                if len(stack) == 1:
                    raise IcsParseError(f"Line {number}: END:{value} without a matching BEGIN.")
            # A misspelt END (END:VTOOD) closes the innermost component, as icalendar reads it.
            open_name, _opened = stack.pop()
            if len(stack) == 1:
                block_lines = lines[block_start - 1 : number]
                blocks.append(_Block(open_name, block_start, number, "\r\n".join(block_lines)))
        elif not stack and not seen_calendar:
            raise IcsParseError(f"Line {number}: content before BEGIN:VCALENDAR: '{_clip(line, 60)}'.")
        elif not stack:
            # Content after END:VCALENDAR (a cache's trailing comment, say) is ignored, as icalendar does.
            trailing_from = trailing_from or number
    if stack:
        open_name, opened = stack[-1]
        raise IcsParseError(f"The file ends inside {open_name} (opened on line {opened}): END:{open_name} is missing.")
    if trailing_from:
        text = "\r\n".join(lines[: trailing_from - 1]) + "\r\n"
    return text, blocks


def _locate(text: str, blocks: list[_Block], error: Exception) -> str:
    """Where icalendar failed: the component (and line) whose content it cannot read."""
    message = _clip(str(error) or type(error).__name__, 200)
    for block in blocks:
        try:
            icalendar.Calendar.from_ical(f"BEGIN:VCALENDAR\r\n{block.text}\r\nEND:VCALENDAR\r\n")
        except Exception:  # noqa: BLE001 - the same failure, now narrowed down to one component
            line = _quoted_line(block.text, message, block.first_line)
            lines = f"line {line}" if line else f"lines {block.first_line}-{block.last_line}"
            return f"{block.name} at {lines}: {message}"
    line = _quoted_line(text, message, 1)
    return f"Line {line}: {message}" if line else f"In the VCALENDAR properties: {message}"


def _quoted_line(text: str, message: str, first_line: int) -> int | None:
    """The line an icalendar message quotes ("... parts: 'X': ..."): an equal line first, then one containing it."""
    lines = _LINE_BREAK.split(text)
    for quoted in re.findall(r"'([^']+)'", message):
        for offset, line in enumerate(lines):
            if line.strip() == quoted.strip():
                return first_line + offset
    for quoted in re.findall(r"'([^']{4,})'", message):
        for offset, line in enumerate(lines):
            if quoted in line:
                return first_line + offset
    return None


class _Reader:
    """Reads the VEVENTs of one VCALENDAR."""

    def __init__(self, calendar: icalendar.Calendar, default_timezone: str) -> None:
        self.calendar = calendar
        self.x_wr_zone = _known_zone(_text(calendar.get("X-WR-TIMEZONE")))
        self.floating_zone = self.x_wr_zone or default_timezone
        self.vtimezones = {
            _text(tz.get("TZID")): tz for tz in calendar.subcomponents if tz.name == "VTIMEZONE" and tz.get("TZID")
        }
        self._tzid_cache: dict[str, tuple[str, tzinfo | None] | None] = {}

    def read(self) -> tuple[list[PlanData], list[Refusal], int]:
        skipped = 0
        groups: dict[str, list[icalendar.Component]] = {}
        for component in self.calendar.subcomponents:
            if component.name == "VEVENT":
                groups.setdefault(self._uid(component), []).append(component)
            elif component.name != "VTIMEZONE":
                skipped += 1
        items: list[PlanData] = []
        refused: list[Refusal] = []
        for uid, components in groups.items():
            masters = [c for c in components if "RECURRENCE-ID" not in c]
            changes = [c for c in components if "RECURRENCE-ID" in c]
            if not masters:
                refused.append(Refusal(uid, "Changed occurrences (RECURRENCE-ID) of a series that is not in the file."))
                continue
            master = _highest_sequence(masters)
            try:
                item = self._plan(uid, master)
            except _Refused as refusal:
                refused.append(Refusal(uid, refusal.reason))
                continue
            overrides: dict[str, tuple[int, OverrideData]] = {}
            for change in changes:
                try:
                    override = self._override(item, change)
                except _Refused as refusal:
                    refused.append(Refusal(uid, f"A changed occurrence was left out: {refusal.reason}"))
                    continue
                if _stale(item, master, change, override):
                    continue
                sequence = _sequence(change)
                previous = overrides.get(override.recurrence_id)
                if previous is None or sequence > previous[0]:
                    overrides[override.recurrence_id] = (sequence, override)
            item.overrides = [overrides[key][1] for key in sorted(overrides)]
            items.append(item)
        return items, refused, skipped

    def _uid(self, component: icalendar.Component) -> str:
        uid = _text(component.get("UID"))
        if not uid:
            digest = hashlib.sha256(component.to_ical()).hexdigest()[:32]
            return f"generated-{digest}@weekend-planner"
        if len(uid) > MAX_UID:
            return f"sha256:{hashlib.sha256(uid.encode()).hexdigest()}"
        return uid

    # One plan --------------------------------------------------------------------------------------------------

    def _plan(self, uid: str, event: icalendar.Component) -> PlanData:
        start_value, start_zone = self._moment(event, "DTSTART", required=True)
        assert start_value is not None
        item = PlanData(
            uid=uid,
            title=_clip(_text(event.get("SUMMARY")), MAX_TITLE) or UNTITLED,
            notes=_text(event.get("DESCRIPTION")),
            location=_clip(_text(event.get("LOCATION")), MAX_LOCATION),
            status=STATUSES.get(_text(event.get("STATUS")).upper(), "confirmed"),
            sequence=max(0, _sequence(event)),
            updated_at=_updated_at(event),
        )
        item.lat, item.lon = _geo(event.get("GEO"))
        if isinstance(start_value, datetime):
            zone_name, start = self._zoned(start_value, start_zone)
            item.timezone, item.all_day, item.start_local = zone_name, False, start
            item.end_local = self._timed_end(event, start_value, start_zone, zone_name, start)
        else:
            zone_name = _known_zone(_text(event.get(X_TIMEZONE))) or self.floating_zone
            item.timezone, item.all_day, item.start_date = zone_name, True, start_value
            item.end_date = self._all_day_end(event, start_value, item.timezone)
        item.rrule = self._rrule(event, item)
        item.rdates = self._dates(event, "RDATE", item)
        item.exdates = self._dates(event, "EXDATE", item)
        try:
            item.series()._compiled  # noqa: B018 - compiles the series now, so a bad one is refused here
        except RecurrenceError as exc:
            raise _Refused(str(exc)) from exc
        return item

    def _timed_end(
        self, event: icalendar.Component, start_value: datetime, start_zone: str | None, zone_name: str, start: datetime
    ) -> datetime:
        end_value, end_zone = self._moment(event, "DTEND")
        if end_value is not None:
            if isinstance(end_value, datetime):
                end = self._in_zone(end_value, end_zone, zone_name)
            else:  # a DATE end on a timed start: its midnight
                end = datetime.combine(end_value, time.min)
        else:
            duration = _duration(event)
            end = start + duration if duration is not None else start
        if end < start:
            raise _Refused("The event ends before it starts (DTEND or DURATION).")
        return end

    def _all_day_end(self, event: icalendar.Component, start: date, zone_name: str) -> date:
        end_value, end_zone = self._moment(event, "DTEND")
        if end_value is not None:
            if isinstance(end_value, datetime):
                end_value = self._in_zone(end_value, end_zone, zone_name).date()
            if end_value < start:
                raise _Refused("The event ends before it starts (DTEND).")
            return end_value if end_value > start else start + _ONE_DAY
        duration = _duration(event)
        if duration is not None:
            if duration < timedelta(0):
                raise _Refused("The event ends before it starts (negative DURATION).")
            return start + timedelta(days=max(1, math.ceil(duration / _ONE_DAY)))
        return start + _ONE_DAY

    def _rrule(self, event: icalendar.Component, item: PlanData) -> str:
        texts: list[str] = []
        for value in _values(event.get("RRULE")):
            raw = value.to_ical() if hasattr(value, "to_ical") else str(value).encode()
            texts.append(raw.decode() if isinstance(raw, bytes) else str(raw))
        if not any(t.strip() for t in texts):
            return ""
        start: datetime | date | None = item.start_date if item.all_day else item.start_local
        try:
            return recurrence.normalise_rrule(
                "\n".join(texts), timezone=item.timezone, all_day=item.all_day, start=start
            )
        except RecurrenceError as exc:
            raise _Refused(f"RRULE: {exc}") from exc

    def _dates(self, event: icalendar.Component, name: str, item: PlanData) -> list[str]:
        found: list[str] = []
        for prop in _values(event.get(name)):
            if isinstance(prop, vBroken):
                if name == "RDATE":
                    raise _Refused(f"Unreadable {name}: {_clip(str(prop), 80)}")
                continue  # an unreadable EXDATE removes nothing
            tzid = _tzid(prop)
            try:
                entries = list(getattr(prop, "dts", []))
            except Exception:  # noqa: BLE001 - an unreadable list removes (EXDATE) or refuses (RDATE) nothing more
                entries = []
            for entry in entries:
                value = _dt(entry)
                if value is None:
                    continue
                if isinstance(value, tuple):  # a PERIOD: (start, end or duration)
                    first, second = value
                    start = self._date_value(first, tzid, item, name)
                    if item.all_day or not isinstance(start, datetime):
                        found.append(format_local(start))
                        continue
                    if isinstance(second, timedelta):
                        end = start + second
                    else:
                        end_value = self._date_value(second, tzid, item, name)
                        end = end_value if isinstance(end_value, datetime) else datetime.combine(end_value, time.min)
                    found.append(f"{format_local(start)}/{format_local(end)}")
                else:
                    found.append(format_local(self._date_value(value, tzid, item, name)))
        return sorted(dict.fromkeys(found))

    def _date_value(self, value: date, tzid: str | None, item: PlanData, name: str) -> datetime | date:
        """An RDATE/EXDATE/RECURRENCE-ID value in the plan's terms: a local date-time, or a date.

        A date-time on an all-day series counts by its own wall-clock date (Outlook writes the RECURRENCE-ID
        of an all-day instance as midnight in its zone; recurring-ical-events matches it the same way)."""
        if isinstance(value, datetime):
            if item.all_day:
                return _wall(value).date() if tzid else self._zoned(value, tzid)[1].date()
            return self._in_zone(value, tzid, item.timezone)
        if not isinstance(value, date):
            raise _Refused(f"{name} value {_clip(str(value), 40)} is neither a date nor a date-time.")
        return value

    # Overrides -----------------------------------------------------------------------------------------------

    def _override(self, item: PlanData, event: icalendar.Component) -> OverrideData:
        prop = event.get("RECURRENCE-ID")
        if isinstance(prop, list):
            prop = prop[0]
        value = _dt(prop)
        if not isinstance(value, date):
            raise _Refused("unreadable RECURRENCE-ID.")
        original = self._date_value(value, _tzid(prop), item, "RECURRENCE-ID")
        recurrence_id = format_local(original)
        status = STATUSES.get(_text(event.get("STATUS")).upper(), item.status)
        title = _clip(_text(event.get("SUMMARY")), MAX_TITLE) or item.title
        override = OverrideData(
            recurrence_id=recurrence_id,
            cancelled=status == "cancelled",
            title=title if title != item.title else None,
            status=status if status not in ("cancelled", item.status) else None,
        )
        start_value, start_zone = self._moment(event, "DTSTART")
        if start_value is None:
            return override
        if isinstance(start_value, datetime):
            start = self._in_zone(start_value, start_zone, item.timezone)
            end = self._timed_end(event, start_value, start_zone, item.timezone, start)
            if item.all_day or (start, end) != _original_span(item, original):
                override.start_local, override.end_local = start, end
        else:
            end_day = self._all_day_end(event, start_value, item.timezone)
            if not item.all_day or (start_value, end_day) != _original_span(item, original):
                override.start_date, override.end_date = start_value, end_day
        return override

    # Times -----------------------------------------------------------------------------------------------------

    def _moment(
        self, event: icalendar.Component, name: str, *, required: bool = False
    ) -> tuple[datetime | date | None, str | None]:
        """A DTSTART/DTEND value and its TZID parameter; (None, None) when absent."""
        prop = event.get(name)
        if isinstance(prop, list):
            prop = prop[0] if prop else None
        if prop is None:
            if required:
                raise _Refused(f"No {name}: an event needs a start.")
            return None, None
        value = _dt(prop)
        if not isinstance(value, date):
            if required:
                raise _Refused(f"Unreadable {name}: {_clip(str(prop), 80)}")
            return None, None
        return value, _tzid(prop)

    def _zoned(self, value: datetime, tzid: str | None) -> tuple[str, datetime]:
        """(the plan's zone, the naive wall-clock start in it) for a DTSTART date-time."""
        if tzid:
            resolved = self._resolve_tzid(tzid, value)
            if resolved is not None:
                zone_name, custom = resolved
                if custom is None:
                    return zone_name, _wall(value)
                return "UTC", _wall(value).replace(tzinfo=custom).astimezone(UTC).replace(tzinfo=None)
            return self.floating_zone, _wall(value)
        if value.tzinfo is None:
            return self.floating_zone, _wall(value)
        if self.x_wr_zone is not None:
            return self.x_wr_zone, _wall(value.astimezone(zoneinfo.ZoneInfo(self.x_wr_zone)))
        zone_name = _zone_name_of(value.tzinfo) or "UTC"
        return zone_name, _wall(value.astimezone(zoneinfo.ZoneInfo(zone_name)))

    def _in_zone(self, value: datetime, tzid: str | None, zone_name: str) -> datetime:
        """A date-time as a naive wall-clock time in the plan's zone."""
        own_zone, wall = self._zoned(value, tzid)
        if own_zone == zone_name:
            return wall
        instant = wall.replace(tzinfo=zoneinfo.ZoneInfo(own_zone))
        return _wall(instant.astimezone(zoneinfo.ZoneInfo(zone_name)))

    def _resolve_tzid(self, tzid: str, near: datetime) -> tuple[str, tzinfo | None] | None:
        """(IANA name, None), or ("UTC", custom tzinfo) for a custom zone no IANA zone matches; None when the
        TZID is unknown and has no VTIMEZONE (read as floating)."""
        if tzid in self._tzid_cache:
            return self._tzid_cache[tzid]
        result: tuple[str, tzinfo | None] | None = None
        known = _known_zone(tzid)
        if known is not None:
            result = (known, None)
        elif tzid in self.vtimezones:
            custom = _custom_zone(self.vtimezones[tzid])
            if custom is not None:
                hints = (self.x_wr_zone, self.floating_zone)
                matched = _matching_zone(custom, near.year, tuple(h for h in hints if h))
                result = (matched, None) if matched else ("UTC", custom)
        self._tzid_cache[tzid] = result
        return result


def _stale(item: PlanData, master: icalendar.Component, change: icalendar.Component, override: OverrideData) -> bool:
    """A changed occurrence that carries recurrence rules of its own, is older (lower SEQUENCE) than the master
    and no longer matches an occurrence of it: left over from an earlier version of the series (Thunderbird
    and Google keep these after "this and following" edits); recurring-ical-events ignores them too."""
    if not any(name in change for name in ("RRULE", "RDATE", "EXDATE")) or _sequence(change) >= _sequence(master):
        return False
    original = recurrence.parse_local(override.recurrence_id, timezone=item.timezone)
    series = item.series()
    day = original if not isinstance(original, datetime) else original.date()
    window_start = recurrence.day_start_utc(day, item.timezone)
    window_end = recurrence.day_start_utc(day + _ONE_DAY, item.timezone)
    return not any(
        o.recurrence_id == override.recurrence_id for o in recurrence.expand(series, window_start, window_end)
    )


def _original_span(item: PlanData, original: datetime | date) -> tuple[Any, Any]:
    if item.all_day:
        day = original.date() if isinstance(original, datetime) else original
        assert item.start_date is not None
        assert item.end_date is not None
        return day, day + (item.end_date - item.start_date)
    start = original if isinstance(original, datetime) else datetime.combine(original, time.min)
    assert item.start_local is not None
    assert item.end_local is not None
    return start, start + (item.end_local - item.start_local)


def _dt(prop: Any) -> Any:
    """The value a date/time property holds; None when it is missing or broken (icalendar raises on .dt of a
    broken property, and on impractical values such as P999999999999999999W)."""
    if prop is None or isinstance(prop, (vBroken, list)):
        return None
    try:
        return prop.dt
    except Exception:  # noqa: BLE001 - any failure to read the value means there is no usable value
        return None


def _values(prop: Any) -> list[Any]:
    if prop is None:
        return []
    return list(prop) if isinstance(prop, list) else [prop]


def _tzid(prop: Any) -> str | None:
    params = getattr(prop, "params", None)
    value = params.get("TZID") if params is not None else None
    return str(value).strip() or None if value is not None else None


def _wall(value: datetime) -> datetime:
    return value.replace(tzinfo=None, microsecond=0)


def _text(value: Any) -> str:
    if value is None or isinstance(value, vBroken):
        return ""
    if isinstance(value, list):
        value = value[0] if value else ""
    # NUL is valid in a content line's bytes but no text column can store it.
    return str(value).replace("\x00", "").strip()


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sequence(event: icalendar.Component) -> int:
    try:
        return int(str(event.get("SEQUENCE", 0)).strip() or 0)
    except ValueError:
        return 0


def _highest_sequence(components: Sequence[icalendar.Component]) -> icalendar.Component:
    best = components[0]
    for component in components[1:]:
        if _sequence(component) > _sequence(best):
            best = component
    return best


def _updated_at(event: icalendar.Component) -> datetime | None:
    for name in ("LAST-MODIFIED", "DTSTAMP"):
        value = _dt(event.get(name))
        if isinstance(value, datetime):
            return value.replace(tzinfo=value.tzinfo or UTC).astimezone(UTC)
    return None


def _duration(event: icalendar.Component) -> timedelta | None:
    value = _dt(event.get("DURATION"))
    return value if isinstance(value, timedelta) else None


def _geo(value: Any) -> tuple[float | None, float | None]:
    if value is None or isinstance(value, vBroken):
        return None, None
    try:
        lat, lon = float(value.latitude), float(value.longitude)
    except (AttributeError, TypeError, ValueError):
        return None, None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or math.isnan(lat) or math.isnan(lon):
        return None, None
    return lat, lon


@lru_cache(maxsize=2048)
def _known_zone(name: str) -> str | None:
    """The IANA zone a TZID or X-WR-TIMEZONE names: IANA itself, a Windows name, or /vendor/Region/City."""
    cleaned = name.strip().strip('"').strip()
    if not cleaned:
        return None
    candidates = [cleaned, cleaned.strip("/")]
    if cleaned in WINDOWS_TO_OLSON:
        candidates.append(WINDOWS_TO_OLSON[cleaned])
    if cleaned.startswith("/"):
        parts = cleaned.strip("/").split("/")
        candidates.extend("/".join(parts[i:]) for i in range(1, len(parts)))
    for candidate in candidates:
        if candidate in UTC_NAMES:
            return "UTC"
        if _is_zone(candidate):
            return candidate
    return None


@lru_cache(maxsize=2048)
def _is_zone(name: str) -> bool:
    if not name or name.startswith("/") or ".." in name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _zone_name_of(zone: tzinfo) -> str | None:
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return _known_zone(key)
    if zone is UTC or zone.utcoffset(None) == timedelta(0):
        return "UTC"
    try:
        candidates = tzids_from_tzinfo(zone)
    except (AttributeError, TypeError, ValueError):
        return None
    return next((known for c in candidates if (known := _known_zone(c))), None)


def _custom_zone(component: icalendar.Component) -> tzinfo | None:
    try:
        if not isinstance(component, icalendar.Timezone):
            return None
        zone: tzinfo = component.to_tz(lookup_tzid=False)
        return zone
    except Exception:  # noqa: BLE001 - a broken VTIMEZONE: its times are read as floating
        return None


@lru_cache(maxsize=1)
def _all_zones() -> tuple[tuple[str, zoneinfo.ZoneInfo], ...]:
    """Every IANA zone, loaded once per process (ZoneInfo only keeps a few strongly; reloading costs ~1 ms)."""
    names = sorted(zoneinfo.available_timezones())
    # Prefer Region/City names over aliases like "posix/..." or "Etc/GMT+1".
    names.sort(key=lambda n: (n.startswith(("posix", "right", "Etc", "SystemV", "US/")), "/" not in n, n))
    return tuple((name, zoneinfo.ZoneInfo(name)) for name in names)


def _matching_zone(custom: tzinfo, year: int, hints: tuple[str, ...]) -> str | None:
    """The IANA zone whose UTC offsets equal the custom zone's through `year` and the next: the same offset every
    15 days, and the same offset a minute before and after each of the IANA zone's changes. (A VTIMEZONE read
    by dateutil is slow, ~0.5 ms per conversion, so it is sampled rather than walked.)"""
    year = max(1971, min(year, 2100))
    first = datetime(year, 1, 1, tzinfo=UTC)
    samples = [first + timedelta(days=d, hours=12) for d in range(0, 730, 15)]
    try:
        wanted = [moment.astimezone(custom).utcoffset() for moment in samples]
    except Exception:  # noqa: BLE001 - a custom zone that cannot convert is not matched
        return None
    candidates = [(name, zoneinfo.ZoneInfo(name)) for name in hints]
    for name, zone in (*candidates, *_all_zones()):
        if [moment.astimezone(zone).utcoffset() for moment in samples] != wanted:
            continue
        changes = [change[0] for change in _transitions(name, year, year + 1)[3]]
        around = [moment + delta for moment in changes for delta in (timedelta(minutes=-1), timedelta(minutes=1))]
        try:
            if all(m.astimezone(custom).utcoffset() == m.astimezone(zone).utcoffset() for m in around):
                return "UTC" if name in UTC_NAMES else name
        except Exception:  # noqa: BLE001 - as above
            return None
    return None


# --- Writing ------------------------------------------------------------------------------------------------


def render_calendar(*, name: str, timezone: str, plans: Sequence[PlanData], now: datetime | None = None) -> bytes:
    """An RFC 5545 VCALENDAR of the plans. DTSTAMP is each plan's updated_at (else `now`, else the time now),
    so the same plans give the same bytes."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", timezone)
    zones: dict[str, list[int]] = {}
    events: list[icalendar.Event] = []
    for plan in plans:
        plan_stamp = plan.updated_at.astimezone(UTC).replace(microsecond=0) if plan.updated_at else stamp
        events.append(_master_event(plan, plan_stamp, timezone))
        events.extend(_override_event(plan, override, plan_stamp) for override in plan.overrides)
        if not plan.all_day:
            zone = _export_zone(plan.timezone)
            zones.setdefault(zone, []).extend(_years(plan))
    for zone, years in sorted(zones.items()):
        calendar.add_component(_vtimezone(zone, min(years) - 1, max(max(years) + 1, VTIMEZONE_LAST_YEAR)))
    for event in events:
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def _export_zone(name: str) -> str:
    return EXPORT_UTC_TZID if name in UTC_NAMES else name


def _years(plan: PlanData) -> list[int]:
    years = [plan.start_local.year] if plan.start_local else []
    years.extend(o.start_local.year for o in plan.overrides if o.start_local)
    return [max(1900, min(y, 2200)) for y in years] or [2000]


def _master_event(plan: PlanData, stamp: datetime, calendar_zone: str) -> icalendar.Event:
    event = _event_base(plan, stamp)
    event.add("summary", plan.title)
    if plan.notes:
        event.add("description", plan.notes)
    if plan.location:
        event.add("location", plan.location)
    if plan.lat is not None and plan.lon is not None:
        event.add("geo", (plan.lat, plan.lon))
    event.add("status", plan.status.upper())
    if plan.all_day:
        assert plan.start_date is not None
        assert plan.end_date is not None
        if plan.timezone != calendar_zone:
            event.add(X_TIMEZONE, plan.timezone)
        _add_moment(event, "dtstart", plan.start_date, plan.timezone)
        _add_moment(event, "dtend", plan.end_date, plan.timezone)
    else:
        assert plan.start_local is not None
        assert plan.end_local is not None
        _add_moment(event, "dtstart", plan.start_local, plan.timezone)
        _add_moment(event, "dtend", plan.end_local, plan.timezone)
    for rule in plan.rrule.split("\n"):
        if rule.strip():
            try:
                text = recurrence.normalise_rrule(rule, timezone=plan.timezone, all_day=plan.all_day)
            except RecurrenceError:  # a stored rule we cannot read: pass it on as it is rather than fail the feed
                event.add("rrule", vInline(rule.strip()))
                continue
            event.add("rrule", icalendar.vRecur.from_ical(text))
    _add_dates(event, "rdate", plan.rdates, plan)
    _add_dates(event, "exdate", plan.exdates, plan)
    return event


def _override_event(plan: PlanData, override: OverrideData, stamp: datetime) -> icalendar.Event:
    event = _event_base(plan, stamp)
    original = recurrence.parse_local(override.recurrence_id, timezone=plan.timezone)
    if plan.all_day and isinstance(original, datetime):
        original = original.date()
    _add_moment(event, "recurrence-id", original, plan.timezone)
    event.add("summary", override.title or plan.title)
    if plan.location:
        event.add("location", plan.location)
    if plan.lat is not None and plan.lon is not None:
        event.add("geo", (plan.lat, plan.lon))
    status = "cancelled" if override.cancelled else (override.status or plan.status)
    event.add("status", status.upper())
    if override.start_date is not None:
        end_date = override.end_date or override.start_date + _ONE_DAY
        _add_moment(event, "dtstart", override.start_date, plan.timezone)
        _add_moment(event, "dtend", end_date, plan.timezone)
    elif override.start_local is not None:
        end = override.end_local or override.start_local
        _add_moment(event, "dtstart", override.start_local, plan.timezone)
        _add_moment(event, "dtend", end, plan.timezone)
    else:
        start, end = _original_span(plan, original)
        _add_moment(event, "dtstart", start, plan.timezone)
        _add_moment(event, "dtend", end, plan.timezone)
    return event


def _event_base(plan: PlanData, stamp: datetime) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", plan.uid)
    event.add("dtstamp", stamp)
    event.add("sequence", plan.sequence)
    return event


def _add_moment(event: icalendar.Component, name: str, value: datetime | date, zone: str) -> None:
    if isinstance(value, datetime):
        event.add(name, vInline(value.strftime("%Y%m%dT%H%M%S")), parameters={"TZID": _export_zone(zone)})
    else:
        event.add(name, vInline(value.strftime("%Y%m%d")), parameters={"VALUE": "DATE"})


def _add_dates(event: icalendar.Component, name: str, values: Sequence[str], plan: PlanData) -> None:
    dates: list[str] = []
    times: list[str] = []
    periods: list[str] = []
    for value in values:
        first, sep, second = value.partition("/")
        start = recurrence.parse_local(first, timezone=plan.timezone)
        if sep and isinstance(start, datetime):
            end = recurrence.parse_local(second, timezone=plan.timezone)
            end_text = end.strftime("%Y%m%dT%H%M%S") if isinstance(end, datetime) else end.strftime("%Y%m%dT000000")
            periods.append(f"{start.strftime('%Y%m%dT%H%M%S')}/{end_text}")
        elif isinstance(start, datetime):
            times.append(start.strftime("%Y%m%dT%H%M%S"))
        else:
            dates.append(start.strftime("%Y%m%d"))
    tzid = _export_zone(plan.timezone)
    if dates:
        event.add(name, vInline(",".join(dates)), parameters={"VALUE": "DATE"})
    if times:
        event.add(name, vInline(",".join(times)), parameters={"TZID": tzid})
    if periods:
        event.add(name, vInline(",".join(periods)), parameters={"TZID": tzid, "VALUE": "PERIOD"})


def _vtimezone(name: str, first_year: int, last_year: int) -> icalendar.Timezone:
    """A VTIMEZONE for an IANA zone from `first_year` through `last_year`, one observance per kind of change
    (its DTSTART and RDATEs are local times in the offset in force before each change, as RFC 5545 says)."""
    start_offset, start_name, start_dst, transitions = _transitions(name, first_year, last_year)
    timezone = icalendar.Timezone()
    timezone.add("tzid", name)
    timezone.add("x-lic-location", name)
    first = icalendar.TimezoneDaylight() if start_dst else icalendar.TimezoneStandard()
    first.add("dtstart", vInline(f"{first_year:04d}0101T000000"))
    first.add("tzoffsetfrom", start_offset)
    first.add("tzoffsetto", start_offset)
    first.add("tzname", start_name)
    timezone.add_component(first)
    groups: dict[tuple[bool, timedelta, timedelta, str], list[datetime]] = {}
    for when, before, after, abbreviation, dst in transitions:
        groups.setdefault((dst, before, after, abbreviation), []).append((when + before).replace(tzinfo=None))
    for (dst, before, after, abbreviation), moments in sorted(groups.items(), key=lambda g: g[1][0]):
        observance = icalendar.TimezoneDaylight() if dst else icalendar.TimezoneStandard()
        observance.add("dtstart", vInline(moments[0].strftime("%Y%m%dT%H%M%S")))
        if len(moments) > 1:
            observance.add("rdate", vInline(",".join(m.strftime("%Y%m%dT%H%M%S") for m in moments[1:])))
        observance.add("tzoffsetfrom", before)
        observance.add("tzoffsetto", after)
        observance.add("tzname", abbreviation)
        timezone.add_component(observance)
    return timezone


_Transition = tuple[datetime, timedelta, timedelta, str, bool]


@lru_cache(maxsize=256)
def _transitions(name: str, first_year: int, last_year: int) -> tuple[timedelta, str, bool, tuple[_Transition, ...]]:
    """The zone's state at the start of `first_year` and every change until the end of `last_year`."""
    zone = zoneinfo.ZoneInfo(name)

    def state(moment: datetime) -> tuple[timedelta, str, bool]:
        local = moment.astimezone(zone)
        return local.utcoffset() or timedelta(0), local.tzname() or name, bool(local.dst())

    moment = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    current = state(moment)
    initial = current
    changes: list[_Transition] = []
    step = timedelta(days=1)
    while moment < end:
        following = moment + step
        after = state(following)
        if after != current:
            low, high = moment, following  # state(low) == current, state(high) != current
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if state(middle) == current:
                    low = middle
                else:
                    high = middle
            change = state(high)
            if change[0] != current[0] or change[1] != current[1]:
                changes.append((high.replace(microsecond=0), current[0], change[0], change[1], change[2]))
            current = change
            moment = high
            continue
        moment = following
    return initial[0], initial[1], initial[2], tuple(changes)
