"""/api/v1/groups: groups, members, invitations and the availability parameters, as a client uses them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.groups.models import Group, Invite, Membership, Role
from apps.groups.tests.factories import GroupFactory, InviteFactory, MembershipFactory
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_create_list_read_and_change_a_group(auth_client, user):
    created = auth_client.post("/api/v1/groups", {"name": "Climbers", "description": "Sat mornings"}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert {k: body[k] for k in ("name", "description", "role", "member_count", "meeting_point", "meeting_lat")} == {
        "name": "Climbers", "description": "Sat mornings", "role": "owner", "member_count": 1, "meeting_point": "",
        "meeting_lat": None,
    }  # fmt: skip
    assert {"id", "meeting_lon", "created_at", "updated_at"} <= set(body)
    url = f"/api/v1/groups/{body['id']}"
    listed = auth_client.get("/api/v1/groups").json()
    assert [g["id"] for g in listed["results"]] == [body["id"]]
    assert auth_client.get(url).json()["name"] == "Climbers"
    patched = auth_client.patch(url, {"meeting_point": "Kreuzberg", "meeting_lat": 52.5, "meeting_lon": 13.4},
                                format="json")  # fmt: skip
    assert patched.status_code == 200
    assert (patched.json()["meeting_lat"], patched.json()["meeting_lon"]) == (52.5, 13.4)
    assert auth_client.delete(url).status_code == 204
    assert not Group.objects.filter(pk=body["id"]).exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": 5}, "name"),
        ({"name": "G", "meeting_lat": 95, "meeting_lon": 0}, "meeting_lat"),
        ({"name": "G", "meeting_lat": 52.5}, "meeting_lon"),
        ({"name": "G", "meeting_lat": "52.5", "meeting_lon": 13}, "meeting_lat"),
    ],
)
def test_bad_group_input_is_a_400_naming_the_field_and_stores_nothing(auth_client, payload, field):
    response = auth_client.post("/api/v1/groups", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Group.objects.exists()


def test_members_see_names_and_roles_and_the_owner_manages_them(client_for, user, other_user):
    group = GroupFactory(owner=user)
    user.profile.display_name = "Owner Olga"
    user.profile.save()
    MembershipFactory(group=group, user=other_user)
    third = MembershipFactory(group=group).user
    member = client_for(other_user)
    members = member.get(f"/api/v1/groups/{group.pk}/members").json()["results"]
    assert (members[0]["user_id"], members[0]["display_name"], members[0]["role"]) == (user.pk, "Owner Olga", "owner")
    assert {m["user_id"] for m in members} == {user.pk, other_user.pk, third.pk}
    assert set(members[1]) == {"user_id", "display_name", "role", "joined_at", "sharing_paused"}

    # A member may not remove someone else, nor hand over ownership; the owner may.
    assert member.delete(f"/api/v1/groups/{group.pk}/members/{third.pk}").status_code == 403
    assert member.post(f"/api/v1/groups/{group.pk}/owner", {"user_id": other_user.pk}, format="json").status_code == 403
    owner = client_for(user)
    assert owner.delete(f"/api/v1/groups/{group.pk}/members/{third.pk}").status_code == 204
    assert owner.delete(f"/api/v1/groups/{group.pk}/members/{third.pk}").status_code == 404
    refused = owner.post(f"/api/v1/groups/{group.pk}/owner", {"user_id": third.pk}, format="json")
    assert refused.status_code == 400
    assert "user_id" in refused.json()["error"]["fields"]
    handed = owner.post(f"/api/v1/groups/{group.pk}/owner", {"user_id": other_user.pk}, format="json")
    assert handed.status_code == 200
    assert handed.json()["role"] == "member"
    assert Membership.objects.get(group=group, user=other_user).role == Role.OWNER


def test_leaving_is_always_allowed_and_the_last_one_out_deletes_the_group(client_for, user, other_user):
    group = GroupFactory(owner=user)
    MembershipFactory(group=group, user=other_user)
    assert client_for(user).delete(f"/api/v1/groups/{group.pk}/members/{user.pk}").status_code == 204
    assert Membership.objects.get(group=group).role == Role.OWNER  # other_user inherited it
    assert client_for(other_user).delete(f"/api/v1/groups/{group.pk}/members/{other_user.pk}").status_code == 204
    assert not Group.objects.filter(pk=group.pk).exists()


def test_pausing_sharing_changes_only_the_callers_membership(client_for, user, other_user):
    group = GroupFactory(owner=user)
    MembershipFactory(group=group, user=other_user)
    response = client_for(other_user).patch(f"/api/v1/groups/{group.pk}/sharing", {"paused": True}, format="json")
    assert response.status_code == 200
    assert (response.json()["user_id"], response.json()["sharing_paused"]) == (other_user.pk, True)
    assert Membership.objects.get(group=group, user=user).sharing_paused is False
    unchanged = client_for(other_user).patch(f"/api/v1/groups/{group.pk}/sharing", {}, format="json")
    assert (unchanged.status_code, unchanged.json()["sharing_paused"]) == (200, True)
    bad = client_for(other_user).patch(f"/api/v1/groups/{group.pk}/sharing", {"paused": "yes"}, format="json")
    assert bad.status_code == 400
    assert "paused" in bad.json()["error"]["fields"]


def test_invite_by_link_then_join(client_for, user, other_user, settings):
    settings.SITE_URL = "https://planner.example"
    group = GroupFactory(owner=user)
    created = client_for(user).post(f"/api/v1/groups/{group.pk}/invites", {"days": 3}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["url"] == f"https://planner.example/groups/join/{body['token']}/"
    assert body["email"] == ""
    assert set(body) >= {"id", "token", "url", "expires", "email"}
    joined = client_for(other_user).post("/api/v1/groups/join", {"token": body["token"]}, format="json")
    assert joined.status_code == 200
    assert (joined.json()["id"], joined.json()["role"], joined.json()["member_count"]) == (group.pk, "member", 2)
    again = client_for(other_user).post("/api/v1/groups/join", {"token": body["token"]}, format="json")
    assert again.status_code == 200


def test_a_bad_token_is_one_400_naming_token(client_for, user, other_user, clock):
    group = GroupFactory(owner=user)
    expired = InviteFactory(group=group, expires_at=timezone.now() - timedelta(seconds=1))
    revoked = InviteFactory(group=group, revoked_at=timezone.now())
    messages = set()
    for token in (expired.token, revoked.token, "nope", "x" * 65):
        response = client_for(other_user).post("/api/v1/groups/join", {"token": token}, format="json")
        assert response.status_code == 400, token
        assert list(response.json()["error"]["fields"]) == ["token"]
        messages.add(response.json()["error"]["fields"]["token"][0])
    assert len(messages) == 2  # unknown, expired and revoked read alike; the too-long one fails its length
    assert not Membership.objects.filter(user=other_user).exists()


def test_invites_any_member_makes_the_owner_or_maker_revokes(client_for, user, other_user):
    group = GroupFactory(owner=user)
    MembershipFactory(group=group, user=other_user)
    member, owner = client_for(other_user), client_for(user)
    theirs = member.post(f"/api/v1/groups/{group.pk}/invites", {}, format="json").json()
    owners = owner.post(f"/api/v1/groups/{group.pk}/invites", {}, format="json").json()
    assert [i["id"] for i in member.get(f"/api/v1/groups/{group.pk}/invites").json()["results"]] == [theirs["id"]]
    assert {i["id"] for i in owner.get(f"/api/v1/groups/{group.pk}/invites").json()["results"]} == {
        theirs["id"],
        owners["id"],
    }
    assert member.delete(f"/api/v1/groups/{group.pk}/invites/{owners['id']}").status_code == 403
    assert member.delete(f"/api/v1/groups/{group.pk}/invites/{theirs['id']}").status_code == 204
    assert owner.delete(f"/api/v1/groups/{group.pk}/invites/{owners['id']}").status_code == 204
    assert Invite.objects.filter(revoked_at__isnull=True).count() == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"days": 0}, "days"), ({"days": 31}, "days"), ({"days": "7"}, "days"), ({"email": "not-an-address"}, "email")],
)
def test_bad_invite_input_is_a_400(auth_client, user, payload, field):
    group = GroupFactory(owner=user)
    response = auth_client.post(f"/api/v1/groups/{group.pk}/invites", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Invite.objects.exists()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("end=2026-06-20T00:00:00%2B02:00", "start"),
        ("start=2026-06-20T00:00:00%2B02:00", "end"),
        ("start=2026-06-20T00:00:00&end=2026-06-21T00:00:00Z", "start"),
        ("start=tomorrow&end=2026-06-21T00:00:00Z", "start"),
        ("start=2026-06-21T00:00:00Z&end=2026-06-20T00:00:00Z", "end"),
        ("start=2026-06-20T00:00:00Z&end=2026-07-05T00:00:01Z", "end"),
        ("start=2026-06-20T00:00:00Z&end=2026-06-21T00:00:00Z&min_minutes=0", "min_minutes"),
        ("start=2026-06-20T00:00:00Z&end=2026-06-21T00:00:00Z&min_minutes=1441", "min_minutes"),
        ("start=2026-06-20T00:00:00Z&end=2026-06-21T00:00:00Z&min_minutes=1.5", "min_minutes"),
    ],
)
def test_availability_parameters_are_checked(auth_client, user, query, field):
    group = GroupFactory(owner=user)
    response = auth_client.get(f"/api/v1/groups/{group.pk}/availability?{query}")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_availability_of_a_group_with_nothing_planned_is_one_window(auth_client, user):
    group = GroupFactory(owner=user)
    other = UserFactory()
    MembershipFactory(group=group, user=other)
    response = auth_client.get(
        f"/api/v1/groups/{group.pk}/availability?start=2026-06-20T00:00:00%2B02:00&end=2026-07-04T00:00:00%2B02:00"
    )
    assert response.status_code == 200
    (window,) = response.json()["windows"]
    assert window["free"] == sorted([user.pk, other.pk])
    assert window["busy_count"] == 0
