"""No list endpoint or page runs a query per item: each is asked with one item and with seven, and must run the
same number of queries (the catalogue's own lists, occurrences and conflicts have theirs beside their code)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.calendars.tests.factories import CalendarFactory, PlanFactory, SubscriptionFactory
from apps.itineraries.models import Itinerary, Stop
from apps.recommendations.tests.factories import event, person, weekend_moment
from apps.users.models import User

pytestmark = pytest.mark.django_db


def _calendars(user: User, n: int) -> str:
    CalendarFactory.create_batch(n, owner=user)
    return "/api/v1/calendars"


def _plans(user: User, n: int) -> str:
    calendar = user.calendars.get(is_default=True)
    for _ in range(n):
        PlanFactory(calendar=calendar)
    return f"/api/v1/calendars/{calendar.pk}/plans"


def _subscriptions(user: User, n: int) -> str:
    calendar = user.calendars.get(is_default=True)
    SubscriptionFactory.create_batch(n, calendar=calendar)
    return f"/api/v1/calendars/{calendar.pk}/subscriptions"


def _itineraries(user: User, n: int) -> str:
    start = weekend_moment()
    for _ in range(n):
        itinerary = Itinerary.objects.create(owner=user, timezone="Europe/Berlin", currency="EUR")
        for position in (1, 2):
            at = start + timedelta(hours=2 * position)
            Stop.objects.create(
                itinerary=itinerary, event=event(f"Stop {position}", start=at), day=at.date(), position=position,
                arrive=at, start=at, end=at + timedelta(hours=1), leave=at + timedelta(hours=1), travel_mode="walk",
                travel_minutes=10,
            )  # fmt: skip
    return "/api/v1/itineraries"


def _recommendations(user: User, n: int) -> str:
    for index in range(n):
        event(f"Concert {index}", start=weekend_moment() + timedelta(minutes=index))
    return "/api/v1/recommendations"


def _my_weekend_page(user: User, n: int) -> str:
    calendar = user.calendars.get(is_default=True)
    for index in range(n):
        PlanFactory(calendar=calendar, start=weekend_moment().replace(tzinfo=None) + timedelta(hours=index))
    return "/weekend/"


def _calendars_page(user: User, n: int) -> str:
    for calendar in CalendarFactory.create_batch(n, owner=user):
        SubscriptionFactory(calendar=calendar)
        PlanFactory(calendar=calendar)
    return "/calendars/"


def _home_page(user: User, n: int) -> str:
    _my_weekend_page(user, n)
    return "/"


def _plan_my_weekend_page(user: User, n: int) -> str:
    _itineraries(user, n)
    return "/weekend/plan/"


@dataclass(frozen=True)
class Case:
    name: str
    add: Callable[[User, int], str]  # adds n items for the person, returns the path that lists them
    page: bool = False


CASES = [
    Case("calendars", _calendars),
    Case("plans", _plans),
    Case("subscriptions", _subscriptions),
    Case("itineraries", _itineraries),
    Case("recommendations", _recommendations),
    Case("my weekend page", _my_weekend_page, page=True),
    Case("calendars page", _calendars_page, page=True),
    Case("home page", _home_page, page=True),
    Case("plan my weekend page", _plan_my_weekend_page, page=True),
]


def _queries(client: Any, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, (path, response.content[:300])
    return len(queries.captured_queries)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_list_costs_the_same_queries_for_one_item_as_for_seven(case: Case, client_for) -> None:  # type: ignore[no-untyped-def]
    user = person(interests=["music"])
    if case.page:
        client: Any = Client()
        client.force_login(user)
    else:
        client = client_for(user)
    path = case.add(user, 1)
    _queries(client, path)  # each first request warms what a process keeps (compiled SQL, the catalogue's copy)
    one = _queries(client, path)
    case.add(user, 6)
    _queries(client, path)
    seven = _queries(client, path)
    assert seven == one, f"{case.name}: {one} queries for one item, {seven} for seven"
