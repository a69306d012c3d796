"""What groups hold about a person, for the account export and deletion.

The export is what the person did and said in their groups (memberships, the links they made, their polls and
votes, their answers, the plans they organised), never another member's data beyond the group's own name.
Deleting the account leaves every group the way leaving it would (apps.groups.services.groups.member_leave): an
owner hands the group to the member who joined first, and a group left empty is deleted. A bare ON DELETE CASCADE
would leave ownerless groups behind. The address the person was invited at is blanked on the invitations.
"""

from typing import Any

from apps.groups.models import Attendance, GroupPlan, Invite, Membership, Poll, Vote
from apps.groups.services import groups as group_services
from apps.users.models import User


def _moment(value: Any) -> str | None:
    return value.isoformat() if value else None


def export(user: User) -> dict[str, list[dict[str, Any]]]:
    return {
        "memberships": [
            {
                "group_id": m.group_id,
                "group": m.group.name,
                "role": m.role,
                "sharing_paused": m.sharing_paused,
                "joined_at": _moment(m.joined_at),
            }
            for m in Membership.objects.filter(user=user).select_related("group").order_by("joined_at", "pk")
        ],
        # Never the token: a link that still works is a key to the group.
        "invitations_made": [
            {
                "group_id": i.group_id,
                "email": i.email,
                "created_at": _moment(i.created_at),
                "expires_at": _moment(i.expires_at),
                "revoked_at": _moment(i.revoked_at),
            }
            for i in Invite.objects.filter(created_by=user).order_by("created_at", "pk")
        ],
        "polls_proposed": [
            {
                "id": p.pk,
                "group_id": p.group_id,
                "question": p.question,
                "status": p.status,
                "created_at": _moment(p.created_at),
            }
            for p in Poll.objects.filter(created_by=user).order_by("created_at", "pk")
        ],
        "votes": [
            {"poll_id": v.option.poll_id, "option_id": v.option_id, "option": v.option.label, "choice": v.choice}
            for v in Vote.objects.filter(user=user).select_related("option").order_by("option__poll_id", "option_id")
        ],
        "group_plans_organized": [
            {
                "id": p.pk,
                "group_id": p.group_id,
                "title": p.title,
                "start": _moment(p.start_utc),
                "end": _moment(p.end_utc),
                "status": p.status,
            }
            for p in GroupPlan.objects.filter(organizer=user).order_by("start_utc", "pk")
        ],
        "answers": [
            {
                "group_plan_id": a.group_plan_id,
                "title": a.group_plan.title,
                "answer": a.answer,
                "answered_at": _moment(a.answered_at),
            }
            for a in Attendance.objects.filter(user=user).select_related("group_plan").order_by("group_plan_id")
        ],
    }


def erase(user: User) -> None:
    for membership in Membership.objects.filter(user=user).select_related("group"):
        group_services.member_leave(group=membership.group, user=user)
    Invite.objects.filter(email__iexact=user.email).update(email="")
