"""Who may call what: anonymous 401, a non-member 404 (the group might as well not exist), a member 403 where
only the owner may act, the owner OK; and nothing a member sees carries another member's plans."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from apps.calendars import services as calendar_services
from apps.calendars.tests.factories import PlanFactory
from apps.groups.models import Group, Invite, Membership, Role
from apps.groups.services import plans as plan_services
from apps.groups.services import polls as poll_services
from apps.groups.tests.factories import GroupFactory, InviteFactory, MembershipFactory
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WINDOW = "start=2026-06-20T00:00:00%2B02:00&end=2026-06-22T00:00:00%2B02:00"


@pytest.fixture
def world(user, other_user):  # type: ignore[no-untyped-def]
    """A group owned by `owner`, with `member` (the test's `user`) and `third`; `other_user` is an outsider."""
    owner, third = UserFactory(), UserFactory()
    group = GroupFactory(owner=owner)
    MembershipFactory(group=group, user=user)
    MembershipFactory(group=group, user=third)
    invite = InviteFactory(group=group, created_by=owner)
    return {"group": group, "owner": owner, "member": user, "third": third, "outsider": other_user, "invite": invite}


def requests(w) -> list[tuple[str, str, dict | None, bool]]:  # type: ignore[no-untyped-def]
    """(method, url, body, owner only) for every endpoint under /groups/{id}."""
    base = f"/api/v1/groups/{w['group'].pk}"
    return [
        ("get", base, None, False),
        ("patch", base, {"name": "Renamed"}, True),
        ("get", f"{base}/members", None, False),
        ("delete", f"{base}/members/{w['third'].pk}", None, True),
        ("post", f"{base}/owner", {"user_id": w["third"].pk}, True),
        ("patch", f"{base}/sharing", {"paused": True}, False),
        ("get", f"{base}/invites", None, False),
        ("post", f"{base}/invites", {"days": 2}, False),
        ("delete", f"{base}/invites/{w['invite'].pk}", None, True),  # a member may revoke only their own
        ("get", f"{base}/availability?{WINDOW}", None, False),
        ("delete", base, None, True),  # last: it deletes the group
    ]


def call(client, method: str, url: str, body: dict | None):  # type: ignore[no-untyped-def]
    return getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)


def snapshot(w) -> tuple:  # type: ignore[no-untyped-def]
    group = Group.objects.get(pk=w["group"].pk)
    members = sorted(Membership.objects.filter(group=group).values_list("user_id", "role", "sharing_paused"))
    invites = sorted(Invite.objects.filter(group=group).values_list("pk", "revoked_at"))
    return group.name, members, invites


def test_anonymous_is_401_everywhere(api_client, world):
    for method, url, body, _ in [*requests(world), ("get", "/api/v1/groups", None, False),
                                 ("post", "/api/v1/groups", {"name": "x"}, False),
                                 ("post", "/api/v1/groups/join", {"token": world["invite"].token}, False)]:  # fmt: skip
        assert call(api_client, method, url, body).status_code == 401, (method, url)


def test_a_non_member_gets_404_for_every_method_and_changes_nothing(client_for, world):
    before = snapshot(world)
    outsider = client_for(world["outsider"])
    for method, url, body, _ in requests(world):
        assert call(outsider, method, url, body).status_code == 404, (method, url)
    assert snapshot(world) == before
    assert outsider.get("/api/v1/groups").json()["results"] == []


def test_a_member_gets_403_where_only_the_owner_may_act(client_for, world):
    member = client_for(world["member"])
    for method, url, body, owner_only in requests(world):
        before = snapshot(world)
        status = call(member, method, url, body).status_code
        if owner_only:
            assert status == 403, (method, url, status)
            assert snapshot(world) == before
        else:
            assert status in (200, 201), (method, url, status)


def test_the_owner_may_do_everything(client_for, world):
    owner = client_for(world["owner"])
    transfer = f"/api/v1/groups/{world['group'].pk}/owner"
    for method, url, body, _ in requests(world):
        if url == transfer:  # removing `third` came first: handing over is checked below, on the member
            continue
        status = call(owner, method, url, body).status_code
        assert status in (200, 201, 204), (method, url, status)
    assert not Group.objects.filter(pk=world["group"].pk).exists()


def test_the_owner_may_hand_over(client_for, world):
    url = f"/api/v1/groups/{world['group'].pk}/owner"
    response = client_for(world["owner"]).post(url, {"user_id": world["member"].pk}, format="json")
    assert response.status_code == 200
    assert Membership.objects.get(group=world["group"], role=Role.OWNER).user == world["member"]


def test_a_group_is_never_reached_through_another_groups_path(client_for, world):
    mine = GroupFactory(owner=world["outsider"])
    outsider = client_for(world["outsider"])
    assert outsider.delete(f"/api/v1/groups/{mine.pk}/invites/{world['invite'].pk}").status_code == 404
    assert outsider.delete(f"/api/v1/groups/{mine.pk}/members/{world['third'].pk}").status_code == 404
    assert Membership.objects.filter(group=world["group"], user=world["third"], role=Role.MEMBER).exists()


def test_no_groups_endpoint_shows_another_members_plans(client_for, world):
    """Every member's plans carry a title, place and notes no response may contain."""
    secrets = []
    for key in ("owner", "member", "third"):
        calendar = calendar_services.calendar_ensure_default(owner=world[key])
        marker = f"Secret-{key}-7f3a"
        PlanFactory(calendar=calendar, title=f"{marker} title", start=datetime(2026, 6, 20, 10, 0),
                    location=f"{marker} place", lat=52.5, lon=13.4, notes=f"{marker} note")  # fmt: skip
        PlanFactory(calendar=calendar, title=f"{marker} weekly", start=datetime(2026, 6, 6, 18, 0),
                    rrule="FREQ=WEEKLY;COUNT=8")  # fmt: skip
        secrets.append(marker)
    member = client_for(world["member"])
    for method, url, body, owner_only in requests(world):
        if owner_only:
            continue
        response = call(member, method, url, body)
        assert response.status_code in (200, 201)
        text = json.dumps(response.json())
        assert not any(marker in text for marker in secrets), (method, url)
    base = f"/api/v1/groups/{world['group'].pk}"
    # A poll and a group plan of the group's own, so the other groups endpoints have something to show.
    window = {"start": "2026-06-20T14:00:00+02:00", "end": "2026-06-20T17:00:00+02:00"}
    poll = poll_services.poll_create(group=world["group"], by=world["third"], question="When?",
                                     options=[window, {**window, "start": "2026-06-20T13:00:00+02:00"}])  # fmt: skip
    saturday = datetime(2026, 6, 20, 12, 0, tzinfo=UTC)
    group_plan = plan_services.group_plan_create(group=world["group"], by=world["owner"], title="Lake day",
                                                 start_utc=saturday, end_utc=saturday + timedelta(hours=3))  # fmt: skip
    urls = [
        "/api/v1/groups",
        f"{base}/polls",
        f"{base}/polls/{poll.pk}",
        f"{base}/plans",
        f"{base}/plans/{group_plan.pk}",
    ]
    for url in urls:
        response = member.get(url)
        assert response.status_code == 200, url
        assert not any(marker in json.dumps(response.json()) for marker in secrets), url
    availability = member.get(f"/api/v1/groups/{world['group'].pk}/availability?{WINDOW}").json()
    assert availability["windows"], "the members have free time in the weekend"
    assert all(set(window) == {"start", "end", "free", "busy_count"} for window in availability["windows"])
