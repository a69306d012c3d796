"""/api/v1/itineraries on PostgreSQL with real JWTs: the documented shape, every bad field a 400 naming it, another
person's itinerary a 404 for every method, accept's 409 with nothing created, and the tracking of what was shown,
accepted and swapped."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from apps.analytics.models import TrackedEvent
from apps.calendars.models import Plan
from apps.itineraries.models import Itinerary
from apps.itineraries.tests.factories import at, busy, event, person, place, weekend
from apps.recommendations.tests.factories import BERLIN_ZONE

pytestmark = pytest.mark.django_db
URL = "/api/v1/itineraries"


@pytest.fixture
def someone():  # type: ignore[no-untyped-def]
    return person(interests=["music", "film"], budget=80, travel_mode="transit")


@pytest.fixture
def events():  # type: ignore[no-untyped-def]
    east = place("east", lat=52.5130, lon=13.4550)
    return [
        event("Jazz brunch", start=at(0, 11)),
        event("Matinee film", start=at(0, 15), category="film", venue=east),
        event("Evening concert", start=at(0, 19), venue=east),
        event("Sunday choir", start=at(1, 12)),
        event("Gala", start=at(1, 19), price_min=Decimal("300.00")),
    ]


def _fields(response) -> dict:  # type: ignore[no-untyped-def]
    return response.json()["error"]["fields"]


def test_planning_answers_201_in_the_documented_shape(client_for, someone, events) -> None:
    response = client_for(someone).post(
        URL, {"weekend": weekend(), "pace": "packed", "must_include": [events[4].pk]}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "id", "status", "score", "total_price", "currency", "ranker", "timezone", "created_at", "expires_at", "days",
        "left_out",
    }  # fmt: skip
    assert body["status"] == "draft"
    assert body["currency"] == "EUR"
    assert body["left_out"] == [{"event_id": events[4].pk, "reason": "It costs more than the budget."}]
    assert [day["date"] for day in body["days"]] == sorted(day["date"] for day in body["days"])
    stop = body["days"][0]["stops"][0]
    assert set(stop) == {
        "id", "event", "arrive", "start", "end", "leave", "travel", "price", "score", "reasons", "pinned", "accepted",
        "plan_id",
    }  # fmt: skip
    assert stop["travel"]["mode"] == "transit"
    assert stop["start"].endswith(("+02:00", "+01:00"))  # the person's local time
    same_event = APIClient().get("/api/v1/events", {"q": stop["event"]["title"]}).json()["results"][0]
    assert set(stop["event"]) == set(same_event)
    assert body["days"][0]["back_home"]["minutes"] >= 0
    shown = TrackedEvent.objects.get(type="impression", object_type="itinerary", object_id=str(body["id"]))
    assert shown.user_id == someone.pk
    listed = client_for(someone).get(URL).json()
    assert [item["id"] for item in listed["results"]] == [body["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"weekend": "someday"}, "weekend"),
        ({"start": "2026-06-20"}, "end"),
        ({"start": "2026-06-20", "end": "2026-06-19"}, "end"),
        ({"start": "2026-06-01", "end": "2026-06-30"}, "end"),
        ({"weekend": "this", "start": "2026-06-20", "end": "2026-06-21"}, "weekend"),
        ({"start_location": "work"}, "start_location"),
        ({"start_location": {"lat": 95, "lon": 13}}, "start_location"),
        ({"start_location": {"lat": "52", "lon": 13}}, "start_location"),
        ({"travel_mode": "teleport"}, "travel_mode"),
        ({"budget": -1}, "budget"),
        ({"budget": "lots"}, "budget"),
        ({"pace": "frantic"}, "pace"),
        ({"day_start": "25:00"}, "day_start"),
        ({"day_start": "10:00", "day_end": "10:00"}, "day_end"),
        ({"must_include": "12"}, "must_include"),
        ({"must_include": [0]}, "must_include"),
        ({"must_include": [5], "exclude": [5]}, "exclude"),
    ],
)
def test_bad_fields_are_a_400_naming_them(client_for, someone, body, field) -> None:
    response = client_for(someone).post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert field in _fields(response)
    assert not Itinerary.objects.exists()


def test_home_is_needed_unless_a_start_point_is_given(client_for, events) -> None:
    homeless = person(home_lat=None, home_lon=None)
    response = client_for(homeless).post(URL, {"weekend": weekend()}, format="json")
    assert response.status_code == 400
    assert "start_location" in _fields(response)
    response = client_for(homeless).post(
        URL, {"weekend": weekend(), "start_location": {"lat": 52.52, "lon": 13.405}}, format="json"
    )
    assert response.status_code == 201


def test_anonymous_callers_are_refused(events) -> None:
    assert APIClient().post(URL, {}, format="json").status_code == 401
    assert APIClient().get(URL).status_code == 401


def test_another_persons_itinerary_is_a_404_for_every_method(client_for, someone, events) -> None:
    body = client_for(someone).post(URL, {"weekend": weekend()}, format="json").json()
    itinerary_id, stop_id = body["id"], body["days"][0]["stops"][0]["id"]
    other = client_for(person())
    base = f"{URL}/{itinerary_id}"
    stop = f"{base}/stops/{stop_id}"
    attempts = [
        other.get(base),
        other.delete(base),
        other.post(f"{base}/accept", {}, format="json"),
        other.post(f"{base}/replan", {}, format="json"),
        other.patch(stop, {"pinned": True}, format="json"),
        other.delete(stop),
        other.get(f"{stop}/alternatives"),
        other.post(f"{stop}/swap", {"event_id": events[0].pk}, format="json"),
    ]
    assert [response.status_code for response in attempts] == [404] * len(attempts)
    assert other.get(URL).json()["results"] == []
    stored = Itinerary.objects.get(pk=itinerary_id)
    assert stored.status == "draft"
    assert stored.stops.count() == len([s for day in body["days"] for s in day["stops"]])
    assert not Plan.objects.filter(event__isnull=False).exists()


def test_accept_answers_409_with_the_clash_and_creates_nothing(client_for, someone, events) -> None:
    client = client_for(someone)
    body = client.post(URL, {"weekend": weekend()}, format="json").json()
    first = body["days"][0]["stops"][0]
    start = Itinerary.objects.get(pk=body["id"]).stops.get(pk=first["id"]).start.astimezone(BERLIN_ZONE)
    busy(someone, 0, start.hour, start.minute, minutes=20, title="Dentist")
    response = client.post(f"{URL}/{body['id']}/accept", {}, format="json")
    assert response.status_code == 409
    conflict = response.json()["conflicts"][0]
    assert {conflict["first"]["title"], conflict["second"]["title"]} >= {"Dentist"}
    assert not Plan.objects.filter(event__isnull=False).exists()
    response = client.post(f"{URL}/{body['id']}/accept", {"stops": [999999]}, format="json")
    assert response.status_code == 400
    assert "stops" in _fields(response)


def test_accept_pin_swap_and_remove_through_the_api(client_for, someone, events) -> None:
    client = client_for(someone)
    body = client.post(URL, {"weekend": weekend(), "pace": "relaxed"}, format="json").json()
    base = f"{URL}/{body['id']}"
    stops = [stop for day in body["days"] for stop in day["stops"]]
    unchanged = client.patch(f"{base}/stops/{stops[0]['id']}", {}, format="json")  # a PATCH may change nothing
    assert unchanged.status_code == 200
    assert unchanged.json()["days"] == client.get(base).json()["days"]
    pinned = client.patch(f"{base}/stops/{stops[0]['id']}", {"pinned": True}, format="json")
    assert pinned.status_code == 200
    assert [s["pinned"] for day in pinned.json()["days"] for s in day["stops"] if s["id"] == stops[0]["id"]] == [True]
    options = client.get(f"{base}/stops/{stops[-1]['id']}/alternatives").json()["alternatives"]
    if options:
        swapped = client.post(f"{base}/stops/{stops[-1]['id']}/swap", {"event_id": options[0]["event"]["id"]},
                              format="json")  # fmt: skip
        assert swapped.status_code == 200
        assert options[0]["event"]["id"] in {s["event"]["id"] for day in swapped.json()["days"] for s in day["stops"]}
        assert TrackedEvent.objects.filter(type="feedback", object_type="itinerary", context__action="swap").exists()
    refused = client.post(f"{base}/stops/{stops[0]['id']}/swap", {"event_id": events[4].pk}, format="json")
    assert refused.status_code == 400
    assert "event_id" in _fields(refused)
    accepted = client.post(f"{base}/accept", {}, format="json")
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"
    assert all(s["accepted"] and s["plan_id"] for day in accepted.json()["days"] for s in day["stops"])
    assert TrackedEvent.objects.filter(type="plan", object_type="itinerary", object_id=str(body["id"])).exists()
    plan_id = next(s["plan_id"] for day in accepted.json()["days"] for s in day["stops"] if s["id"] == stops[0]["id"])
    removed = client.delete(f"{base}/stops/{stops[0]['id']}")
    assert removed.status_code == 200
    assert stops[0]["id"] not in {s["id"] for day in removed.json()["days"] for s in day["stops"]}
    assert Plan.objects.filter(pk=plan_id).exists()  # an accepted stop's plan stays on the calendar
    assert client.delete(base).status_code == 204
    assert client.get(base).status_code == 404


def test_do_not_track_leaves_no_tracked_event(client_for, someone, events) -> None:
    client = client_for(someone)
    body = client.post(URL, {"weekend": weekend()}, format="json", HTTP_DNT="1").json()
    assert client.post(f"{URL}/{body['id']}/accept", {}, format="json", HTTP_SEC_GPC="1").status_code == 200
    assert not TrackedEvent.objects.filter(object_type="itinerary").exists()
