"""The reads: a plan or subscription through its owner, what My weekend shows, the travel between two places,
and the subscriptions that are due."""

from datetime import UTC, datetime, timedelta

import pytest
from django.http import Http404

from apps.calendars import selectors
from apps.calendars.models import Calendar, Plan
from apps.calendars.tests.factories import CalendarFactory, PlanFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

SATURDAY = datetime(2026, 12, 5)
WINDOW = (datetime(2026, 12, 4, 23, tzinfo=UTC), datetime(2026, 12, 6, 23, tzinfo=UTC))  # the weekend in Berlin
MUSEUM = {"lat": 52.5169, "lon": 13.4019}
KREUZBERG = {"lat": 52.4986, "lon": 13.4030}


def at(hour: int, minute: int = 0) -> datetime:
    return SATURDAY.replace(hour=hour, minute=minute)


@pytest.fixture
def calendar(user) -> Calendar:
    return Calendar.objects.get(owner=user, is_default=True)


def test_a_plan_is_found_through_its_owner_and_the_calendar_named(user, other_user, calendar):
    plan = PlanFactory(calendar=calendar)
    assert selectors.plan_of(owner=user, plan_id=plan.pk) == plan
    assert selectors.plan_of(owner=user, plan_id=plan.pk, calendar_id=calendar.pk) == plan
    gym = CalendarFactory(owner=user)
    with pytest.raises(Http404):
        selectors.plan_of(owner=user, plan_id=plan.pk, calendar_id=gym.pk)
    with pytest.raises(Http404):
        selectors.plan_of(owner=other_user, plan_id=plan.pk)


def test_a_subscription_is_found_through_its_owner_and_its_calendar(user, other_user, calendar):
    subscription = SubscriptionFactory(calendar=calendar)
    found = selectors.subscription_of(owner=user, calendar_id=calendar.pk, subscription_id=subscription.pk)
    assert found == subscription
    assert list(selectors.subscriptions_of(calendar=calendar)) == [subscription]
    theirs = Calendar.objects.get(owner=other_user, is_default=True)
    for owner, calendar_id in ((other_user, calendar.pk), (other_user, theirs.pk), (user, theirs.pk)):
        with pytest.raises(Http404):
            selectors.subscription_of(owner=owner, calendar_id=calendar_id, subscription_id=subscription.pk)


def test_my_weekend_leaves_out_what_the_person_cancelled_but_not_what_an_event_did(calendar):
    PlanFactory(calendar=calendar, title="Brunch", start=at(10))
    PlanFactory(calendar=calendar, title="Called off", start=at(12), status="cancelled")
    concert = PlanFactory(calendar=calendar, title="Concert", start=at(20), status="cancelled")
    Plan.objects.filter(pk=concert.pk).update(attention="The event was cancelled.")
    items = selectors.weekend_occurrences(calendar_ids=[calendar.pk], start=WINDOW[0], end=WINDOW[1])
    assert [item.title for item in items] == ["Brunch", "Concert"]


def test_travel_between_two_places_that_follow_each_other(calendar):
    PlanFactory(calendar=calendar, title="Museum", start=at(10), minutes=120, **MUSEUM)
    PlanFactory(calendar=calendar, title="Overlap", start=at(11), **KREUZBERG)
    PlanFactory(calendar=calendar, title="Lunch", start=at(12, 30), **KREUZBERG)
    PlanFactory(calendar=calendar, title="Coffee", start=at(13, 30), **KREUZBERG)
    PlanFactory(calendar=calendar, title="Call", start=at(15))
    items = {i.title: i for i in selectors.occurrences(calendar_ids=[calendar.pk], start=WINDOW[0], end=WINDOW[1])}

    def travel(before: str, after: str, mode: str = "walk"):
        return selectors.travel_between(before=items[before], after=items[after], travel_mode=mode)

    walk = travel("Museum", "Lunch")
    assert walk is not None
    assert walk.seconds > 10 * 60
    assert travel("Museum", "Overlap") is None  # an overlap is its own clash
    assert travel("Lunch", "Coffee") is None  # the same place
    assert travel("Coffee", "Call") is None  # no place to go to
    assert travel("Museum", "Lunch", "teleport") is None


def test_subscriptions_are_due_when_never_fetched_or_their_interval_has_passed(calendar):
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    never = SubscriptionFactory(calendar=calendar)
    hourly = SubscriptionFactory(calendar=calendar, last_fetched_at=now - timedelta(minutes=60))
    SubscriptionFactory(calendar=calendar, last_fetched_at=now - timedelta(minutes=59))
    SubscriptionFactory(calendar=calendar, last_fetched_at=now - timedelta(hours=2), interval_minutes=24 * 60)
    assert sorted(selectors.subscriptions_due(now=now)) == sorted([never.pk, hourly.pk])
