"""Inputs the API's schema allows must be taken, not turned into a 500 or a refusal the schema does not state
(found by the Schemathesis contract run): offsets ISO 8601 allows beyond PostgreSQL's ±15:59, and extra keys in a
poll option, which the API ignores as it ignores unknown fields everywhere else; a day the pattern admits but the
calendar has not (2026-02-31) is a 400 naming the field, and so is a moment that members' calendars cannot hold on
the plan's own clock (the years plans take, read in its time zone; an hour the clocks go back through)."""

from datetime import UTC, datetime

import pytest

from apps.calendars.models import Calendar, Plan
from apps.groups.models import Attendance, GroupPlan, PollOption
from apps.groups.services import polls as poll_services
from apps.groups.tests.poll_factories import make_event, make_group

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


def test_a_moment_outside_the_years_on_the_plans_own_clock_is_a_400_and_changes_nothing(
    auth_client, user, other_user, client_for
) -> None:
    """1600-01-01T00:00Z is within the years in UTC but 1599 in Chicago, where members' calendars hold the plan:
    the contract run found a change to it answered 500 once a member had accepted."""
    group = make_group(user, other_user)
    base = f"/api/v1/groups/{group.pk}/plans"
    body = {"title": "Old", "start": "2026-03-07T10:00:00-06:00", "end": "2026-03-07T12:00:00-06:00"}
    plan = auth_client.post(base, {**body, "timezone": "America/Chicago"}, format="json").json()
    accepted = client_for(other_user).post(f"{base}/{plan['id']}/answer", {"answer": "accepted"}, format="json")
    assert accepted.status_code == 200
    changed = auth_client.patch(f"{base}/{plan['id']}", {"start": "1600-01-01T00:00Z"}, format="json")
    assert changed.status_code == 400, changed.content
    assert "Chicago" in changed.json()["error"]["fields"]["start"][0]
    assert auth_client.get(f"{base}/{plan['id']}").json()["start_utc"] == "2026-03-07T16:00:00Z"
    late = {"title": "Late", "start": "2999-12-31T20:00Z", "end": "2999-12-31T22:00Z", "timezone": "Asia/Tokyo"}
    created = auth_client.post(base, late, format="json")
    assert created.status_code == 400
    assert "start" in created.json()["error"]["fields"]
    assert auth_client.post(base, {**late, "timezone": "UTC"}, format="json").status_code == 201  # 2999 in UTC


def test_a_plan_that_ends_before_it_starts_on_its_own_clock_is_a_400(auth_client, user, other_user) -> None:
    """01:50 CDT to 01:10 CST, twenty minutes on 1 November 2026 in Chicago, which a calendar reads on the clock."""
    group = make_group(user, other_user)
    body = {"title": "Fall back", "start": "2026-11-01T06:50Z", "end": "2026-11-01T07:10Z"}
    created = auth_client.post(
        f"/api/v1/groups/{group.pk}/plans", {**body, "timezone": "America/Chicago"}, format="json"
    )
    assert created.status_code == 400
    assert "end" in created.json()["error"]["fields"]
    assert not GroupPlan.objects.exists()
    assert auth_client.post(f"/api/v1/groups/{group.pk}/plans", body, format="json").status_code == 201  # in UTC


@pytest.mark.parametrize(
    ("start", "end"),
    [("1600-01-01T00:00:00Z", "1600-01-01T02:00:00Z"), ("2026-11-01T06:50:00Z", "2026-11-01T07:10:00Z")],
    ids=["the edge of the years", "the hour the clocks go back through"],
)
def test_a_poll_window_the_closers_clock_cannot_hold_becomes_a_plan_on_utcs_clock(user, other_user, start, end):
    user.profile.timezone = "America/Chicago"
    user.profile.save()
    group = make_group(user, other_user)
    options = [{"start": start, "end": end}, {"start": "2026-06-21T10:00:00+02:00", "end": "2026-06-21T12:00:00+02:00"}]
    poll = poll_services.poll_create(group=group, by=user, question="When?", options=options)
    first = poll.options.order_by("position").first()
    assert first is not None
    plan = poll_services.poll_close(poll=poll, winner_option_id=first.pk, by=user)
    assert plan is not None
    assert (plan.start_utc, plan.timezone) == (datetime.fromisoformat(start), "UTC")


@pytest.mark.parametrize("with_event", [False, True], ids=["a plan of its own", "a catalogue event's plan"])
def test_accepting_a_stored_plan_that_no_calendar_can_hold_is_a_409_that_keeps_nothing(
    auth_client, user, other_user, client_for, with_event
) -> None:
    """A plan written before group plans were checked on their own clock (84c8261) answered 500 when accepted."""
    group = make_group(user, other_user)
    base = f"/api/v1/groups/{group.pk}/plans"
    body: dict[str, object] = {"start": "2026-03-07T10:00:00-06:00", "end": "2026-03-07T12:00:00-06:00"}
    body |= {"event_id": make_event().pk} if with_event else {"title": "Old"}
    plan = auth_client.post(base, {**body, "timezone": "America/Chicago"}, format="json").json()
    GroupPlan.objects.filter(pk=plan["id"]).update(  # what the check now refuses, as an older release stored it
        start_utc=datetime(1600, 1, 1, tzinfo=UTC), end_utc=datetime(1600, 1, 1, 2, tzinfo=UTC)
    )
    calendars = list(Calendar.objects.filter(owner=other_user).values_list("pk", flat=True))
    answer = client_for(other_user).post(f"{base}/{plan['id']}/answer", {"answer": "accepted"}, format="json")
    assert answer.status_code == 409, answer.content
    assert answer.json()["error"]["code"] == "unplaceable"
    assert "1600" in answer.json()["error"]["message"]
    assert not Attendance.objects.filter(group_plan_id=plan["id"], user=other_user, answer="accepted").exists()
    assert not Plan.objects.filter(calendar__owner=other_user).exists()
    assert list(Calendar.objects.filter(owner=other_user).values_list("pk", flat=True)) == calendars
    moved = auth_client.patch(f"{base}/{plan['id']}", {"start": "2026-03-07T16:00Z", "end": "2026-03-07T18:00Z"})
    assert moved.status_code == 200, moved.content
    again = client_for(other_user).post(f"{base}/{plan['id']}/answer", {"answer": "accepted"}, format="json")
    assert again.status_code == 200, again.content
