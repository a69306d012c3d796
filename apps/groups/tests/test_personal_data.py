"""The account export shows what a person did in their groups, and deleting the account leaves each group as
leaving it would: never an ownerless group, never an empty one."""

import json
from datetime import timedelta

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from apps.groups.models import Group, Invite, Membership, Role
from apps.groups.services import invites as invite_services
from apps.groups.services import plans as plan_services
from apps.groups.services import polls as poll_services
from apps.groups.tests.poll_factories import SATURDAY, make_group, window
from apps.notifications.models import Kind, Notification
from apps.notifications.services import notify
from apps.users import services as user_services
from apps.users.personal_data import sections
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _export(user) -> dict:  # type: ignore[no-untyped-def]
    return {section.name: section.export(user) for section in sections()}


def test_the_export_holds_the_persons_groups_links_polls_votes_and_answers_but_no_token(user, other_user) -> None:
    group = make_group(user, other_user)
    invite = invite_services.invite_create(group=group, by=user, email="friend@example.test")
    poll = poll_services.poll_create(group=group, by=user, question="When?", options=[window(), window(4)])
    option = poll.options.first()
    assert option is not None
    poll_services.vote_cast(poll=poll, user=user, option_id=option.pk, choice="yes")
    end = SATURDAY + timedelta(hours=2)
    plan = plan_services.group_plan_create(group=group, by=user, title="Picnic", start_utc=SATURDAY, end_utc=end)
    plan_services.attendance_answer(group_plan=plan, user=user, answer="accepted")

    exported = _export(user)
    mine = exported["groups"]
    assert [(m["group"], m["role"]) for m in mine["memberships"]] == [("Climbing crew", "owner")]
    assert [i["email"] for i in mine["invitations_made"]] == ["friend@example.test"]
    assert [p["question"] for p in mine["polls_proposed"]] == ["When?"]
    assert [(v["option_id"], v["choice"]) for v in mine["votes"]] == [(option.pk, "yes")]
    assert [(a["title"], a["answer"]) for a in mine["answers"]] == [("Picnic", "accepted")]
    assert [p["title"] for p in mine["group_plans_organized"]] == ["Picnic"]
    text = json.dumps(exported, cls=DjangoJSONEncoder)
    assert invite.token not in text
    # Nothing about the other member in the groups section (the group plan's emails to the person name the attendees,
    # as the invitation itself did).
    assert other_user.email not in json.dumps(mine, cls=DjangoJSONEncoder)
    assert {e["to"] for e in exported["notifications"]["emails"]} <= {user.email}


def test_an_owner_deleting_the_account_hands_the_group_on_and_a_last_member_takes_it_with_them(
    user, other_user
) -> None:
    shared = make_group(user, other_user)
    alone = make_group(user, name="Just me")
    third = UserFactory()
    Membership.objects.create(group=shared, user=third, role=Role.MEMBER)

    user_services.user_delete(user=user)

    assert not Group.objects.filter(pk=alone.pk).exists()
    assert Membership.objects.get(group=shared, role=Role.OWNER).user == other_user  # the member who joined first
    assert Membership.objects.filter(group=shared).count() == 2


def test_deleting_the_account_forgets_the_address_it_was_invited_and_mailed_at(user, other_user) -> None:
    group = make_group(other_user)
    invite = invite_services.invite_create(group=group, by=other_user, email=user.email.upper())
    notify(
        kind=Kind.GROUP_INVITATION, key="test-invite", to_address=user.email, context={"group_name": "x", "url": "u"}
    )
    assert Notification.objects.filter(user__isnull=True, to_address__iexact=user.email).exists()

    user_services.user_delete(user=user)

    invite.refresh_from_db()
    assert invite.email == ""
    assert Invite.objects.filter(pk=invite.pk).exists()  # the link itself is the inviter's
    assert not Notification.objects.filter(to_address__iexact=user.email).exists()
