"""RECURRENCE-ID;RANGE=THISANDFUTURE: an override that changes its own occurrence and every later one (RFC 5545
3.2.13), as recurring-ical-events reads it: in the expansion, through iCalendar in and out, and through the
import, the database and the feed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
import pytest
import recurring_ical_events

from apps.calendars import selectors, services
from apps.calendars.ical import parse_calendar, render_calendar
from apps.calendars.models import Calendar, PlanOverride
from apps.calendars.recurrence import Occurrence, OverrideSpec, Series, expand, series_end_utc

BERLIN = "Europe/Berlin"
YEAR = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def saturdays(overrides: dict[str, OverrideSpec]) -> Series:
    """Saturdays 10:00-12:00 in Berlin from 7 March 2026, ten times (across the DST change of 29 March)."""
    return Series(
        timezone=BERLIN,
        start_local=datetime(2026, 3, 7, 10),
        end_local=datetime(2026, 3, 7, 12),
        rrule="FREQ=WEEKLY;COUNT=10",
        overrides=overrides,
    )


def local(occurrences: list[Occurrence]) -> list[tuple[str, str, str | None]]:
    """(local start, local end, title) of each occurrence, times as written on the wall clock."""
    return [
        (f"{o.start_local:%m-%d %H:%M}", f"{o.end_local:%m-%d %H:%M}", o.title)
        for o in occurrences
        if o.start_local and o.end_local
    ]


LATER = OverrideSpec(
    start_local=datetime(2026, 3, 21, 14), end_local=datetime(2026, 3, 21, 15), title="Later", this_and_future=True
)


# --- The expansion ---------------------------------------------------------------------------------------------


def test_the_shift_length_and_changes_apply_to_every_later_occurrence() -> None:
    series = saturdays({"2026-03-21T10:00:00": LATER})
    assert local(expand(series, *YEAR))[1:5] == [
        ("03-14 10:00", "03-14 12:00", None),  # before the override: as the series has it
        ("03-21 14:00", "03-21 15:00", "Later"),  # the override itself
        ("03-28 14:00", "03-28 15:00", "Later"),  # 4 hours later, 1 hour long, its title: on the wall clock,
        ("04-04 14:00", "04-04 15:00", "Later"),  # so across the DST change too
    ]
    assert [o.overridden for o in expand(series, *YEAR)] == [False, False] + [True] * 8


def test_a_later_this_and_future_override_takes_over_and_a_plain_one_changes_one_occurrence() -> None:
    series = saturdays(
        {
            "2026-03-21T10:00:00": LATER,
            "2026-03-28T10:00:00": OverrideSpec(
                start_local=datetime(2026, 3, 29, 9), end_local=datetime(2026, 3, 29, 10)
            ),
            "2026-04-18T10:00:00": OverrideSpec(
                start_local=datetime(2026, 4, 19, 9), end_local=datetime(2026, 4, 19, 12), this_and_future=True
            ),
        }
    )
    assert local(expand(series, *YEAR))[2:] == [
        ("03-21 14:00", "03-21 15:00", "Later"),
        ("03-29 09:00", "03-29 10:00", None),  # a plain override: its own times, the series' title
        ("04-04 14:00", "04-04 15:00", "Later"),
        ("04-11 14:00", "04-11 15:00", "Later"),
        ("04-19 09:00", "04-19 12:00", None),  # the second range: a day later, 1 hour earlier, 3 hours long
        ("04-26 09:00", "04-26 12:00", None),
        ("05-03 09:00", "05-03 12:00", None),
        ("05-10 09:00", "05-10 12:00", None),
    ]


@pytest.mark.parametrize(
    ("moved_to", "window"),
    [
        # Three days earlier: the occurrence of 2 May now falls in a window that ends before 2 May.
        (datetime(2026, 3, 18, 10), (utc(2026, 4, 28), utc(2026, 5, 1))),
        # Three days later: the occurrence of 25 April now falls in a window that starts after it.
        (datetime(2026, 3, 24, 10), (utc(2026, 4, 27), utc(2026, 4, 30))),
    ],
)
def test_occurrences_moved_into_a_window_from_outside_it_are_found(moved_to: datetime, window: Any) -> None:
    spec = OverrideSpec(start_local=moved_to, end_local=moved_to + timedelta(hours=2), this_and_future=True)
    found = expand(saturdays({"2026-03-21T10:00:00": spec}), *window)
    assert len(found) == 1
    assert window[0] <= found[0].start_utc < window[1]


def test_an_rdate_period_keeps_its_length_and_moves() -> None:
    series = Series(
        timezone="UTC",
        start_local=datetime(2026, 3, 7, 10),
        end_local=datetime(2026, 3, 7, 12),
        rdates=("2026-03-20T10:00:00/2026-03-20T10:30:00", "2026-03-21T10:00:00"),
        overrides={
            "2026-03-07T10:00:00": OverrideSpec(
                start_local=datetime(2026, 3, 7, 7), end_local=datetime(2026, 3, 7, 14), this_and_future=True
            )
        },
    )
    assert [(o.start_utc, o.end_utc) for o in expand(series, *YEAR)] == [
        (utc(2026, 3, 7, 7), utc(2026, 3, 7, 14)),
        (utc(2026, 3, 20, 7), utc(2026, 3, 20, 7, 30)),  # the period's own half hour
        (utc(2026, 3, 21, 7), utc(2026, 3, 21, 14)),  # the override's seven hours
    ]


def test_an_all_day_series_moves_by_days() -> None:
    series = Series(
        timezone=BERLIN,
        all_day=True,
        start_date=date(2026, 3, 2),
        end_date=date(2026, 3, 3),
        rrule="FREQ=MONTHLY;COUNT=4",
        overrides={
            "2026-04-02": OverrideSpec(start_date=date(2026, 4, 3), end_date=date(2026, 4, 5), this_and_future=True)
        },
    )
    assert [(o.start_date, o.end_date) for o in expand(series, *YEAR)] == [
        (date(2026, 3, 2), date(2026, 3, 3)),
        (date(2026, 4, 3), date(2026, 4, 5)),
        (date(2026, 5, 3), date(2026, 5, 5)),
        (date(2026, 6, 3), date(2026, 6, 5)),
    ]


def test_a_timed_series_can_become_all_day_from_an_occurrence_on() -> None:
    spec = OverrideSpec(start_date=date(2026, 3, 21), end_date=date(2026, 3, 22), this_and_future=True)
    found = expand(saturdays({"2026-03-21T10:00:00": spec}), *YEAR)
    assert [o.all_day for o in found] == [False, False] + [True] * 8
    assert (found[3].start_date, found[3].end_date, found[3].recurrence_id) == (
        date(2026, 3, 28),
        date(2026, 3, 29),
        "2026-03-28T10:00:00",
    )


def test_cancelling_this_and_future_cancels_the_rest_and_keeps_their_ids() -> None:
    spec = OverrideSpec(cancelled=True, this_and_future=True)
    found = expand(saturdays({"2026-04-04T10:00:00": spec}), *YEAR)
    assert [o.cancelled for o in found] == [False] * 4 + [True] * 6
    assert found[5].recurrence_id == "2026-04-11T10:00:00"


def test_an_excluded_this_and_future_override_still_changes_the_later_occurrences() -> None:
    series = Series(
        timezone=BERLIN,
        start_local=datetime(2026, 3, 7, 10),
        end_local=datetime(2026, 3, 7, 12),
        rrule="FREQ=WEEKLY;COUNT=4",
        exdates=("2026-03-14T10:00:00",),
        overrides={"2026-03-14T10:00:00": OverrideSpec(title="Gone", this_and_future=True)},
    )
    assert [(o.recurrence_id, o.title) for o in expand(series, *YEAR)] == [
        ("2026-03-07T10:00:00", None),
        ("2026-03-21T10:00:00", "Gone"),
        ("2026-03-28T10:00:00", "Gone"),
    ]


def test_the_series_end_covers_the_moved_occurrences() -> None:
    spec = OverrideSpec(
        start_local=datetime(2026, 3, 24, 10), end_local=datetime(2026, 3, 24, 20), this_and_future=True
    )
    series = saturdays({"2026-03-21T10:00:00": spec})
    last = expand(series, *YEAR)[-1]
    end = series_end_utc(series)
    assert end is not None
    assert last.end_utc <= end < last.end_utc + timedelta(days=3)


# --- iCalendar in and out, against the reference library ------------------------------------------------------

FILE = "\r\n".join(
    [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN",
        "BEGIN:VEVENT", "UID:run@test", "DTSTAMP:20260101T000000Z", "SUMMARY:Run", "SEQUENCE:1",
        "DTSTART;TZID=Europe/Berlin:20260307T100000", "DTEND;TZID=Europe/Berlin:20260307T120000",
        "RRULE:FREQ=WEEKLY;COUNT=10", "RDATE;TZID=Europe/Berlin:20260325T180000", "END:VEVENT",
        "BEGIN:VEVENT", "UID:run@test", "DTSTAMP:20260101T000000Z", "SUMMARY:Later", "SEQUENCE:1",
        "RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Berlin:20260321T100000",
        "DTSTART;TZID=Europe/Berlin:20260321T140000", "DTEND;TZID=Europe/Berlin:20260321T150000", "END:VEVENT",
        "BEGIN:VEVENT", "UID:run@test", "DTSTAMP:20260101T000000Z", "SUMMARY:Later", "SEQUENCE:1",
        "RECURRENCE-ID;TZID=Europe/Berlin:20260404T100000",
        "DTSTART;TZID=Europe/Berlin:20260405T090000", "DTEND;TZID=Europe/Berlin:20260405T100000", "END:VEVENT",
        "BEGIN:VEVENT", "UID:run@test", "DTSTAMP:20260101T000000Z", "SUMMARY:Sundays", "SEQUENCE:1",
        "RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Berlin:20260418T100000",
        "DTSTART;TZID=Europe/Berlin:20260419T090000", "DTEND;TZID=Europe/Berlin:20260419T120000", "END:VEVENT",
        "END:VCALENDAR", "",
    ]
).encode()  # fmt: skip


def library_occurrences(data: bytes) -> set[tuple[datetime, datetime, str]]:
    calendar = icalendar.Calendar.from_ical(data)
    return {
        (c["DTSTART"].dt.astimezone(UTC), c["DTEND"].dt.astimezone(UTC), str(c["SUMMARY"]))
        for c in recurring_ical_events.of(calendar).between(*YEAR)
    }


def our_occurrences(data: bytes) -> set[tuple[datetime, datetime, str]]:
    [plan] = parse_calendar(data, default_timezone="UTC").items
    return {(o.start_utc, o.end_utc, o.title or plan.title) for o in expand(plan.series(), *YEAR)}


def test_the_range_is_read_and_expanded_as_the_reference_library_does() -> None:
    parsed = parse_calendar(FILE, default_timezone="UTC")
    assert not parsed.refused
    [plan] = parsed.items
    assert [(o.recurrence_id, o.this_and_future) for o in plan.overrides] == [
        ("2026-03-21T10:00:00", True),
        ("2026-04-04T10:00:00", False),
        ("2026-04-18T10:00:00", True),
    ]
    assert len(library_occurrences(FILE)) == 11
    assert our_occurrences(FILE) == library_occurrences(FILE)


def test_the_range_is_written_and_reads_back_the_same() -> None:
    plans = parse_calendar(FILE, default_timezone="UTC").items
    written = render_calendar(name="Runs", timezone=BERLIN, plans=plans)
    lines = written.decode().split("\r\n")
    assert "RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Berlin:20260321T100000" in lines
    assert "RECURRENCE-ID;TZID=Europe/Berlin:20260404T100000" in lines
    assert parse_calendar(written, default_timezone="UTC").items == plans
    assert library_occurrences(written) == library_occurrences(FILE)


@pytest.mark.django_db
def test_import_export_import_keeps_the_range(user: Any) -> None:
    first = Calendar.objects.get(owner=user, is_default=True)
    result = services.plans_import(calendar=first, data=FILE)
    assert (result.created, result.refused) == (1, [])
    stored = PlanOverride.objects.filter(plan__calendar=first).order_by("recurrence_id")
    assert [(o.recurrence_id, o.this_and_future) for o in stored] == [
        ("2026-03-21T10:00:00", True),
        ("2026-04-04T10:00:00", False),
        ("2026-04-18T10:00:00", True),
    ]
    feed = selectors.calendar_ics(calendar=first)
    assert b"RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Berlin:20260418T100000" in feed

    second = services.calendar_create(owner=user, name="Copy", timezone="UTC")
    services.plans_import(calendar=second, data=feed)
    again = PlanOverride.objects.filter(plan__calendar=second).order_by("recurrence_id")
    assert [(o.recurrence_id, o.this_and_future) for o in again] == [
        (o.recurrence_id, o.this_and_future) for o in stored
    ]

    def seen(calendar: Calendar) -> list[tuple[datetime, datetime, str]]:
        items = selectors.occurrences(calendar_ids=[calendar.pk], start=YEAR[0], end=YEAR[1])
        return [(i.occurrence.start_utc, i.occurrence.end_utc, i.title) for i in items]

    assert seen(first) == seen(second) == sorted(library_occurrences(FILE))


def test_changing_one_occurrence_a_this_and_future_override_moved_keeps_the_rest_of_the_move(user: Any) -> None:
    calendar = Calendar.objects.get(owner=user, is_default=True)
    services.plans_import(calendar=calendar, data=FILE)
    plan = calendar.plans.get()
    saturday = (utc(2026, 3, 28), utc(2026, 3, 29))

    def on_saturday() -> list[tuple[datetime, datetime, str, str]]:
        items = selectors.occurrences(calendar_ids=[calendar.pk], start=saturday[0], end=saturday[1])
        return [(i.occurrence.start_utc, i.occurrence.end_utc, i.title, i.status) for i in items]

    # Moved by the override of 21 March to 14:00-15:00 Berlin (UTC+1 until 29 March) and renamed.
    assert on_saturday() == [(utc(2026, 3, 28, 13), utc(2026, 3, 28, 14), "Later", "confirmed")]

    services.occurrence_change(plan=plan, recurrence_id="2026-03-28T10:00:00", changes={"status": "tentative"})

    assert on_saturday() == [(utc(2026, 3, 28, 13), utc(2026, 3, 28, 14), "Later", "tentative")]
