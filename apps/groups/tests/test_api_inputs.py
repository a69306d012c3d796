"""Inputs the API's schema allows must be taken, not turned into a 500 or a refusal the schema does not state
(found by the Schemathesis contract run): offsets ISO 8601 allows beyond PostgreSQL's ±15:59, and extra keys in a
poll option, which the API ignores as it ignores unknown fields everywhere else; a day the pattern admits but the
calendar has not (2026-02-31) is a 400 naming the field."""

from datetime import UTC, datetime

import pytest

from apps.groups.models import GroupPlan, PollOption
from apps.groups.tests.poll_factories import make_group

pytestmark = pytest.mark.django_db


def test_a_group_plan_at_an_offset_postgresql_cannot_store_is_kept_in_utc(auth_client, user, other_user) -> None:
    group = make_group(user, other_user)
    body = {"title": "Far east", "start": "2026-06-20T23:30:00+23:13", "end": "2026-06-21T02:00:00-23:13"}
    answer = auth_client.post(f"/api/v1/groups/{group.pk}/plans", body, format="json")
    assert answer.status_code == 201, answer.content
    plan = GroupPlan.objects.get(pk=answer.json()["id"])
    assert plan.start_utc == datetime(2026, 6, 20, 0, 17, tzinfo=UTC)
    assert plan.end_utc == datetime(2026, 6, 22, 1, 13, tzinfo=UTC)


def test_a_poll_window_at_such_an_offset_is_kept_in_utc(auth_client, user, other_user) -> None:
    group = make_group(user, other_user)
    options = [
        {"start": "2026-06-20T10:00:00-20:00", "end": "2026-06-20T12:00:00-20:00"},
        {"start": "2026-06-21T10:00:00+02:00", "end": "2026-06-21T12:00:00+02:00"},
    ]
    answer = auth_client.post(
        f"/api/v1/groups/{group.pk}/polls", {"question": "When?", "options": options}, format="json"
    )
    assert answer.status_code == 201, answer.content
    first = PollOption.objects.filter(poll_id=answer.json()["id"]).order_by("position").first()
    assert first is not None
    assert first.start_utc == datetime(2026, 6, 21, 6, 0, tzinfo=UTC)


def test_unknown_keys_in_a_poll_option_are_ignored(auth_client, user, other_user) -> None:
    group = make_group(user, other_user)
    options = [
        {"start": "2026-06-20T10:00:00+02:00", "end": "2026-06-20T12:00:00+02:00", "colour": "red"},
        {"start": "2026-06-21T10:00:00+02:00", "end": "2026-06-21T12:00:00+02:00", "": {}},
    ]
    answer = auth_client.post(
        f"/api/v1/groups/{group.pk}/polls", {"question": "When?", "options": options}, format="json"
    )
    assert answer.status_code == 201, answer.content
    assert len(answer.json()["options"]) == 2


def test_a_day_that_does_not_exist_is_a_400_naming_the_field(auth_client, user, other_user) -> None:
    group = make_group(user, other_user)
    created = auth_client.post(
        f"/api/v1/groups/{group.pk}/plans",
        {"title": "Leap", "start": "2026-02-31T10:00:00+01:00", "end": "2026-03-01T12:00:00+01:00"},
        format="json",
    )
    assert created.status_code == 400
    assert "start" in created.json()["error"]["fields"]
    plan = auth_client.post(
        f"/api/v1/groups/{group.pk}/plans",
        {"title": "Fine", "start": "2026-03-01T10:00:00+01:00", "end": "2026-03-01T12:00:00+01:00"},
        format="json",
    ).json()
    changed = auth_client.patch(
        f"/api/v1/groups/{group.pk}/plans/{plan['id']}", {"end": "2026-04-31T12:00:00+02:00"}, format="json"
    )
    assert changed.status_code == 400
    assert "end" in changed.json()["error"]["fields"]
    options = [
        {"start": "2026-06-31T10:00:00+02:00", "end": "2026-07-01T12:00:00+02:00"},
        {"start": "2026-06-21T10:00:00+02:00", "end": "2026-06-21T12:00:00+02:00"},
    ]
    poll = auth_client.post(f"/api/v1/groups/{group.pk}/polls", {"question": "?", "options": options}, format="json")
    assert poll.status_code == 400
    assert "options[0].start" in poll.json()["error"]["fields"]
