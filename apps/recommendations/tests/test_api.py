"""GET /api/v1/recommendations and POST /api/v1/recommendations/feedback on PostgreSQL with real JWTs: the shape,
the impressions tracked once, every bad parameter a 400 naming it, feedback in effect on the very next list."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.analytics.models import TrackedEvent
from apps.analytics.tests.factories import staff_user
from apps.core.time import weekend_window
from apps.recommendations.models import Feedback
from apps.recommendations.tests.factories import BERLIN_ZONE, event, person, place, track, weekend_moment

pytestmark = pytest.mark.django_db
URL = "/api/v1/recommendations"
FEEDBACK = "/api/v1/recommendations/feedback"


@pytest.fixture
def someone():  # type: ignore[no-untyped-def]
    return person(interests=["music"], budget=30)


@pytest.fixture
def listed():  # type: ignore[no-untyped-def]
    """Four events of the reference weekend in central Berlin: two concerts, a market, a free film."""
    return [
        event("Jazz night"),
        event("Piano recital", start=weekend_moment() + timedelta(hours=1)),
        event("Flea market", category="markets", venue=place("mauerpark"), start=weekend_moment() - timedelta(hours=6)),
        event("Open-air film", category="film", is_free=True, price_min=None),
    ]


def _error_fields(response) -> dict:  # type: ignore[no-untyped-def]
    return response.json()["error"]["fields"]


def test_the_list_has_the_documented_shape_and_logs_its_impressions_once(client_for, someone, listed) -> None:
    response = client_for(someone).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"request_id", "ranker", "variant", "model_version", "results"}
    assert body["ranker"] == "content"  # no history yet: the learned ranker's fallback
    assert body["variant"] is None
    assert [item["rank"] for item in body["results"]] == [1, 2, 3, 4]
    assert {item["event"]["id"] for item in body["results"]} == {e.pk for e in listed}
    first = body["results"][0]
    assert set(first) == {"rank", "score", "reasons", "event"}
    # The item shape of GET /api/v1/events.
    same_event = APIClient().get("/api/v1/events", {"q": first["event"]["title"]}).json()["results"][0]
    assert set(first["event"]) == set(same_event)
    assert first["event"]["distance_km"] == 0.0
    impressions = TrackedEvent.objects.filter(type="impression", user_id=someone.pk).order_by("context__rank")
    assert [(row.object_id, row.context["rank"]) for row in impressions] == [
        (str(item["event"]["id"]), item["rank"]) for item in body["results"]
    ]
    assert {row.context["request_id"] for row in impressions} == {body["request_id"]}
    assert {row.context["ranker"] for row in impressions} == {"content"}


def test_reasons_say_what_the_data_says(client_for, someone, listed) -> None:
    results = client_for(someone).get(URL).json()["results"]
    reasons = {item["event"]["title"]: item["reasons"] for item in results}
    assert reasons["Jazz night"][0] == "you like music"
    assert "free" in reasons["Open-air film"]
    assert "within your budget" in reasons["Jazz night"]
    assert all("you like" not in reason for reason in reasons["Flea market"])
    assert all("m away" in " ".join(r) for r in reasons.values())


def test_do_not_track_serves_the_list_and_logs_nothing(client_for, someone, listed) -> None:
    response = client_for(someone).get(URL, HTTP_DNT="1")
    assert response.status_code == 200
    assert response.json()["results"]
    assert not TrackedEvent.objects.filter(type="impression").exists()


def test_anonymous_callers_need_near_and_get_popularity(api_client, listed) -> None:
    refused = api_client.get(URL)
    assert refused.status_code == 400
    assert "near" in _error_fields(refused)
    body = api_client.get(URL, {"near": "52.52,13.405", "tz": "Europe/Berlin"}).json()
    assert body["ranker"] == "popularity"
    assert {item["event"]["id"] for item in body["results"]} == {e.pk for e in listed}


def test_next_weekend_and_an_explicit_window(client_for, someone, listed, clock) -> None:
    # `listed` and "next" both count from the clock (TEST_NOW), frozen by the `clock` fixture.
    later = event("Next week's concert", start=weekend_moment() + timedelta(days=7))
    client = client_for(someone)
    assert [i["event"]["id"] for i in client.get(URL, {"weekend": "next"}).json()["results"]] == [later.pk]
    saturday, monday = (
        moment.astimezone(BERLIN_ZONE).date() for moment in weekend_window("next", "Europe/Berlin", now=timezone.now())
    )
    window = {"start": saturday.isoformat(), "end": monday.isoformat()}
    assert [i["event"]["id"] for i in client.get(URL, window).json()["results"]] == [later.pk]


def test_late_on_a_sunday_this_weekend_lists_only_what_is_still_ahead(client_for, someone, clock) -> None:
    afternoon = weekend_moment()  # Sunday 15:00 in Berlin
    clock.move_to(afternoon + timedelta(hours=7))  # Sunday 22:00: the weekend's last two hours
    over = event("Afternoon concert", start=afternoon)
    late = event("Late set", start=afternoon + timedelta(hours=8, minutes=15))
    following = event("Next week's concert", start=afternoon + timedelta(days=7))
    client = client_for(someone)
    assert [i["event"]["id"] for i in client.get(URL).json()["results"]] == [late.pk]
    assert [i["event"]["id"] for i in client.get(URL, {"weekend": "next"}).json()["results"]] == [following.pk]
    assert over.pk not in {i["event"]["id"] for i in client.get(URL, {"limit": 50}).json()["results"]}


def test_limit_caps_the_list(client_for, someone, listed) -> None:
    assert len(client_for(someone).get(URL, {"limit": "2"}).json()["results"]) == 2


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"weekend": "last"}, "weekend"),
        ({"start": "2026-06-20"}, "end"),
        ({"end": "2026-06-20"}, "start"),
        ({"start": "2026-06-21", "end": "2026-06-20"}, "end"),
        ({"start": "yesterday", "end": "2026-06-20"}, "start"),
        ({"weekend": "this", "start": "2026-06-20", "end": "2026-06-21"}, "weekend"),
        ({"near": "52.52"}, "near"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"ranker": "content"}, "ranker"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(client_for, someone, params, field) -> None:  # type: ignore[no-untyped-def]
    response = client_for(someone).get(URL, params)
    assert response.status_code == 400
    assert field in _error_fields(response)


def test_staff_may_force_a_known_ranker(client_for, listed) -> None:
    staff = client_for(staff_user())
    assert staff.get(URL, {"ranker": "popularity"}).json()["ranker"] == "popularity"
    unknown = staff.get(URL, {"ranker": "oracle"})
    assert unknown.status_code == 400
    assert "ranker" in _error_fields(unknown)


def test_feedback_is_idempotent_and_dismiss_takes_effect_on_the_next_list(client_for, someone, listed) -> None:
    client = client_for(someone)
    dismissed = listed[0]
    first = client.post(FEEDBACK, {"event_id": dismissed.pk, "action": "dismiss"}, format="json")
    again = client.post(FEEDBACK, {"event_id": dismissed.pk, "action": "dismiss"}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert set(first.json()) == {"event_id", "action", "created_at"}
    assert Feedback.objects.filter(user=someone).count() == 1
    assert TrackedEvent.objects.filter(type="dismiss", object_id=str(dismissed.pk)).count() == 1
    listed_ids = {item["event"]["id"] for item in client.get(URL).json()["results"]}
    assert dismissed.pk not in listed_ids
    assert len(listed_ids) == 3


def test_more_and_less_like_this_move_the_category_and_replace_each_other(client_for, someone, listed) -> None:
    client = client_for(someone)
    market = listed[2]

    def market_rank() -> int:
        results = client.get(URL, HTTP_DNT="1").json()["results"]
        return next(item["rank"] for item in results if item["event"]["id"] == market.pk)

    before = market_rank()
    client.post(FEEDBACK, {"event_id": market.pk, "action": "more_like_this"}, format="json")
    raised = market_rank()
    client.post(FEEDBACK, {"event_id": market.pk, "action": "less_like_this"}, format="json")
    lowered = market_rank()
    assert raised < before
    assert lowered > raised
    assert list(Feedback.objects.filter(user=someone).values_list("action", flat=True)) == ["less_like_this"]
    assert TrackedEvent.objects.filter(type="feedback", user_id=someone.pk).count() == 2


def test_one_persons_feedback_leaves_anothers_list_alone(client_for, someone, listed) -> None:
    client_for(someone).post(FEEDBACK, {"event_id": listed[0].pk, "action": "dismiss"}, format="json")
    other = person(interests=["music"])
    ids = {item["event"]["id"] for item in client_for(other).get(URL).json()["results"]}
    assert listed[0].pk in ids


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event_id": 999999, "action": "dismiss"}, "event_id"),
        ({"event_id": "one", "action": "dismiss"}, "event_id"),
        ({"action": "dismiss"}, "event_id"),
        ({"event_id": 1, "action": "hide"}, "action"),
        ({"event_id": 1}, "action"),
    ],
)
def test_bad_feedback_is_a_400_naming_the_field_and_stores_nothing(client_for, someone, body, field) -> None:  # type: ignore[no-untyped-def]
    place("centre")
    response = client_for(someone).post(FEEDBACK, body, format="json")
    assert response.status_code == 400
    assert field in _error_fields(response)
    assert not Feedback.objects.exists()


def test_feedback_needs_a_signed_in_person(api_client, listed) -> None:
    response = api_client.post(FEEDBACK, {"event_id": listed[0].pk, "action": "dismiss"}, format="json")
    assert response.status_code == 401


def test_a_newcomer_with_nothing_to_match_gets_what_is_popular_nearby_first(client_for, listed) -> None:
    blank = person(home_lat=None, home_lon=None)
    fan = person()
    for _ in range(4):  # 4 saves weigh 8: about what 6 people's interest does, which is "popular"
        track(fan, "save", listed[2])
    body = client_for(blank).get(URL).json()
    assert body["ranker"] == "popularity"
    assert body["results"][0]["event"]["id"] == listed[2].pk
    assert "popular this weekend" in body["results"][0]["reasons"]  # no home: nothing is "nearby"
