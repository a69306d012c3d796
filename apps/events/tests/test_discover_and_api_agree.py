"""The Discover page and GET /api/v1/events answer the same question the same way: for the same filters (one
EventSearch underneath), the same events, including "not over yet" on a weekend and the parts of the day."""

import zoneinfo
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from apps.core.time import weekend_window
from apps.events import services
from apps.events.models import Event
from apps.events.tests.factories import BERLIN, item, make_source, venue

pytestmark = pytest.mark.django_db

BERLIN_TZ = zoneinfo.ZoneInfo("Europe/Berlin")
LONDON = (51.5074, -0.1278)


def _this_saturday_at(hour: int, minute: int = 0, *, day: int = 0) -> datetime:
    start, _ = weekend_window("this", "Europe/Berlin", now=timezone.now())
    saturday = start.astimezone(BERLIN_TZ).date() + timedelta(days=day)
    return datetime.combine(saturday, time(hour, minute), tzinfo=BERLIN_TZ).astimezone(UTC)


@pytest.fixture
def weekend_catalogue(clock):  # type: ignore[no-untyped-def]
    at = _this_saturday_at
    far = (BERLIN[0] + 30 / 111.195, BERLIN[1])
    services.events_upsert(
        source=make_source(),
        items=[
            item("run", title="Morning Run", start=at(8), end_utc=at(9), category="sports", is_free=True,
                 price_min=None, price_max=None, currency=""),
            item("fair", title="Afternoon Fair", start=at(13), end_utc=at(18), category="markets"),
            item("studio", title="Open Studio", start=at(14, 30), end_utc=None, category="art"),
            item("noon", title="Noon Concert", start=at(12), end_utc=None, category="music"),
            item("tba", title="Secret Gig", start=at(0), end_utc=None, time_tba=True, category="music",
                 price_min=None, price_max=None),
            item("jazz", title="Jazz Night", start=at(20), category="music", description="Swing and bebop",
                 price_min=Decimal("8"), price_max=Decimal("12")),
            item("techno", title="Techno", start=at(23, 30), end_utc=at(5, day=1), category="nightlife"),
            item("allday", title="Book Fair", start=at(0, day=1), end_utc=at(0, day=2), all_day=True,
                 category="markets", is_free=True, price_min=None, price_max=None, currency=""),
            item("far", title="Far Festival", start=at(19), category="music", venue=venue("v:far", "Far", *far)),
            item("london", title="London Gig", start=at(20), category="music", timezone="Europe/London",
                 venue=venue("v:london", "Hall", *LONDON)),
        ],
    )  # fmt: skip
    # Saturday 15:00 in Berlin: the run and the noon concert are over, the fair and the studio are not.
    clock.move_to(at(15))


def _page_ids(client: Client, filters: dict[str, object]) -> set[int]:
    response = client.get("/discover/", filters)
    assert response.status_code == 200
    assert not response.context["form"].errors, response.context["form"].errors
    page = response.context["page"]
    assert not page.has_next()
    return {event.pk for event in page.object_list}


def _api_ids(client: Client, filters: dict[str, object]) -> set[int]:
    response = client.get("/api/v1/events", filters)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["next"] is None
    return {event["id"] for event in body["results"]}


# (Discover's query, the API's query): the page searches around the viewer's point (Berlin's centre for an
# anonymous visitor) within `distance`; the API is told the same point and radius.
CASES = [
    ({}, {}),
    ({"distance": "10"}, {"radius_km": "10"}),
    ({"distance": "50"}, {"radius_km": "50"}),
    ({"category": ["music", "markets"]}, {"category": "music,markets"}),
    ({"time": ["morning"]}, {"time": "morning"}),
    ({"time": ["afternoon", "night"]}, {"time": ["afternoon", "night"]}),
    ({"time": ["evening"], "distance": "50"}, {"time": "evening", "radius_km": "50"}),
    ({"free": "on"}, {"free": "true"}),
    ({"price_max": "10"}, {"price_max": "10"}),
    ({"q": "bebop"}, {"q": "bebop"}),
    ({"weekend": "next"}, {"weekend": "next"}),
]


@pytest.mark.parametrize(("page_filters", "api_filters"), CASES)
def test_the_page_and_the_api_return_the_same_events(client: Client, weekend_catalogue, page_filters, api_filters):  # type: ignore[no-untyped-def]
    page_query = {"weekend": "this", "distance": "25", **page_filters}
    api_query = {"weekend": "this", "near": f"{BERLIN[0]},{BERLIN[1]}", "radius_km": "25", "tz": "Europe/Berlin"}
    api_query.update(api_filters)

    assert _page_ids(client, page_query) == _api_ids(client, api_query)


def test_the_cases_tell_events_apart(client: Client, weekend_catalogue):  # type: ignore[no-untyped-def]
    """Agreement on empty answers proves nothing: the filters above keep and drop different events."""
    titles = dict(Event.objects.values_list("pk", "title"))
    answers = {
        str(api): sorted(titles[pk] for pk in _api_ids(client, {"weekend": "this", "tz": "Europe/Berlin",
                                                                  "near": f"{BERLIN[0]},{BERLIN[1]}", **api}))
        for _, api in CASES
    }  # fmt: skip
    assert answers[str({})] == sorted(
        ["Afternoon Fair", "Open Studio", "Secret Gig", "Jazz Night", "Techno", "Book Fair"]
    )
    assert answers[str({"time": "morning"})] == ["Book Fair"]
    assert answers[str({"time": ["afternoon", "night"]})] == ["Afternoon Fair", "Book Fair", "Open Studio", "Techno"]
    assert "Far Festival" in answers[str({"radius_km": "50"})]
    assert "London Gig" not in answers[str({"radius_km": "50"})]
    assert answers[str({"q": "bebop"})] == ["Jazz Night"]
    assert len(set(map(tuple, answers.values()))) >= 8


def test_a_time_of_day_outside_the_list_is_a_400_naming_time(client: Client):
    response = client.get("/api/v1/events", {"time": "noonish"})
    assert response.status_code == 400
    assert "time" in response.json()["error"]["fields"], response.json()
