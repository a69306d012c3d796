"""Writing iCalendar: plans to an RFC 5545 VCALENDAR that reading gives back as the same plan data.

A VTIMEZONE for every zone used, stable UIDs, DTSTAMP, SEQUENCE, DTSTART/DTEND with TZID (or DATE values),
RRULE/RDATE/EXDATE as stored, and one VEVENT per override with its RECURRENCE-ID.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import icalendar
from icalendar.prop import vInline

from apps.calendars import recurrence
from apps.calendars.ical.shapes import PRODID, X_TIMEZONE, OverrideData, PlanData
from apps.calendars.ical.zones import VTIMEZONE_LAST_YEAR, export_zone, vtimezone
from apps.calendars.recurrence import RecurrenceError

_ONE_DAY = timedelta(days=1)


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
            zone = export_zone(plan.timezone)
            zones.setdefault(zone, []).extend(_years(plan))
    for zone, years in sorted(zones.items()):
        calendar.add_component(vtimezone(zone, min(years) - 1, max(max(years) + 1, VTIMEZONE_LAST_YEAR)))
    for event in events:
        calendar.add_component(event)
    return bytes(calendar.to_ical())


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
    # RANGE=THISANDFUTURE: the change applies to this occurrence and every later one (RFC 5545 3.2.13).
    extra = {"RANGE": "THISANDFUTURE"} if override.this_and_future else {}
    _add_moment(event, "recurrence-id", original, plan.timezone, extra)
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
        start, end = plan.original_span(original)
        _add_moment(event, "dtstart", start, plan.timezone)
        _add_moment(event, "dtend", end, plan.timezone)
    return event


def _event_base(plan: PlanData, stamp: datetime) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", plan.uid)
    event.add("dtstamp", stamp)
    event.add("sequence", plan.sequence)
    return event


def _add_moment(
    event: icalendar.Component, name: str, value: datetime | date, zone: str, extra: dict[str, str] | None = None
) -> None:
    if isinstance(value, datetime):
        parameters = {"TZID": export_zone(zone), **(extra or {})}
        event.add(name, vInline(value.strftime("%Y%m%dT%H%M%S")), parameters=parameters)
    else:
        event.add(name, vInline(value.strftime("%Y%m%d")), parameters={"VALUE": "DATE", **(extra or {})})


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
    tzid = export_zone(plan.timezone)
    if dates:
        event.add(name, vInline(",".join(dates)), parameters={"VALUE": "DATE"})
    if times:
        event.add(name, vInline(",".join(times)), parameters={"TZID": tzid})
    if periods:
        event.add(name, vInline(",".join(periods)), parameters={"TZID": tzid, "VALUE": "PERIOD"})
