"""POST /api/v1/track end to end on PostgreSQL: batches with duplicates and bad events, refused bodies, DNT/GPC,
clock clamping on the fixed test clock, conversions for running experiments, and who sees what."""

import json
import uuid
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.analytics import selectors
from apps.analytics.models import Conversion, TrackedEvent
from apps.analytics.tests.factories import make_experiment
from apps.analytics.tracking import MAX_CONTEXT_BYTES

pytestmark = pytest.mark.django_db

URL = "/api/v1/track"


def event(kind: str = "click", *, at: datetime | None = None, **fields):
    moment = at or timezone.now() - timedelta(seconds=5)
    return {"id": str(uuid.uuid4()), "type": kind, "at": moment.isoformat(), **fields}


def track(client: APIClient, events, **headers):
    # json.dumps escapes a lone surrogate as \ud800 (the test client's own encoder would fail on it).
    return client.post(URL, json.dumps({"events": events}), content_type="application/json", headers=headers)


def assert_invalid_events(response):
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert "events" in error["fields"], error


def test_a_batch_stores_the_good_events_and_refuses_each_bad_one_alone(api_client):
    good = [event("page_view", object_type="page", object_id="/discover"), event("save", object_type="event")]
    repeated = dict(good[0])
    bad = [
        {"type": "click", "at": timezone.now().isoformat()},  # no id
        event("signup"),  # the server's own type
        event("click", at=None) | {"at": "2026-06-17T12:00:00"},  # no offset
        event("click", object_type="venue"),
        event("web_vital", context={"name": "FID", "value": 12, "page": "/"}),
        event("click", context={"blob": "x" * MAX_CONTEXT_BYTES}),
        event("click", surprise=True),
        event("click", object_id="a\x00b"),  # PostgreSQL stores no NUL in text
        event("click", context={"query": "\ud800"}),  # nor a lone surrogate in jsonb
        event("click") | {"at": "0001-01-01T00:00:00+14:00"},  # before year 1 in UTC
    ]
    response = track(api_client, [good[0], *bad, good[1], repeated])
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["accepted"] == 2
    assert body["duplicates"] == 1
    assert [item["index"] for item in body["refused"]] == list(range(1, 11))
    assert all(item["reason"] for item in body["refused"])
    stored = TrackedEvent.objects.order_by("type")
    assert [(row.type, row.user_id) for row in stored] == [("page_view", None), ("save", None)]
    assert all(row.received_at == stored[0].received_at for row in stored)


def test_sending_a_batch_twice_stores_it_once(api_client):
    batch = [event("click"), event("web_vital", context={"name": "LCP", "value": 1800.5, "page": "/"})]
    assert track(api_client, batch).json() == {"accepted": 2, "duplicates": 0, "refused": []}
    assert track(api_client, batch).json() == {"accepted": 0, "duplicates": 2, "refused": []}
    assert TrackedEvent.objects.count() == 2


@pytest.mark.parametrize(
    "body",
    [
        {"events": [{"id": str(uuid.uuid4()), "type": "click"}] * 501},
        {"events": "click"},
        {"events": [event("click"), "not an object"]},
        {"nothing": []},
    ],
    ids=["over-500", "not-a-list", "item-not-object", "missing"],
)
def test_a_bad_body_is_a_400_naming_events_and_stores_nothing(api_client, body):
    assert_invalid_events(api_client.post(URL, body, format="json"))
    assert not TrackedEvent.objects.exists()


def test_a_body_that_is_not_json_is_a_400_naming_events(api_client):
    response = api_client.post(URL, data='{"events": [', content_type="application/json")
    assert_invalid_events(response)
    assert not TrackedEvent.objects.exists()


def test_exactly_500_events_are_taken(api_client):
    assert track(api_client, [event("impression", context={"rank": n}) for n in range(500)]).json()["accepted"] == 500


@pytest.mark.parametrize("header", [{"DNT": "1"}, {"Sec-GPC": "1"}])
def test_do_not_track_and_global_privacy_control_store_nothing(api_client, header):
    response = track(api_client, [event("click"), event("save")], **header)
    assert response.status_code == 202
    assert response.json() == {
        "accepted": 0,
        "duplicates": 0,
        "refused": [{"index": 0, "reason": "do_not_track"}, {"index": 1, "reason": "do_not_track"}],
    }
    assert not TrackedEvent.objects.exists()


def test_a_clock_off_by_more_than_a_day_is_clamped_and_the_original_kept(api_client, clock):
    now = timezone.now()
    sent = [
        event("click", at=now - timedelta(days=3)),
        event("click", at=now + timedelta(days=2)),
        event("save", at=now - timedelta(hours=23)),
    ]
    assert track(api_client, sent).json()["accepted"] == 3
    by_id = {str(row.client_id): row for row in TrackedEvent.objects.all()}
    for original in sent[:2]:
        row = by_id[original["id"]]
        assert row.at == row.received_at
        assert row.client_at == datetime.fromisoformat(original["at"])
    believed = by_id[sent[2]["id"]]
    assert believed.at == datetime.fromisoformat(sent[2]["at"])
    assert believed.client_at is None


def test_the_signed_in_person_and_the_anonymous_id_are_stamped(auth_client, user, api_client):
    track(auth_client, [event("save", anonymous_id="visitor-1")])
    api_client.cookies["wp_aid"] = "cookie-visitor"
    track(api_client, [event("click"), event("click", anonymous_id="own-id")])
    sent = TrackedEvent.objects.filter(type__in=["save", "click"])  # not the server's own signup event
    rows = sent.order_by("anonymous_id").values_list("anonymous_id", "user_id")
    assert list(rows) == [("cookie-visitor", None), ("own-id", None), ("visitor-1", user.pk)]


def test_tracked_events_feed_the_conversions_of_running_experiments(auth_client, user):
    make_experiment("ranker-v2", metric="save", guardrails=["dismiss"], status="running")
    make_experiment("old", metric="share", status="stopped")
    batch = [event("save", anonymous_id="visitor-1"), event("dismiss"), event("share"), event("click")]
    assert track(auth_client, batch).json()["accepted"] == 4
    assert track(auth_client, batch).json()["duplicates"] == 4  # counted once however often it is sent
    conversions = sorted(Conversion.objects.values_list("unit_id", "type"))
    assert conversions == [(str(user.pk), "dismiss"), (str(user.pk), "save"), ("visitor-1", "save")]


def test_one_persons_events_never_show_in_anothers_export(client_for, user, other_user):
    track(client_for(user), [event("save", object_id="1")])
    track(client_for(other_user), [event("dismiss", object_id="2")])
    mine = selectors.tracked_events_export(user_id=user.pk)
    # Their own sign-up, their API sign-in (client_for obtains a token) and their save; nothing of the other's.
    assert sorted((item["type"], item["object_id"]) for item in mine) == [("login", ""), ("save", "1"), ("signup", "")]


def test_the_context_is_stored_as_sent(api_client):
    context = {"page": "/discover", "rank": 3, "request_id": "r-1", "experiments": {"ranker-v2": "treatment"}}
    track(api_client, [event("impression", context=context)])
    assert TrackedEvent.objects.get().context == context
    refused = track(api_client, [event("impression", context={"experiments": {"ranker-v2": 1}})]).json()
    assert refused["refused"][0]["reason"].startswith("context.experiments")


def test_the_schema_shape_of_the_answer(api_client):
    body = track(api_client, [event("click"), {"id": "nope"}]).json()
    assert set(body) == {"accepted", "duplicates", "refused"}
    assert body["refused"] == [{"index": 1, "reason": json.loads(json.dumps(body["refused"][0]["reason"]))}]
