"""The polls and group plans API: every endpoint's answers, a non-member's 404 on every method, anonymous 401,
owner-only 403, and one whole weekend end to end."""

from datetime import timedelta

import pytest
from icalendar import Calendar

from apps.calendars import selectors as calendar_selectors
from apps.calendars import services as calendar_services
from apps.groups.models import GroupPlan, Poll, PollStatus, Vote
from apps.groups.services import plans as plan_services
from apps.groups.services import polls as poll_services
from apps.groups.tests.poll_factories import SATURDAY, make_event, make_group, window
from apps.notifications.models import Kind, Notification
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def crew(user, other_user):
    return make_group(user, other_user), user, other_user


def _urls(group_id, poll_id, plan_id):
    base = f"/api/v1/groups/{group_id}"
    return [
        ("get", f"{base}/polls", None),
        ("post", f"{base}/polls", {"question": "?", "options": [window(), window(4)]}),
        ("get", f"{base}/polls/{poll_id}", None),
        ("put", f"{base}/polls/{poll_id}/votes", {"votes": []}),
        ("post", f"{base}/polls/{poll_id}/close", {}),
        ("get", f"{base}/plans", None),
        ("post", f"{base}/plans", {"title": "x", **window()}),
        ("get", f"{base}/plans/{plan_id}", None),
        ("patch", f"{base}/plans/{plan_id}", {"title": "Mine now"}),
        ("delete", f"{base}/plans/{plan_id}", None),
        ("post", f"{base}/plans/{plan_id}/answer", {"answer": "accepted"}),
        ("get", f"{base}/plans/{plan_id}/invitation.ics", None),
    ]


def _send(client, method, url, body):
    return getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)


@pytest.fixture
def theirs(other_user):
    third = UserFactory()
    group = make_group(other_user, third)
    poll = poll_services.poll_create(group=group, by=other_user, question="Theirs?", options=[window(), window(4)])
    plan = plan_services.group_plan_create(
        group=group, by=other_user, title="Their plan", start_utc=SATURDAY, end_utc=SATURDAY + timedelta(hours=2)
    )
    return group, poll, plan


def test_every_endpoint_is_a_404_for_someone_outside_the_group(auth_client, user, theirs):
    group, poll, plan = theirs
    mine = make_group(user)
    requests = _urls(group.pk, poll.pk, plan.pk) + _urls(mine.pk, poll.pk, plan.pk)  # theirs through my group too
    for method, url, body in requests:
        if url.startswith(f"/api/v1/groups/{mine.pk}") and url.endswith(("/polls", "/plans")):
            continue  # my own group's lists and creation are mine to use
        response = _send(auth_client, method, url, body)
        assert response.status_code == 404, (method, url, response.status_code, response.content)
        assert response.json()["error"]["code"] == "not_found"
    poll.refresh_from_db()
    plan.refresh_from_db()
    assert (poll.status, plan.title, plan.status) == (PollStatus.OPEN, "Their plan", "confirmed")
    assert Poll.objects.filter(group=group).count() == 1
    assert not Vote.objects.exists()


def test_anonymous_is_401_everywhere(api_client, theirs):
    group, poll, plan = theirs
    for method, url, body in _urls(group.pk, poll.pk, plan.pk):
        assert _send(api_client, method, url, body).status_code == 401, (method, url)


def test_owner_only_endpoints_are_403_for_a_member(crew, client_for):
    group, owner, member = crew
    poll = poll_services.poll_create(group=group, by=owner, question="?", options=[window(), window(4)])
    plan = plan_services.group_plan_create(
        group=group, by=owner, title="Owner's", start_utc=SATURDAY, end_utc=SATURDAY + timedelta(hours=1)
    )
    client = client_for(member)
    base = f"/api/v1/groups/{group.pk}"
    assert client.post(f"{base}/polls/{poll.pk}/close", {}, format="json").status_code == 403
    assert client.patch(f"{base}/plans/{plan.pk}", {"title": "x"}, format="json").status_code == 403
    assert client.delete(f"{base}/plans/{plan.pk}").status_code == 403
    # The organizer of a plan manages it, though only a member.
    own = client.post(f"{base}/plans", {"title": "Member's", **window()}, format="json").json()
    assert client.patch(f"{base}/plans/{own['id']}", {"title": "Renamed"}, format="json").status_code == 200
    assert client.delete(f"{base}/plans/{own['id']}").status_code == 204


def test_a_poll_is_proposed_read_voted_and_closed(crew, auth_client, client_for):
    group, _owner, member = crew
    event = make_event()
    base = f"/api/v1/groups/{group.pk}/polls"
    body = {"question": "Saturday?", "options": [{"event_id": event.pk}, {**window(8), "label": "Evening"}]}
    created = client_for(member).post(base, body, format="json")
    assert created.status_code == 201, created.content
    poll = created.json()
    assert [o["label"] for o in poll["options"]] == [event.title, "Evening"]
    assert poll["options"][0]["event_id"] == event.pk
    assert poll["options"][1]["start_utc"] == "2026-06-20T20:00:00Z"
    assert poll["status"] == "open"
    first, second = (o["id"] for o in poll["options"])

    voted = auth_client.put(
        f"{base}/{poll['id']}/votes", {"votes": [{"option_id": first, "choice": "yes"}]}, format="json"
    )
    assert voted.status_code == 200, voted.content
    assert [o["mine"] for o in voted.json()["options"]] == ["yes", None]
    client_for(member).put(
        f"{base}/{poll['id']}/votes", {"votes": [{"option_id": second, "choice": "maybe"}]}, format="json"
    )
    read = auth_client.get(f"{base}/{poll['id']}").json()
    assert [(o["yes"], o["maybe"], o["no"]) for o in read["options"]] == [(1, 0, 0), (0, 1, 0)]
    maybe = {"user_id": member.pk, "name": member.email.split("@")[0], "choice": "maybe"}
    assert read["options"][1]["voters"] == [maybe]
    assert auth_client.get(base).json()["results"][0]["voter_count"] == 2

    closed = auth_client.post(f"{base}/{poll['id']}/close", {}, format="json")
    assert closed.status_code == 200, closed.content
    answer = closed.json()
    assert answer["poll"]["status"] == "closed"
    assert answer["poll"]["winner_option_id"] == first
    assert answer["group_plan"]["event_id"] == event.pk
    assert answer["poll"]["group_plan_id"] == answer["group_plan"]["id"]
    assert {a["answer"] for a in answer["group_plan"]["attendances"]} == {"needs-action"}

    late = auth_client.put(
        f"{base}/{poll['id']}/votes", {"votes": [{"option_id": first, "choice": "no"}]}, format="json"
    )
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "poll_closed"
    assert auth_client.post(f"{base}/{poll['id']}/close", {}, format="json").status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"question": "?", "options": [window()]}, "options"),
        ({"question": "?", "options": [window(), {"event_id": 987654}]}, "options[1].event_id"),
        ({"question": "?", "options": [window(), {"event_id": True}]}, "options[1].event_id"),
        ({"question": "?", "options": [window(), {"start": "2026-06-20T10:00:00+02:00"}]}, "options[1].end"),
        ({"question": "?", "options": [{"start": "tomorrow", "end": "2026-06-20T10:00:00+02:00"}, window()]},
         "options[0].start"),
        ({"question": "", "options": [window(), window(3)]}, "question"),
        ({"options": [window(), window(3)]}, "question"),
        ({"question": "?", "options": "two"}, "options"),
        ({"question": "?", "options": [window(), {**window(), "label": "a\u0000b"}]}, "options[1].label"),
        ({"question": "?", "options": [window(), {**window(), "label": 7}]}, "options[1].label"),
        ({"question": "?",
          "options": [window(), {"start": "9999-12-31T23:00:00-14:00", "end": "9999-12-31T23:30:00-14:00"}]},
         "options[1].start"),
        ({"question": "?", "options": [window(), {"start": 20260620, "end": "2026-06-20T10:00:00+02:00"}]},
         "options[1].start"),
    ],
)  # fmt: skip
def test_a_bad_poll_is_a_400_naming_the_field(crew, auth_client, body, field):
    group, *_ = crew
    response = auth_client.post(f"/api/v1/groups/{group.pk}/polls", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"], response.json()
    assert not Poll.objects.exists()


def test_a_cancelled_event_option_is_a_400(crew, auth_client):
    group, *_ = crew
    cancelled = make_event("gone", status="cancelled")
    body = {"question": "?", "options": [window(), {"event_id": cancelled.pk}]}
    response = auth_client.post(f"/api/v1/groups/{group.pk}/polls", body, format="json")
    assert response.status_code == 400
    assert "cancelled" in response.json()["error"]["fields"]["options[1].event_id"][0]


def test_bad_votes_and_winners_are_400s_naming_the_field(crew, auth_client):
    group, owner, _ = crew
    poll = poll_services.poll_create(group=group, by=owner, question="?", options=[window(), window(4)])
    base = f"/api/v1/groups/{group.pk}/polls/{poll.pk}"
    option = poll.options.first().pk
    cases = [
        ({"votes": [{"option_id": 1 << 40, "choice": "yes"}]}, "votes[0].option_id"),
        (
            {"votes": [{"option_id": option, "choice": "yes"}, {"option_id": option, "choice": "no"}]},
            "votes[1].option_id",
        ),
        ({"votes": [{"option_id": option, "choice": "perhaps"}]}, "votes"),
        ({}, "votes"),
    ]
    for body, field in cases:
        response = auth_client.put(f"{base}/votes", body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.json()["error"]["fields"], (body, response.json())
    response = auth_client.post(f"{base}/close", {"winner_option_id": 1 << 40}, format="json")
    assert response.status_code == 400
    assert "winner_option_id" in response.json()["error"]["fields"]
    assert Poll.objects.get().status == PollStatus.OPEN


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x", "start": "2026-06-20T10:00:00+02:00", "end": "2026-06-20T09:00:00+02:00"}, "end"),
        ({"title": "x", "start": "2026-06-20T10:00:00", "end": "2026-06-20T12:00:00+02:00"}, "start"),
        ({"title": "x", **window(), "lat": 52.5}, "lon"),
        ({"title": "x", **window(), "timezone": "Mars/Base"}, "timezone"),
        ({**window()}, "title"),
        ({"title": "x", "end": "2026-06-20T12:00:00+02:00"}, "start"),
        ({"event_id": 987654}, "event_id"),
    ],
)
def test_a_bad_plan_is_a_400_naming_the_field(crew, auth_client, body, field):
    group, *_ = crew
    response = auth_client.post(f"/api/v1/groups/{group.pk}/plans", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"], response.json()
    assert not GroupPlan.objects.exists()


def test_a_plan_from_an_event_takes_its_time_and_place(crew, auth_client):
    group, *_ = crew
    event = make_event()
    response = auth_client.post(f"/api/v1/groups/{group.pk}/plans", {"event_id": event.pk}, format="json")
    assert response.status_code == 201, response.content
    plan = response.json()
    assert (plan["title"], plan["event_id"], plan["timezone"]) == (event.title, event.pk, "Europe/Berlin")
    assert plan["start_utc"] == "2026-06-20T12:00:00Z"
    assert plan["location"].startswith("Kulturbrauerei")


def test_plans_are_updated_answered_cancelled_and_listed(crew, auth_client, client_for):
    group, owner, member = crew
    base = f"/api/v1/groups/{group.pk}/plans"
    plan = auth_client.post(base, {"title": "Climb", **window(), "timezone": "Europe/Berlin"}, format="json").json()
    url = f"{base}/{plan['id']}"
    answered = client_for(member).post(f"{url}/answer", {"answer": "accepted"}, format="json")
    assert answered.status_code == 200, answered.content
    assert answered.json()["calendar_plan_id"] is not None
    assert answered.json()["conflicts"] == []
    assert client_for(member).post(f"{url}/answer", {"answer": "maybe"}, format="json").status_code == 400

    patched = auth_client.patch(url, {"start": "2026-06-21T10:00:00+02:00", "end": "2026-06-21T13:00:00+02:00"},
                                format="json")  # fmt: skip
    assert patched.status_code == 200, patched.content
    assert (patched.json()["start_utc"], patched.json()["sequence"]) == ("2026-06-21T08:00:00Z", 1)
    bad = auth_client.patch(url, {"end": "2026-06-21T07:00:00+02:00"}, format="json")
    assert bad.status_code == 400
    assert "end" in bad.json()["error"]["fields"]

    listed = auth_client.get(base).json()["results"]
    assert [(p["id"], p["title"]) for p in listed] == [(plan["id"], "Climb")]
    answers = {a["user_id"]: a["answer"] for a in listed[0]["attendances"]}
    assert answers == {owner.pk: "needs-action", member.pk: "accepted"}

    assert auth_client.delete(url).status_code == 204
    assert auth_client.get(url).json()["status"] == "cancelled"
    assert auth_client.patch(url, {"title": "Again"}, format="json").status_code == 409
    assert client_for(member).post(f"{url}/answer", {"answer": "declined"}, format="json").status_code == 409
    ics = auth_client.get(f"{url}/invitation.ics", HTTP_ACCEPT="text/calendar")
    assert ics.status_code == 200
    assert ics["Content-Type"].startswith("text/calendar")
    assert "method=CANCEL" in ics["Content-Type"]


def test_three_members_poll_vote_close_accept_and_see_it_everywhere(client_for):
    """The whole flow: three members, a poll, votes changed, the close, everyone accepts."""
    ana, ben, cem = UserFactory(), UserFactory(), UserFactory()
    group = make_group(ana, ben, cem)
    clients = {person: client_for(person) for person in (ana, ben, cem)}
    base = f"/api/v1/groups/{group.pk}/polls"
    poll = clients[ben].post(base, {"question": "Saturday climb?", "options": [window(0), window(5)]}, format="json")
    poll_id = poll.json()["id"]
    early, late = (o["id"] for o in poll.json()["options"])
    assert set(Notification.objects.filter(kind=Kind.POLL_OPENED).values_list("user_id", flat=True)) == {ana.pk, cem.pk}

    def vote(person, choices):
        votes = [{"option_id": o, "choice": c} for o, c in zip((early, late), choices, strict=True)]
        assert clients[person].put(f"{base}/{poll_id}/votes", {"votes": votes}, format="json").status_code == 200

    vote(ana, ["yes", "no"])
    vote(ben, ["yes", "maybe"])
    vote(cem, ["no", "yes"])
    vote(ben, ["no", "yes"])  # changed their mind: late now has two yes
    closed = clients[ana].post(f"{base}/{poll_id}/close", {}, format="json").json()
    assert closed["poll"]["winner_option_id"] == late
    plan_id = closed["group_plan"]["id"]
    assert Notification.objects.filter(kind=Kind.POLL_CLOSED).count() == 3
    assert (
        Notification.objects.filter(kind=Kind.POLL_CLOSED).first().context["winner"]
        == closed["poll"]["options"][1]["label"]
    )

    plan_url = f"/api/v1/groups/{group.pk}/plans/{plan_id}"
    for person in (ana, ben, cem):
        assert clients[person].post(f"{plan_url}/answer", {"answer": "accepted"}, format="json").status_code == 200

    start = SATURDAY + timedelta(hours=5)
    for person in (ana, ben, cem):
        calendar = calendar_services.calendar_ensure_default(owner=person)
        found = calendar_selectors.occurrences(
            calendar_ids=[calendar.pk], start=SATURDAY, end=SATURDAY + timedelta(days=1)
        )
        assert [(o.plan.title, o.occurrence.start_utc) for o in found] == [("Saturday climb?", start)]

    ics = clients[cem].get(f"{plan_url}/invitation.ics")
    assert ics.status_code == 200
    assert ics["Content-Type"] == "text/calendar; charset=utf-8; method=REQUEST"
    (event,) = Calendar.from_ical(ics.content).walk("VEVENT")
    assert sorted(str(a.params["PARTSTAT"]) for a in event["ATTENDEE"]) == ["ACCEPTED"] * 3
    assert {str(a) for a in event["ATTENDEE"]} == {f"mailto:{p.email}" for p in (ana, ben, cem)}
