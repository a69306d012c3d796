"""The groups pages through Django's test client: my groups and creating one, a group's page (members, the
owner's actions, invitations, sharing, the availability heat map), joining by link, and that a person who is not
a member gets a 404 from every group route (GET or POST) while nothing changes."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from apps.calendars.models import Calendar
from apps.calendars.tests.factories import PlanFactory
from apps.core.time import weekend_window
from apps.groups.models import Group, Invite, Membership, Role
from apps.groups.tests.poll_factories import make_group
from apps.users.models import Profile, User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BERLIN = "Europe/Berlin"


def _saturday(which: str = "this") -> datetime:
    """The Saturday (naive, 00:00) of the weekend the group page shows by default, by the suite's clock."""
    start, _ = weekend_window(which, BERLIN, now=timezone.now())  # type: ignore[arg-type]
    return start.astimezone(ZoneInfo(BERLIN)).replace(tzinfo=None)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _in_berlin(*users: User) -> None:
    Profile.objects.filter(user__in=users).update(timezone=BERLIN)
    Calendar.objects.filter(owner__in=users).update(timezone=BERLIN)


def _busy(user: User, title: str, start: datetime, minutes: int) -> None:
    PlanFactory(calendar=user.calendars.get(is_default=True), title=title, timezone=BERLIN, start=start,
                minutes=minutes)  # fmt: skip


def _messages(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in response.context["messages"]] if response.context else []


def _text(html: bytes) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode()))


# --- My groups ----------------------------------------------------------------------------------------------------


def test_groups_page_lists_my_groups_with_count_and_role_and_not_others(user, other_user) -> None:
    mine = make_group(user, UserFactory(), name="Climbing crew")
    theirs = make_group(other_user, user, name="Book club")
    make_group(other_user, name="Secret society")
    response = _client(user).get("/groups/")
    assert response.status_code == 200
    text = _text(response.content)
    assert "Climbing crew 2 members · owner" in text
    assert "Book club 2 members · member" in text
    assert "Secret society" not in text
    assert f'href="/groups/{mine.pk}/"' in response.content.decode()
    assert f'href="/groups/{theirs.pk}/"' in response.content.decode()
    assert 'href="/groups/" aria-current="page">Groups</a>' in response.content.decode()


def test_groups_pages_need_login(client: Client) -> None:
    for path in ("/groups/", "/groups/1/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_create_group_redirects_to_it_with_me_as_owner(user) -> None:
    client = _client(user)
    response = client.post("/groups/new/", {"name": "  Hikers  ", "description": "Sundays"})
    group = Group.objects.get(name="Hikers")
    assert response.status_code == 302
    assert response["Location"] == f"/groups/{group.pk}/"
    assert Membership.objects.get(group=group).role == Role.OWNER
    page = client.get(response["Location"])
    assert "Group “Hikers” created. Invite people with a link below." in _messages(page)


def test_create_group_without_a_name_shows_the_error_next_to_the_field_and_saves_nothing(user) -> None:
    response = _client(user).post("/groups/new/", {"name": "   ", "description": "x"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_name_error"' in html
    assert 'aria-invalid="true"' in html
    assert not Group.objects.exists()


# --- Non-members: 404 for every route ---------------------------------------------------------------------------


def _routes(group: Group, member: User) -> list[tuple[str, str]]:
    poll_path = f"/groups/{group.pk}/polls/999999"
    return [
        ("get", f"/groups/{group.pk}/"),
        ("post", f"/groups/{group.pk}/leave/"),
        ("post", f"/groups/{group.pk}/sharing/"),
        ("post", f"/groups/{group.pk}/members/{member.pk}/remove/"),
        ("post", f"/groups/{group.pk}/members/{member.pk}/owner/"),
        ("post", f"/groups/{group.pk}/invites/link/"),
        ("post", f"/groups/{group.pk}/invites/email/"),
        ("post", f"/groups/{group.pk}/invites/{Invite.objects.get(group=group).pk}/revoke/"),
        ("post", f"/groups/{group.pk}/polls/new/"),
        ("get", f"{poll_path}/"),
        ("post", f"{poll_path}/vote/"),
        ("post", f"{poll_path}/close/"),
        ("post", f"/groups/{group.pk}/plans/999999/answer/"),
        ("get", f"/groups/{group.pk}/plans/999999/invite.ics"),
    ]


def test_every_group_route_is_a_404_for_a_non_member_and_changes_nothing(user, other_user) -> None:
    member = UserFactory()
    group = make_group(user, member, name="Private crew")
    Invite.objects.create(group=group, created_by=user, expires_at=timezone.now() + timedelta(days=7))
    stranger = _client(other_user)
    for method, path in _routes(group, member):
        response = getattr(stranger, method)(path, {"name": "x", "email": "a@example.com", "paused": "1"})
        assert response.status_code == 404, (method, path)
        assert b"Private crew" not in response.content
    assert Membership.objects.filter(group=group).count() == 2
    assert Invite.objects.filter(group=group, revoked_at__isnull=True).count() == 1
    assert not Membership.objects.get(group=group, user=user).sharing_paused


def test_another_groups_poll_and_plan_ids_are_404_inside_my_group(user, other_user) -> None:
    from apps.groups.services import polls
    from apps.groups.tests.poll_factories import window

    mine = make_group(user)
    theirs = make_group(other_user, UserFactory())
    poll = polls.poll_create(group=theirs, by=other_user, question="Where?", options=[window(0), window(4)])
    client = _client(user)
    assert client.get(f"/groups/{mine.pk}/polls/{poll.pk}/", HTTP_HX_REQUEST="true").status_code == 404
    option = poll.options.first()
    response = client.post(f"/groups/{mine.pk}/polls/{poll.pk}/vote/", {"option": option.pk, "choice": "yes"})
    assert response.status_code == 404
    assert not option.votes.exists()


# --- A group's page ---------------------------------------------------------------------------------------------


def test_member_sees_members_and_roles_but_no_owner_actions(user, other_user) -> None:
    Profile.objects.filter(user=user).update(display_name="Ada")
    Profile.objects.filter(user=other_user).update(display_name="Bo")
    group = make_group(user, other_user)
    response = _client(other_user).get(f"/groups/{group.pk}/")
    assert response.status_code == 200
    text = _text(response.content)
    assert "Ada Owner" in text
    assert "Bo (you)" in text
    assert "Make owner" not in text
    assert "Leave the group" in text
    assert user.email not in text  # members see names, not addresses


def test_owner_removes_a_member_and_hands_over_ownership(user, other_user) -> None:
    third = UserFactory()
    group = make_group(user, other_user, third)
    client = _client(user)
    response = client.post(f"/groups/{group.pk}/members/{third.pk}/remove/")
    assert response.status_code == 302
    assert not Membership.objects.filter(group=group, user=third).exists()
    client.post(f"/groups/{group.pk}/members/{other_user.pk}/owner/")
    assert Membership.objects.get(group=group, role=Role.OWNER).user == other_user
    # No longer the owner: removing is refused (403), and nothing changes.
    assert client.post(f"/groups/{group.pk}/members/{other_user.pk}/remove/").status_code == 403
    assert Membership.objects.filter(group=group).count() == 2


def test_a_member_cannot_remove_others(user, other_user) -> None:
    group = make_group(user, other_user)
    response = _client(other_user).post(f"/groups/{group.pk}/members/{user.pk}/remove/")
    assert response.status_code == 403
    assert Membership.objects.filter(group=group).count() == 2


def test_leaving_goes_back_to_my_groups_and_the_page_is_gone(user, other_user) -> None:
    group = make_group(user, other_user, name="Band")
    client = _client(other_user)
    response = client.post(f"/groups/{group.pk}/leave/", follow=True)
    assert response.redirect_chain[-1][0] == "/groups/"
    assert "You left “Band”." in _messages(response)
    assert client.get(f"/groups/{group.pk}/").status_code == 404


def test_invitation_link_created_shown_with_copy_button_and_revoked(user) -> None:
    group = make_group(user)
    client = _client(user)
    response = client.post(f"/groups/{group.pk}/invites/link/")
    assert response.status_code == 302
    invite = Invite.objects.get(group=group)
    page = client.get(f"/groups/{group.pk}/").content.decode()
    assert f'value="http://testserver/groups/join/{invite.token}/"' in page or f"/groups/join/{invite.token}/" in page
    assert f'data-copy="invite-{invite.pk}"' in page
    client.post(f"/groups/{group.pk}/invites/{invite.pk}/revoke/")
    invite.refresh_from_db()
    assert invite.revoked_at is not None
    assert invite.token not in client.get(f"/groups/{group.pk}/").content.decode()


def test_invite_by_email_with_a_bad_address_shows_the_error_next_to_the_field(user) -> None:
    group = make_group(user)
    response = _client(user).post(f"/groups/{group.pk}/invites/email/", {"email": "not an address"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_email_error"' in html
    assert "Enter a valid email address." in html
    assert not Invite.objects.exists()


def test_invite_by_email_makes_an_invitation_and_asks_for_its_email(user) -> None:
    from apps.notifications.models import Notification

    group = make_group(user)
    response = _client(user).post(f"/groups/{group.pk}/invites/email/", {"email": "friend@example.com"}, follow=True)
    assert "Invitation sent to friend@example.com." in _messages(response)
    invite = Invite.objects.get(group=group, email="friend@example.com", revoked_at__isnull=True)
    assert Notification.objects.filter(idempotency_key=f"group-invite:{invite.pk}").count() == 1


def test_sharing_pause_and_resume(user, other_user) -> None:
    group = make_group(user, other_user)
    client = _client(other_user)
    client.post(f"/groups/{group.pk}/sharing/", {"paused": "1"})
    assert Membership.objects.get(group=group, user=other_user).sharing_paused
    page = _text(client.get(f"/groups/{group.pk}/").content)
    assert "Your sharing is paused" in page
    assert "1 of 2 members sharing" in page
    client.post(f"/groups/{group.pk}/sharing/", {"paused": "0"})
    assert not Membership.objects.get(group=group, user=other_user).sharing_paused


# --- The heat map -----------------------------------------------------------------------------------------------


def _cells(html: str, hour: str) -> list[str]:
    row = re.search(rf'<th scope="row">{hour}</th>(.*?)</tr>', html, re.S)
    assert row is not None, hour
    return re.findall(r'<span class="visually-hidden">([^<]+)</span>', row.group(1))


def test_heat_map_counts_free_members_per_hour_and_never_shows_plan_titles(
    user, other_user, before_the_weekend
) -> None:
    _in_berlin(user, other_user)
    _busy(other_user, "Therapy appointment", _saturday().replace(hour=14), 120)
    group = make_group(user, other_user)
    response = _client(user).get(f"/groups/{group.pk}/")
    html = response.content.decode()
    assert "Therapy appointment" not in html
    assert _cells(html, "13:00") == ["2 of 2 free", "2 of 2 free"]
    assert _cells(html, "14:00") == ["1 of 2 free", "2 of 2 free"]
    assert _cells(html, "15:00") == ["1 of 2 free", "2 of 2 free"]
    assert "Everyone free: Sun 08:00–23:00" in html
    assert "Everyone free: Sat 08:00–14:00" in html
    assert "times in Europe/Berlin" in _text(response.content)


def test_on_a_saturday_evening_only_what_is_left_of_the_weekend_is_proposed(
    user, other_user, before_the_weekend
) -> None:
    _in_berlin(user, other_user)
    saturday = _saturday()
    before_the_weekend.move_to(saturday.replace(hour=19, minute=30, tzinfo=ZoneInfo(BERLIN)))
    group = make_group(user, other_user)
    html = _client(user).get(f"/groups/{group.pk}/").content.decode()
    assert "Everyone free: Sat 19:30–23:00" in html
    assert "Everyone free: Sun 08:00–23:00" in html
    assert "Sat 08:00" not in html  # the morning is over
    assert _cells(html, "08:00") == ["2 of 2 free", "2 of 2 free"]  # the grid still shows the whole weekend


def test_night_hours_are_hidden_until_asked_for(user) -> None:
    group = make_group(user)
    client = _client(user)
    hidden = client.get(f"/groups/{group.pk}/").content.decode()
    assert '<th scope="row">03:00</th>' not in hidden
    assert '<th scope="row">08:00</th>' in hidden
    assert "Show night hours" in hidden
    shown = client.get(f"/groups/{group.pk}/?night=1").content.decode()
    assert '<th scope="row">03:00</th>' in shown
    assert "Hide night hours" in shown


def test_next_weekend_is_offered(user) -> None:
    _in_berlin(user)
    group = make_group(user)
    html = _client(user).get(f"/groups/{group.pk}/?weekend=next").content.decode()
    assert "Everyone free: Sat 08:00–23:00" in html
    assert f"Sat {_saturday('next').day}" in html


def test_paused_member_is_not_counted(user, other_user) -> None:
    _in_berlin(user, other_user)
    _busy(other_user, "Dentist", _saturday().replace(hour=10), 60)
    group = make_group(user, other_user)
    Membership.objects.filter(user=other_user).update(sharing_paused=True)
    html = _client(user).get(f"/groups/{group.pk}/").content.decode()
    assert _cells(html, "10:00") == ["1 of 1 free", "1 of 1 free"]


# --- Join by link -----------------------------------------------------------------------------------------------


def _invite(group: Group, by: User, **fields) -> Invite:  # type: ignore[no-untyped-def]
    fields.setdefault("expires_at", timezone.now() + timedelta(days=7))
    return Invite.objects.create(group=group, created_by=by, **fields)


def test_join_page_shows_group_and_inviter_and_joins(user, other_user) -> None:
    Profile.objects.filter(user=user).update(display_name="Ada")
    group = make_group(user, name="Climbers")
    invite = _invite(group, user)
    client = _client(other_user)
    page = client.get(f"/groups/join/{invite.token}/")
    assert page.status_code == 200
    text = _text(page.content)
    assert "Join “Climbers”" in text
    assert "Ada invites you" in text
    response = client.post(f"/groups/join/{invite.token}/")
    assert response.status_code == 302
    assert response["Location"] == f"/groups/{group.pk}/"
    assert Membership.objects.get(group=group, user=other_user).role == Role.MEMBER
    again = _text(client.get(f"/groups/join/{invite.token}/").content)
    assert "You are already a member." in again


def test_anonymous_visitor_is_offered_log_in_and_sign_up_that_come_back(client: Client, user) -> None:
    group = make_group(user, name="Climbers")
    invite = _invite(group, user)
    html = client.get(f"/groups/join/{invite.token}/").content.decode()
    back = f"next=/groups/join/{invite.token}/"
    assert f'href="/accounts/login/?{back}"' in html
    assert f'href="/accounts/signup/?{back}"' in html
    response = client.post(f"/groups/join/{invite.token}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert Membership.objects.filter(group=group).count() == 1


@pytest.mark.parametrize("state", ["expired", "revoked", "unknown"])
def test_unusable_link_says_so_without_group_details(client: Client, user, other_user, state: str) -> None:
    group = make_group(user, name="Climbers")
    now = timezone.now()
    expires = now - timedelta(minutes=1) if state == "expired" else now + timedelta(days=1)
    invite = _invite(group, user, expires_at=expires, revoked_at=now if state == "revoked" else None)
    token = "no-such-token" if state == "unknown" else invite.token
    for who in (client, _client(other_user)):
        response = who.get(f"/groups/join/{token}/")
        assert response.status_code == 404
        assert b"This invitation link does not work" in response.content
        assert b"Climbers" not in response.content
        assert who.post(f"/groups/join/{token}/").status_code in (302, 404)
    assert not Membership.objects.filter(group=group, user=other_user).exists()


def test_signing_up_from_an_invitation_comes_back_to_it_and_joins(client: Client, user) -> None:
    group = make_group(user, name="Climbers")
    invite = _invite(group, user)
    back = f"/groups/join/{invite.token}/"
    response = client.post(
        f"/accounts/signup/?next={back}",
        {"email": "new@example.test", "password1": "a-long-passphrase-1", "password2": "a-long-passphrase-1"},
    )
    assert response.status_code == 302
    assert response["Location"] == back
    assert "Join “Climbers”" in _text(client.get(back).content)
    client.post(back)
    assert Membership.objects.filter(group=group, user__email="new@example.test").exists()
