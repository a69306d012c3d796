"""The write services: plans written with and without reject_conflicts (a refusal carries the clashes and
leaves nothing behind), moved between calendars, refused input, and subscribing."""

from datetime import UTC, datetime, timedelta

import pytest

from apps.calendars import plan_fields, services, tasks
from apps.calendars.ical import PlanData
from apps.calendars.models import Calendar, Plan, Subscription
from apps.calendars.tests.factories import CalendarFactory, PlanDataFactory, PlanFactory

pytestmark = pytest.mark.django_db

SATURDAY = datetime(2026, 12, 5)


def at(hour: int, minute: int = 0) -> datetime:
    """Saturday 5 December 2026 at hour:minute, wall-clock time in Berlin (UTC+1)."""
    return SATURDAY.replace(hour=hour, minute=minute)


@pytest.fixture
def calendar(user) -> Calendar:
    return Calendar.objects.get(owner=user, is_default=True)


@pytest.fixture
def brunch(calendar) -> Plan:
    return PlanFactory(calendar=calendar, title="Brunch", start=at(10), minutes=120)


def _moved(plan: Plan, start: datetime, end: datetime) -> PlanData:
    """The plan's data with a new start and end, as a client writes a move."""
    return plan_fields.plan_data(**{**plan_fields.written(plan), "start": start, "end": end}, uid=plan.ical_uid)


def test_plan_create_saves_the_plan_with_its_utc_bounds_and_a_uid(calendar):
    plan = services.plan_create(calendar=calendar, data=PlanDataFactory(title="Run", start=at(9)))
    stored = Plan.objects.get(pk=plan.pk)
    assert (stored.start_utc, stored.end_utc) == (
        datetime(2026, 12, 5, 8, tzinfo=UTC),
        datetime(2026, 12, 5, 9, tzinfo=UTC),
    )
    assert stored.ical_uid.endswith(f"@{services.UID_DOMAIN}")
    assert stored.sequence == 0


def test_a_clash_is_saved_unless_conflicts_are_rejected(calendar, brunch):
    museum = services.plan_create(calendar=calendar, data=PlanDataFactory(title="Museum", start=at(11)))
    assert Plan.objects.filter(pk=museum.pk).exists()

    film = PlanDataFactory(title="Film", start=at(11, 30))
    with pytest.raises(services.PlanConflict) as refused:
        services.plan_create(calendar=calendar, data=film, reject_conflicts=True)
    clashes = refused.value.conflicts
    assert [conflict.kind for conflict in clashes] == ["overlap", "overlap"]
    assert {title for c in clashes for title in (c.first.title, c.second.title)} == {"Brunch", "Museum", "Film"}
    assert str(refused.value) == "The plan clashes with others; nothing was saved."
    assert not Plan.objects.filter(title="Film").exists()


def test_reject_conflicts_saves_a_plan_that_clashes_with_nothing(calendar, brunch):
    plan = services.plan_create(
        calendar=calendar, data=PlanDataFactory(title="Walk", start=at(14)), reject_conflicts=True
    )
    assert Plan.objects.filter(pk=plan.pk, title="Walk").exists()


def test_conflicts_are_the_owners_across_their_calendars_and_no_one_elses(user, other_user, brunch):
    gym = CalendarFactory(owner=user, name="Gym")
    with pytest.raises(services.PlanConflict):
        services.plan_create(calendar=gym, data=PlanDataFactory(title="Swim", start=at(11)), reject_conflicts=True)
    theirs = Calendar.objects.get(owner=other_user, is_default=True)
    services.plan_create(calendar=theirs, data=PlanDataFactory(title="Swim", start=at(11)), reject_conflicts=True)
    assert list(Plan.objects.filter(title="Swim").values_list("calendar", flat=True)) == [theirs.pk]


def test_a_move_into_a_clash_is_refused_and_changes_nothing(calendar, brunch):
    walk = PlanFactory(calendar=calendar, title="Walk", start=at(15))
    stored = Plan.objects.filter(pk=walk.pk).values().get()

    with pytest.raises(services.PlanConflict) as refused:
        services.plan_update(plan=walk, data=_moved(walk, at(11), at(12, 30)), reject_conflicts=True)
    [clash] = refused.value.conflicts
    assert {clash.first.title, clash.second.title} == {"Brunch", "Walk"}
    assert Plan.objects.filter(pk=walk.pk).values().get() == stored
    assert (walk.start_local, walk.sequence) == (at(15), 0)  # the instance passed in is as stored


def test_a_move_into_a_clash_without_reject_is_saved_and_counted(calendar, brunch):
    walk = PlanFactory(calendar=calendar, title="Walk", start=at(15))
    Plan.objects.filter(pk=walk.pk).update(attention="The event's time or place changed.")
    walk.refresh_from_db()
    moved = services.plan_update(plan=walk, data=_moved(walk, at(11), at(12, 30)))
    stored = Plan.objects.get(pk=moved.pk)
    assert (stored.start_local, stored.end_local, stored.sequence, stored.attention) == (at(11), at(12, 30), 1, "")
    assert stored.ical_uid == walk.ical_uid


def test_a_plan_moves_between_its_owners_calendars_only(user, other_user, calendar):
    plan = PlanFactory(calendar=calendar)
    gym = CalendarFactory(owner=user, name="Gym")
    services.plan_update(plan=plan, data=_moved(plan, at(10), at(11)), calendar=gym)
    assert Plan.objects.get(pk=plan.pk).calendar_id == gym.pk

    theirs = Calendar.objects.get(owner=other_user, is_default=True)
    with pytest.raises(services.PlanInputError) as refused:
        services.plan_update(plan=plan, data=_moved(plan, at(10), at(11)), calendar=theirs)
    assert refused.value.field == "calendar"
    assert Plan.objects.get(pk=plan.pk).calendar_id == gym.pk
    assert plan.calendar_id == gym.pk


def test_input_the_services_refuse_names_the_field_and_stores_nothing(calendar):
    with pytest.raises(services.PlanInputError) as refused:
        services.plan_create(calendar=calendar, data=PlanDataFactory(minutes=-30), reject_conflicts=True)
    assert refused.value.field == "end"
    with pytest.raises(services.PlanInputError) as refused:
        services.plan_create(calendar=calendar, data=PlanDataFactory(rrule="FREQ=SOMETIMES"))
    assert refused.value.field == "rrule"
    assert not Plan.objects.filter(calendar=calendar).exists()


def test_a_refused_update_leaves_the_plan_as_stored(calendar):
    plan = PlanFactory(calendar=calendar, title="Choir", start=at(18))
    with pytest.raises(services.PlanInputError):
        services.plan_update(plan=plan, data=_moved(plan, at(18), at(17)))
    assert (plan.end_local, Plan.objects.get(pk=plan.pk).end_local) == (at(19), at(19))


def test_subscribing_enqueues_the_first_refresh_once_committed_when_asked(
    calendar, monkeypatch, django_capture_on_commit_callbacks
):
    queued: list[int] = []

    def enqueue(task, subscription_id):
        assert task is tasks.sync_subscription
        queued.append(subscription_id)
        return True

    monkeypatch.setattr("apps.calendars.services.subscriptions.enqueue", enqueue)
    with django_capture_on_commit_callbacks(execute=True):
        quiet = services.subscription_create(calendar=calendar, url="https://93.184.215.14/quiet.ics")
    assert queued == []
    with django_capture_on_commit_callbacks(execute=True):
        eager = services.subscription_create(
            calendar=calendar, url="https://93.184.215.14/eager.ics", refresh_on_commit=True
        )
    assert queued == [eager.pk]
    assert set(Subscription.objects.values_list("pk", flat=True)) == {quiet.pk, eager.pk}
    with pytest.raises(services.SubscriptionConflict):
        services.subscription_create(calendar=calendar, url="https://93.184.215.14/eager.ics")


# --- Moved occurrences stay findable ---------------------------------------------------------------------------


def _weekly_twice(calendar: Calendar) -> Plan:
    """Saturdays 10:00-11:00 in Berlin, 5 and 12 December 2026."""
    return PlanFactory(calendar=calendar, title="Run", start=at(10), rrule="FREQ=WEEKLY;COUNT=2")


def _move(plan: Plan, recurrence_id: str, *, to: datetime) -> None:
    """Moves one occurrence of the hour-long series to start at `to` (wall clock)."""
    changes = {"start_local": to, "end_local": to + timedelta(hours=1)}
    services.occurrence_change(plan=plan, recurrence_id=recurrence_id, changes=changes)


def _titles_between(calendar: Calendar, start: datetime, end: datetime) -> list[str]:
    from apps.calendars import selectors

    return [o.title for o in selectors.occurrences(calendar_ids=[calendar.pk], start=start, end=end)]


def test_an_occurrence_moved_past_the_series_end_is_found_in_its_new_window(calendar):
    plan = _weekly_twice(calendar)
    new_year = (datetime(2027, 1, 2, tzinfo=UTC), datetime(2027, 1, 3, tzinfo=UTC))
    assert _titles_between(calendar, *new_year) == []

    _move(plan, "2026-12-12T10:00:00", to=datetime(2027, 1, 2, 10))

    assert _titles_between(calendar, *new_year) == ["Run"]
    assert _titles_between(calendar, datetime(2026, 12, 12, tzinfo=UTC), datetime(2026, 12, 13, tzinfo=UTC)) == []


def test_an_occurrence_moved_before_the_first_start_is_found_in_its_new_window(calendar):
    plan = _weekly_twice(calendar)

    _move(plan, "2026-12-05T10:00:00", to=datetime(2026, 11, 28, 10))

    assert _titles_between(calendar, datetime(2026, 11, 28, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC)) == ["Run"]
    stored = Plan.objects.get(pk=plan.pk)
    assert stored.series_start_utc == datetime(2026, 11, 28, 9, tzinfo=UTC)
    assert stored.start_utc == datetime(2026, 12, 5, 9, tzinfo=UTC)


def test_a_moved_occurrence_clashes_where_it_now_is(calendar):
    plan = _weekly_twice(calendar)
    _move(plan, "2026-12-12T10:00:00", to=datetime(2027, 1, 2, 10))
    clashing = PlanDataFactory(title="Brunch", start=datetime(2027, 1, 2, 10, 30))

    with pytest.raises(services.PlanConflict) as refused:
        services.plan_create(calendar=calendar, data=clashing, reject_conflicts=True)

    sides = [side for conflict in refused.value.conflicts for side in (conflict.first, conflict.second)]
    assert {side.title for side in sides} == {"Run", "Brunch"}
