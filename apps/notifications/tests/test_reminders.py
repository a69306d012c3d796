"""Materialised reminders: what a refresh stores for a person's plans, how changes rewrite it, and the minute tick
storing each due reminder once (run twice, late, opted out, bounced)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from apps.calendars import selectors as calendar_selectors
from apps.calendars import services as calendar_services
from apps.calendars.tests.factories import CalendarFactory, PlanFactory
from apps.notifications import reminders, services, tasks
from apps.notifications.models import Kind, Notification, Reminder, Status
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 17, 10, 0, tzinfo=UTC)  # the clock fixture's day; plans below are in Berlin (UTC+2)


@pytest.fixture
def person(clock):
    clock.move_to(NOW)
    person = UserFactory(email="rem@example.com")
    person.profile.timezone = "Europe/Berlin"
    person.profile.save()
    return person


def calendar_of(person):
    return CalendarFactory(owner=person, timezone="Europe/Berlin")


def rows(person):
    return list(Reminder.objects.filter(user=person).order_by("occurrence_start"))


def test_a_refresh_stores_one_reminder_per_upcoming_timed_occurrence_within_the_horizon(person):
    calendar = calendar_of(person)
    daily = PlanFactory(calendar=calendar, title="Run", start=datetime(2026, 6, 17, 18, 0), rrule="FREQ=DAILY")
    PlanFactory(calendar=calendar, title="Festival", all_day=True, start=datetime(2026, 6, 18))
    PlanFactory(calendar=calendar, title="Earlier", start=datetime(2026, 6, 17, 11, 0))  # started at 09:00 UTC
    reminders.refresh_users([person.pk], now=NOW)
    stored = rows(person)
    # 16:00 UTC on the 17th and 18th; the 19th's reminder (14:00 UTC) is beyond now + 48 h.
    assert [(r.plan_id, r.occurrence_start, r.remind_at) for r in stored] == [
        (daily.pk, datetime(2026, 6, 17, 16, 0, tzinfo=UTC), datetime(2026, 6, 17, 14, 0, tzinfo=UTC)),
        (daily.pk, datetime(2026, 6, 18, 16, 0, tzinfo=UTC), datetime(2026, 6, 18, 14, 0, tzinfo=UTC)),
    ]
    assert reminders.refresh_users([person.pk], now=NOW) == 0  # nothing to change the second time
    assert reminders.refresh_users([person.pk], now=NOW + timedelta(hours=5)) == 1  # the horizon moved on
    assert len(rows(person)) == 3


@pytest.mark.django_db(transaction=True)  # receivers refresh when the write commits
def test_changes_to_plans_overrides_and_preferences_rewrite_the_reminders(person):
    calendar = calendar_of(person)
    plan = PlanFactory(calendar=calendar, title="Swim", start=datetime(2026, 6, 17, 18, 0), rrule="FREQ=DAILY;COUNT=2")
    assert [r.remind_at.hour for r in rows(person)] == [14, 14]
    [first, second] = calendar_selectors.occurrences(calendar_ids=[calendar.pk], start=NOW, end=NOW + timedelta(days=3))
    calendar_services.occurrence_change(plan=plan, recurrence_id=second.occurrence.recurrence_id, cancelled=True)
    assert [r.occurrence_start for r in rows(person)] == [first.occurrence.start_utc]
    calendar_services.occurrence_change(
        plan=plan,
        recurrence_id=first.occurrence.recurrence_id,
        changes={"start_local": datetime(2026, 6, 17, 20, 0), "end_local": datetime(2026, 6, 17, 21, 0)},
    )
    assert [(r.occurrence_start.hour, r.remind_at.hour) for r in rows(person)] == [(18, 16)]
    preferences = services.preferences_for(user=person)
    preferences.reminder_minutes = 30
    preferences.save()
    assert [(r.remind_at.hour, r.remind_at.minute) for r in rows(person)] == [(17, 30)]
    preferences.reminder_minutes = None
    preferences.save()
    assert rows(person) == []
    preferences.reminder_minutes = 60
    preferences.save()
    assert len(rows(person)) == 1
    calendar_services.plan_delete(plan=plan)
    assert rows(person) == []


def test_the_tick_stores_each_due_reminder_once_and_closes_those_already_started(person, clock):
    calendar = calendar_of(person)
    PlanFactory(calendar=calendar, title="Tea", start=datetime(2026, 6, 17, 18, 0), location="Café Einstein")
    PlanFactory(calendar=calendar, title="Missed", start=datetime(2026, 6, 17, 15, 0))
    reminders.refresh_users([person.pk], now=NOW)
    assert reminders.tick(now=NOW) == 0
    # The beat was down from 10:00 to 15:00 UTC: "Missed" (13:00 UTC) started meanwhile, "Tea" (16:00) has not.
    late = datetime(2026, 6, 17, 15, 0, tzinfo=UTC)
    assert reminders.tick(now=late) == 1
    assert reminders.tick(now=late) == 0
    notification = Notification.objects.get()
    assert notification.kind == Kind.REMINDER
    assert notification.context["title"] == "Tea"
    assert notification.context["location"] == "Café Einstein"
    assert notification.context["timezone"] == "Europe/Berlin"
    assert Reminder.objects.filter(done=False).count() == 0
    # A later refresh does not bring back a reminder already done.
    assert reminders.refresh_users([person.pk], now=late) == 0
    assert reminders.tick(now=late + timedelta(minutes=1)) == 0
    assert Notification.objects.count() == 1


def test_a_person_whose_address_bounced_gets_a_suppressed_reminder(person):
    calendar = calendar_of(person)
    PlanFactory(calendar=calendar, start=datetime(2026, 6, 17, 18, 0))
    preferences = services.preferences_for(user=person)
    preferences.bounced_at = NOW
    preferences.save()
    reminders.refresh_users([person.pk], now=NOW)
    reminders.tick(now=datetime(2026, 6, 17, 14, 0, tzinfo=UTC))
    assert Notification.objects.get().status == Status.SUPPRESSED


class Killed(BaseException):
    """The process stopping in the middle of a batch."""


def test_a_tick_killed_half_way_leaves_nothing_half_done(person, monkeypatch):
    calendar = calendar_of(person)
    for minute in (0, 10, 20):
        PlanFactory(calendar=calendar, start=datetime(2026, 6, 17, 19, minute))
    reminders.refresh_users([person.pk], now=NOW)
    due = datetime(2026, 6, 17, 15, 30, tzinfo=UTC)  # all three reminders (15:00, 15:10, 15:20 UTC) are due
    calls = 0
    original = services.notify_many

    def dies_on_the_second_batch(**kwargs):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Killed
        return original(**kwargs)

    monkeypatch.setattr(services, "notify_many", dies_on_the_second_batch)
    with pytest.raises(Killed):
        reminders.tick(now=due, batch=2)
    assert Notification.objects.count() == 2  # the first batch committed, the second left nothing
    assert Reminder.objects.filter(done=True).count() == 2
    monkeypatch.setattr(services, "notify_many", original)
    assert reminders.tick(now=due, batch=2) == 1
    assert Notification.objects.count() == 3
    assert sorted(Notification.objects.values_list("idempotency_key", flat=True)) == sorted(
        reminders.key_of(row) for row in Reminder.objects.all()
    )


def test_the_beat_tasks_run_the_tick_and_the_refresh(person, clock):
    PlanFactory(calendar=calendar_of(person), start=datetime(2026, 6, 17, 18, 0))
    assert tasks.refresh_reminders.apply().get() == 1
    clock.move_to(datetime(2026, 6, 17, 14, 0, 5, tzinfo=UTC))
    assert tasks.remind_due.apply().get() == 1


@pytest.mark.django_db(transaction=True)
def test_many_writes_in_one_transaction_refresh_once_and_a_rollback_refreshes_nothing(person, monkeypatch):
    calls = []
    original = reminders.refresh_users

    def counted(user_ids, **kwargs):
        calls.append(list(user_ids))
        return original(user_ids, **kwargs)

    monkeypatch.setattr(reminders, "refresh_users", counted)
    calendar = calendar_of(person)
    with transaction.atomic():
        for hour in range(12, 22):
            PlanFactory(calendar=calendar, start=datetime(2026, 6, 18, hour, 0))
    assert calls == [[person.pk]]
    assert len(rows(person)) == 10

    class RolledBack(Exception):
        pass

    @transaction.atomic
    def write_then_fail() -> None:
        PlanFactory(calendar=calendar, start=datetime(2026, 6, 18, 23, 0))
        raise RolledBack

    with pytest.raises(RolledBack):
        write_then_fail()
    assert calls == [[person.pk]]
    # The key the rolled-back write left behind costs at most one refresh more, never one less.
    PlanFactory(calendar=calendar, start=datetime(2026, 6, 18, 23, 30))
    assert calls == [[person.pk], [person.pk]]
    assert len(rows(person)) == 11
