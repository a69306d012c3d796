"""Changed occurrences (RECURRENCE-ID) whose series is not in the file, as Google exports a series split by a
"this and following" edit: each is imported as a single plan, never dropped, as recurring-ical-events shows it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import icalendar
import pytest
import recurring_ical_events

from apps.calendars import services
from apps.calendars.ical import parse_calendar, render_calendar
from apps.calendars.ical.reader import INSTANCE_UID_MARK
from apps.calendars.models import Calendar, Plan
from apps.calendars.recurrence import expand

YEAR = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def vevent(uid: str, *lines: str) -> list[str]:
    return ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z", *lines, "END:VEVENT"]


FILE = "\r\n".join(
    [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", "X-WR-TIMEZONE:Europe/Berlin",
        *vevent("split_R20260307@google.com", "RECURRENCE-ID:20260307T090000Z", "SUMMARY:Moved run",
                "DTSTART:20260308T080000Z", "DTEND:20260308T090000Z", "RRULE:FREQ=WEEKLY;COUNT=5"),
        *vevent("split_R20260307@google.com", "RECURRENCE-ID:20260314T090000Z", "SUMMARY:Old", "SEQUENCE:1",
                "DTSTART:20260314T090000Z", "DTEND:20260314T100000Z"),
        *vevent("split_R20260307@google.com", "RECURRENCE-ID:20260314T090000Z", "SUMMARY:Newer", "SEQUENCE:2",
                "DTSTART:20260314T100000Z", "DTEND:20260314T110000Z", "STATUS:CANCELLED"),
        *vevent("holiday@test", "RECURRENCE-ID;VALUE=DATE:20260320", "SUMMARY:Holiday",
                "DTSTART;VALUE=DATE:20260321", "DTEND;VALUE=DATE:20260322"),
        *vevent("whole@test", "SUMMARY:A series", "DTSTART:20260301T100000Z", "RRULE:FREQ=DAILY;COUNT=2"),
        "END:VCALENDAR", "",
    ]
).encode()  # fmt: skip


def test_each_occurrence_without_its_series_becomes_a_single_plan() -> None:
    parsed = parse_calendar(FILE, default_timezone="UTC")
    assert parsed.refused == []
    plans = {plan.uid: plan for plan in parsed.items}
    assert sorted(plans) == [
        "holiday@test#20260320",
        "split_R20260307@google.com#20260307T090000Z",
        "split_R20260307@google.com#20260314T090000Z",
        "whole@test",
    ]
    moved = plans["split_R20260307@google.com#20260307T090000Z"]
    # Its own start and end, in the calendar's zone; the RRULE it carried is not its own (the library ignores it).
    assert (moved.title, moved.timezone, moved.start_local, moved.end_local) == (
        "Moved run",
        "Europe/Berlin",
        datetime(2026, 3, 8, 9),
        datetime(2026, 3, 8, 10),
    )
    assert (moved.rrule, moved.rdates, moved.exdates, moved.overrides) == ("", [], [], [])
    newer = plans["split_R20260307@google.com#20260314T090000Z"]
    assert (newer.title, newer.status, newer.start_local) == ("Newer", "cancelled", datetime(2026, 3, 14, 11))
    holiday = plans["holiday@test#20260320"]
    assert (holiday.all_day, holiday.start_date, holiday.end_date) == (True, date(2026, 3, 21), date(2026, 3, 22))


def test_the_occurrences_are_the_reference_librarys() -> None:
    theirs = set()
    for component in recurring_ical_events.of(icalendar.Calendar.from_ical(FILE)).between(*YEAR):
        start, end = component["DTSTART"].dt, component["DTEND"].dt
        if isinstance(start, datetime):
            start, end = start.astimezone(UTC), end.astimezone(UTC)
        theirs.add((str(component["UID"]), start, end))
    ours = set()
    for plan in parse_calendar(FILE, default_timezone="UTC").items:
        uid = plan.uid.split(INSTANCE_UID_MARK)[0]
        for o in expand(plan.series(), *YEAR):
            ours.add((uid, o.start_date, o.end_date) if o.all_day else (uid, o.start_utc, o.end_utc))
    assert len(theirs) == 5  # three occurrences alone, two of the whole series
    assert ours == theirs


def test_a_long_uid_stays_within_the_column() -> None:
    uid = "x" * 600
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"]
    lines += vevent(uid, "RECURRENCE-ID:20260307T090000Z", "DTSTART:20260307T090000Z")
    [plan] = parse_calendar("\r\n".join([*lines, "END:VCALENDAR", ""]), default_timezone="UTC").items
    assert plan.uid.startswith("sha256:")
    assert len(plan.uid) <= 500


def test_exported_and_read_again_they_stay_the_same_plans() -> None:
    plans = parse_calendar(FILE, default_timezone="UTC").items
    written = render_calendar(name="Imported", timezone="Europe/Berlin", plans=plans)
    assert b"RECURRENCE-ID" not in written  # single plans now, each under its own UID
    assert parse_calendar(written, default_timezone="UTC").items == plans


@pytest.mark.django_db
def test_importing_again_updates_them_instead_of_adding_more(user: Any) -> None:
    calendar = Calendar.objects.get(owner=user, is_default=True)
    first = services.plans_import(calendar=calendar, data=FILE)
    assert (first.created, first.updated, first.refused) == (4, 0, [])
    again = services.plans_import(calendar=calendar, data=FILE)
    assert (again.created, again.updated, again.refused) == (0, 4, [])
    alone = Plan.objects.filter(calendar=calendar, ical_uid__contains=INSTANCE_UID_MARK)
    assert sorted((p.ical_uid, p.rrule) for p in alone) == [
        ("holiday@test#20260320", ""),
        ("split_R20260307@google.com#20260307T090000Z", ""),
        ("split_R20260307@google.com#20260314T090000Z", ""),
    ]
