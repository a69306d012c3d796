"""Reading iCalendar: every VEVENT becomes the data of one plan, in its own IANA zone's wall-clock time.

Each VEVENT becomes a plan (keyed by UID) with its RRULE/RDATE/EXDATE kept, and the VEVENTs carrying a
RECURRENCE-ID for the same UID become its overrides (RANGE=THISANDFUTURE kept). Times become naive wall-clock
times in the plan's own IANA zone:

- DTSTART;TZID=... gives the zone: IANA names, Windows/Outlook names and "globally unique" /vendor/Region/City
  ids (apps.core.icalendar). A custom VTIMEZONE with an unknown name is matched to the IANA zone whose offsets
  agree with it; one that matches none is read as UTC instants.
- A UTC time (...Z) is in zone "UTC", unless the calendar has X-WR-TIMEZONE (Google's exports): then UTC and
  floating times are shown in that zone, as the x-wr-timezone package does for recurring-ical-events.
- A floating time (no zone) is read in `default_timezone`, the zone of the calendar imported into.
- A DATE value makes an all-day plan (in the X-WR-TIMEZONE or default zone); DTEND is exclusive. Without
  DTEND: DURATION, else one day (all-day) or no duration (timed), as RFC 5545 says.

Changed occurrences whose master VEVENT is not in the file become single plans of their own. Something that
cannot be used alone (no DTSTART, an end before the start, an unreadable RRULE) is refused with a reason and
the rest is kept; other components (VTODO, VJOURNAL, VFREEBUSY, ...) are counted as skipped. A file
that does not parse at all raises IcsParseError naming the line or component where it broke.
"""

from __future__ import annotations

import hashlib
import math
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import icalendar
from icalendar.prop import vBroken

from apps.calendars import recurrence
from apps.calendars.ical.properties import (
    clip,
    duration_of,
    geo_of,
    highest_sequence,
    sequence_of,
    text_of,
    tzid_of,
    updated_at,
    values_of,
    wall_time,
)
from apps.calendars.ical.shapes import (
    MAX_LOCATION,
    MAX_TITLE,
    MAX_UID,
    STATUSES,
    UNTITLED,
    X_TIMEZONE,
    IcsParseError,
    OverrideData,
    ParsedCalendar,
    PlanData,
    Refusal,
)
from apps.calendars.ical.structure import check_structure, decode, locate
from apps.calendars.ical.zones import custom_zone, matching_zone
from apps.calendars.recurrence import RecurrenceError, format_local
from apps.core.icalendar import known_zone, property_value, zone_name_of

_ONE_DAY = timedelta(days=1)
# Between the series' UID and the RECURRENCE-ID in the UID of an occurrence imported without its series.
INSTANCE_UID_MARK = "#"


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
    text = decode(data)
    text, blocks = check_structure(text)
    try:
        calendars = icalendar.Calendar.from_ical(text, multiple=True)
    except Exception as exc:
        raise IcsParseError(locate(text, blocks, exc)) from exc

    items: list[PlanData] = []
    refused: list[Refusal] = []
    skipped = 0
    name, calendar_zone = "", None
    for calendar in calendars:
        if calendar.name != "VCALENDAR":
            raise IcsParseError(f"Expected a VCALENDAR, found {calendar.name}.")
        reader = _Reader(calendar, default_timezone)
        name = name or text_of(calendar.get("X-WR-CALNAME"))
        calendar_zone = calendar_zone or reader.x_wr_zone
        found, refusals, others = reader.read()
        items.extend(found)
        refused.extend(refusals)
        skipped += others
    return ParsedCalendar(items=items, refused=refused, skipped_components=skipped, name=name, timezone=calendar_zone)


class _Reader:
    """Reads the VEVENTs of one VCALENDAR."""

    def __init__(self, calendar: icalendar.Calendar, default_timezone: str) -> None:
        self.calendar = calendar
        self.x_wr_zone = known_zone(text_of(calendar.get("X-WR-TIMEZONE")))
        self.floating_zone = self.x_wr_zone or default_timezone
        self.vtimezones = {
            text_of(tz.get("TZID")): tz for tz in calendar.subcomponents if tz.name == "VTIMEZONE" and tz.get("TZID")
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
            if masters:
                found, refusals = self._series(uid, highest_sequence(masters), changes)
            else:
                found, refusals = self._alone(uid, changes)
            items.extend(found)
            refused.extend(refusals)
        return items, refused, skipped

    def _series(
        self, uid: str, master: icalendar.Component, changes: list[icalendar.Component]
    ) -> tuple[list[PlanData], list[Refusal]]:
        """The master VEVENT as a plan, its changed occurrences as its overrides (the highest SEQUENCE wins)."""
        try:
            item = self._plan(uid, master)
        except _Refused as refusal:
            return [], [Refusal(uid, refusal.reason)]
        refused: list[Refusal] = []
        overrides: dict[str, tuple[int, OverrideData]] = {}
        for change in changes:
            try:
                override = self._override(item, change)
            except _Refused as refusal:
                refused.append(Refusal(uid, f"A changed occurrence was left out: {refusal.reason}"))
                continue
            if _stale(item, master, change, override):
                continue
            sequence = sequence_of(change)
            previous = overrides.get(override.recurrence_id)
            if previous is None or sequence > previous[0]:
                overrides[override.recurrence_id] = (sequence, override)
        item.overrides = [overrides[key][1] for key in sorted(overrides)]
        return [item], refused

    def _alone(self, uid: str, changes: list[icalendar.Component]) -> tuple[list[PlanData], list[Refusal]]:
        """Changed occurrences whose master is not in the file (Google's exports split a series edited "this and
        following" so): each is a single plan, as recurring-ical-events shows it, under its own UID made from the
        series' UID and the RECURRENCE-ID (a plan's UID is unique in its calendar), so importing it again
        updates it. The highest SEQUENCE of one RECURRENCE-ID wins; rules it carries are not its own."""
        by_original: dict[str, list[icalendar.Component]] = {}
        for change in changes:
            prop = change.get("RECURRENCE-ID")
            prop = prop[0] if isinstance(prop, list) else prop
            by_original.setdefault(prop.to_ical().decode(errors="replace").strip(), []).append(change)
        items: list[PlanData] = []
        refused: list[Refusal] = []
        for original in sorted(by_original):
            instance_uid = _bounded_uid(f"{uid}{INSTANCE_UID_MARK}{original}")
            try:
                items.append(self._plan(instance_uid, highest_sequence(by_original[original]), alone=True))
            except _Refused as refusal:
                refused.append(Refusal(instance_uid, refusal.reason))
        return items, refused

    def _uid(self, component: icalendar.Component) -> str:
        uid = text_of(component.get("UID"))
        if not uid:
            digest = hashlib.sha256(component.to_ical()).hexdigest()[:32]
            return f"generated-{digest}@weekend-planner"
        return _bounded_uid(uid)

    # One plan --------------------------------------------------------------------------------------------------

    def _plan(self, uid: str, event: icalendar.Component, *, alone: bool = False) -> PlanData:
        """The plan a VEVENT describes; `alone`: a single occurrence, whatever recurrence it carries."""
        start_value, start_zone = self._moment(event, "DTSTART", required=True)
        assert start_value is not None
        item = PlanData(
            uid=uid,
            title=clip(text_of(event.get("SUMMARY")), MAX_TITLE) or UNTITLED,
            notes=text_of(event.get("DESCRIPTION")),
            location=clip(text_of(event.get("LOCATION")), MAX_LOCATION),
            status=STATUSES.get(text_of(event.get("STATUS")).upper(), "confirmed"),
            sequence=max(0, sequence_of(event)),
            updated_at=updated_at(event),
        )
        item.lat, item.lon = geo_of(event.get("GEO"))
        if isinstance(start_value, datetime):
            zone_name, start = self._zoned(start_value, start_zone)
            item.timezone, item.all_day, item.start_local = zone_name, False, start
            item.end_local = self._timed_end(event, start_value, start_zone, zone_name, start)
        else:
            zone_name = known_zone(text_of(event.get(X_TIMEZONE))) or self.floating_zone
            item.timezone, item.all_day, item.start_date = zone_name, True, start_value
            item.end_date = self._all_day_end(event, start_value, item.timezone)
        if not alone:
            item.rrule = self._rrule(event, item)
            item.rdates = self._dates(event, "RDATE", item)
            item.exdates = self._dates(event, "EXDATE", item)
        try:
            item.series().compiled  # noqa: B018 - compiles the series now, so a bad one is refused here
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
            duration = duration_of(event)
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
        duration = duration_of(event)
        if duration is not None:
            if duration < timedelta(0):
                raise _Refused("The event ends before it starts (negative DURATION).")
            return start + timedelta(days=max(1, math.ceil(duration / _ONE_DAY)))
        return start + _ONE_DAY

    def _rrule(self, event: icalendar.Component, item: PlanData) -> str:
        texts: list[str] = []
        for value in values_of(event.get("RRULE")):
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
        for prop in values_of(event.get(name)):
            if isinstance(prop, vBroken):
                if name == "RDATE":
                    raise _Refused(f"Unreadable {name}: {clip(str(prop), 80)}")
                continue  # an unreadable EXDATE removes nothing
            tzid = tzid_of(prop)
            try:
                entries = list(getattr(prop, "dts", []))
            except Exception:  # noqa: BLE001 - an unreadable list removes (EXDATE) or refuses (RDATE) nothing more
                entries = []
            for entry in entries:
                value = property_value(entry)
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
                return wall_time(value).date() if tzid else self._zoned(value, tzid)[1].date()
            return self._in_zone(value, tzid, item.timezone)
        if not isinstance(value, date):
            raise _Refused(f"{name} value {clip(str(value), 40)} is neither a date nor a date-time.")
        return value

    # Overrides -----------------------------------------------------------------------------------------------

    def _override(self, item: PlanData, event: icalendar.Component) -> OverrideData:
        prop = event.get("RECURRENCE-ID")
        if isinstance(prop, list):
            prop = prop[0]
        value = property_value(prop)
        if not isinstance(value, date):
            raise _Refused("unreadable RECURRENCE-ID.")
        original = self._date_value(value, tzid_of(prop), item, "RECURRENCE-ID")
        status = STATUSES.get(text_of(event.get("STATUS")).upper(), item.status)
        title = clip(text_of(event.get("SUMMARY")), MAX_TITLE) or item.title
        start_local = end_local = None
        start_date = end_date = None
        start_value, start_zone = self._moment(event, "DTSTART")
        if isinstance(start_value, datetime):
            start = self._in_zone(start_value, start_zone, item.timezone)
            end = self._timed_end(event, start_value, start_zone, item.timezone, start)
            if item.all_day or (start, end) != item.original_span(original):
                start_local, end_local = start, end
        elif start_value is not None:
            end_day = self._all_day_end(event, start_value, item.timezone)
            if not item.all_day or (start_value, end_day) != item.original_span(original):
                start_date, end_date = start_value, end_day
        return OverrideData(
            recurrence_id=format_local(original),
            cancelled=status == "cancelled",
            title=title if title != item.title else None,
            status=status if status not in ("cancelled", item.status) else None,
            start_local=start_local,
            end_local=end_local,
            start_date=start_date,
            end_date=end_date,
            this_and_future=str(prop.params.get("RANGE", "")).strip().upper() == "THISANDFUTURE",
        )

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
        value = property_value(prop)
        if not isinstance(value, date):
            if required:
                raise _Refused(f"Unreadable {name}: {clip(str(prop), 80)}")
            return None, None
        return value, tzid_of(prop)

    def _zoned(self, value: datetime, tzid: str | None) -> tuple[str, datetime]:
        """(the plan's zone, the naive wall-clock start in it) for a DTSTART date-time."""
        if tzid:
            resolved = self._resolve_tzid(tzid, value)
            if resolved is not None:
                zone_name, custom = resolved
                if custom is None:
                    return zone_name, wall_time(value)
                return "UTC", wall_time(value).replace(tzinfo=custom).astimezone(UTC).replace(tzinfo=None)
            return self.floating_zone, wall_time(value)
        if value.tzinfo is None:
            return self.floating_zone, wall_time(value)
        if self.x_wr_zone is not None:
            return self.x_wr_zone, wall_time(value.astimezone(zoneinfo.ZoneInfo(self.x_wr_zone)))
        zone_name = zone_name_of(value.tzinfo) or "UTC"
        return zone_name, wall_time(value.astimezone(zoneinfo.ZoneInfo(zone_name)))

    def _in_zone(self, value: datetime, tzid: str | None, zone_name: str) -> datetime:
        """A date-time as a naive wall-clock time in the plan's zone."""
        own_zone, wall = self._zoned(value, tzid)
        if own_zone == zone_name:
            return wall
        instant = wall.replace(tzinfo=zoneinfo.ZoneInfo(own_zone))
        return wall_time(instant.astimezone(zoneinfo.ZoneInfo(zone_name)))

    def _resolve_tzid(self, tzid: str, near: datetime) -> tuple[str, tzinfo | None] | None:
        """(IANA name, None), or ("UTC", custom tzinfo) for a custom zone no IANA zone matches; None when the
        TZID is unknown and has no VTIMEZONE (read as floating)."""
        if tzid in self._tzid_cache:
            return self._tzid_cache[tzid]
        result: tuple[str, tzinfo | None] | None = None
        known = known_zone(tzid)
        if known is not None:
            result = (known, None)
        elif tzid in self.vtimezones:
            custom = custom_zone(self.vtimezones[tzid])
            if custom is not None:
                hints = (self.x_wr_zone, self.floating_zone)
                matched = matching_zone(custom, near.year, tuple(h for h in hints if h))
                result = (matched, None) if matched else ("UTC", custom)
        self._tzid_cache[tzid] = result
        return result


def _bounded_uid(uid: str) -> str:
    """The UID as stored: one longer than the column is replaced by its digest."""
    return uid if len(uid) <= MAX_UID else f"sha256:{hashlib.sha256(uid.encode()).hexdigest()}"


def _stale(item: PlanData, master: icalendar.Component, change: icalendar.Component, override: OverrideData) -> bool:
    """A changed occurrence that carries recurrence rules of its own, is older (lower SEQUENCE) than the master
    and no longer matches an occurrence of it: left over from an earlier version of the series (Thunderbird
    and Google keep these after "this and following" edits); recurring-ical-events ignores them too."""
    if not any(name in change for name in ("RRULE", "RDATE", "EXDATE")) or sequence_of(change) >= sequence_of(master):
        return False
    original = recurrence.parse_local(override.recurrence_id, timezone=item.timezone)
    series = item.series()
    day = original if not isinstance(original, datetime) else original.date()
    window_start = recurrence.day_start_utc(day, item.timezone)
    window_end = recurrence.day_start_utc(day + _ONE_DAY, item.timezone)
    return not any(
        o.recurrence_id == override.recurrence_id for o in recurrence.expand(series, window_start, window_end)
    )
