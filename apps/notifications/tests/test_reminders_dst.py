"""Reminders across daylight-saving changes, end to end: a simulated beat (the minute tick, the deferred sends and
the hourly refresh) steps the clock minute by minute over Europe/Berlin's 2026-10-25 and America/New_York's
2026-11-01, and the real SMTP server (tests/smtp.py) must receive each due reminder exactly once, at its minute,
with the local time of the person who gets it; none for a cancelled occurrence, a moved one at its new time,
none for a person who turned reminders off."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from apps.calendars import selectors as calendar_selectors
from apps.calendars import services as calendar_services
from apps.calendars.tests.factories import CalendarFactory, PlanFactory
from apps.notifications import services, tasks
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # receivers refresh reminders when writes commit


@pytest.fixture
def eager() -> Iterator[None]:
    tasks.send_notification.app.conf.task_always_eager = True
    yield
    tasks.send_notification.app.conf.task_always_eager = False


def someone(email: str, timezone: str, minutes: int | None):  # type: ignore[no-untyped-def]
    person = UserFactory(email=email)
    person.profile.timezone = timezone
    person.profile.save()
    preferences = services.preferences_for(user=person)
    preferences.reminder_minutes = minutes
    preferences.save()
    return person


def run_beat(clock, smtp_server, start: datetime, end: datetime, actions: dict[datetime, Callable[[], object]]):  # type: ignore[no-untyped-def]
    """Beat's schedule, minute by minute (each tick 20 s past the minute, as a real beat drifts), running
    `actions` at their instants; returns each received message with the minute it arrived in."""
    arrivals = []
    moment = start
    while moment < end:
        clock.move_to(moment + timedelta(seconds=20))
        if moment in actions:
            actions[moment]()
        if moment.minute == 0:
            tasks.refresh_reminders.apply()
        tasks.remind_due.apply()
        tasks.send_due.apply()
        arrivals += [(moment, message) for message in smtp_server.messages[len(arrivals) :]]
        moment += timedelta(minutes=1)
    return arrivals


def at(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def test_berlin_autumn_change(clock, smtp_server, eager):  # type: ignore[no-untyped-def]
    start = at("2026-10-23T20:00")
    clock.move_to(start)
    ada = someone("ada@example.com", "Europe/Berlin", 120)
    quiet = someone("quiet@example.com", "Europe/Berlin", None)
    calendar = CalendarFactory(owner=ada, timezone="Europe/Berlin")
    # 09:00 Berlin on the 24th (CEST, 07:00 UTC), 25th and 26th (CET, 08:00 UTC).
    run = PlanFactory(calendar=calendar, title="Run", start=datetime(2026, 10, 24, 9, 0), rrule="FREQ=DAILY;COUNT=3")
    # 04:00 CET on the 25th, 03:00 UTC: its reminder, 01:00 UTC, is the second 02:00 of that night in Berlin.
    PlanFactory(calendar=calendar, title="Early train", start=datetime(2026, 10, 25, 4, 0))
    PlanFactory(calendar=CalendarFactory(owner=quiet), title="Nothing", start=datetime(2026, 10, 25, 12, 0))
    occurrences = calendar_selectors.occurrences(calendar_ids=[calendar.pk], start=start, end=at("2026-10-27T00:00"))
    ids = [item.occurrence.recurrence_id for item in occurrences if item.plan.pk == run.pk]

    def move_the_first() -> None:
        calendar_services.occurrence_change(
            plan=run,
            recurrence_id=ids[0],
            changes={"start_local": datetime(2026, 10, 24, 11, 0), "end_local": datetime(2026, 10, 24, 12, 0)},
        )

    def cancel_the_third() -> None:
        calendar_services.occurrence_change(plan=run, recurrence_id=ids[2], cancelled=True)

    arrivals = run_beat(
        clock,
        smtp_server,
        start,
        at("2026-10-26T09:00"),
        {at("2026-10-23T22:00"): move_the_first, at("2026-10-25T12:00"): cancel_the_third},
    )
    got = [(moment, message.recipients, message.subject) for moment, message in arrivals]
    assert got == [
        (at("2026-10-24T07:00"), ["ada@example.com"], "Reminder: Run at 11:00"),
        (at("2026-10-25T01:00"), ["ada@example.com"], "Reminder: Early train at 04:00"),
        (at("2026-10-25T06:00"), ["ada@example.com"], "Reminder: Run at 09:00"),
    ]
    texts = [message.text() for _, message in arrivals]
    assert "Saturday 24 October 2026, 11:00–12:00 (Europe/Berlin)" in texts[0]
    assert "Sunday 25 October 2026, 04:00–05:00 (Europe/Berlin)" in texts[1]
    assert "Sunday 25 October 2026, 09:00–10:00 (Europe/Berlin)" in texts[2]
    assert "starts in 2 hours" in texts[2]


def test_new_york_autumn_change_and_a_reader_in_another_zone(clock, smtp_server, eager):  # type: ignore[no-untyped-def]
    start = at("2026-10-30T20:00")
    clock.move_to(start)
    grace = someone("grace@example.com", "America/New_York", 30)
    linus = someone("linus@example.com", "Europe/Berlin", 120)
    # 07:00 New York on the 31st (EDT, 11:00 UTC), 1 and 2 November (EST, 12:00 UTC).
    PlanFactory(
        calendar=CalendarFactory(owner=grace, timezone="America/New_York"),
        title="Coffee",
        timezone="America/New_York",
        start=datetime(2026, 10, 31, 7, 0),
        rrule="FREQ=DAILY;COUNT=3",
    )
    # A New York plan of someone who lives in Berlin: 12:00 UTC is 13:00 in Berlin (CET since 25 October).
    PlanFactory(
        calendar=CalendarFactory(owner=linus),
        title="Call",
        timezone="America/New_York",
        start=datetime(2026, 11, 1, 7, 0),
    )
    arrivals = run_beat(clock, smtp_server, start, at("2026-11-02T12:30"), {})
    got = [(moment, message.recipients, message.subject) for moment, message in arrivals]
    assert got == [
        (at("2026-10-31T10:30"), ["grace@example.com"], "Reminder: Coffee at 07:00"),
        (at("2026-11-01T10:00"), ["linus@example.com"], "Reminder: Call at 13:00"),
        (at("2026-11-01T11:30"), ["grace@example.com"], "Reminder: Coffee at 07:00"),
        (at("2026-11-02T11:30"), ["grace@example.com"], "Reminder: Coffee at 07:00"),
    ]
    texts = [message.text() for _, message in arrivals]
    assert "Saturday 31 October 2026, 07:00–08:00 (America/New_York)" in texts[0]
    assert "Sunday 01 November 2026, 13:00–14:00 (Europe/Berlin)" in texts[1]
    assert "Sunday 01 November 2026, 07:00–08:00 (America/New_York)" in texts[2]
    assert "starts in 30 minutes" in texts[0]
