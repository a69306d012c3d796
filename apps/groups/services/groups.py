"""Writes of groups and memberships. Rules (docs/groups.md):

- whoever creates a group is its owner; every other member is a member; there is always exactly one owner while
  the group has members (a partial unique index holds "at most one"; these services hold "at least one");
- leaving is always allowed; an owner who leaves hands ownership to the member who joined first;
- the owner may remove members and hand ownership over;
- a group with no members left is deleted.

Every change of membership locks the group row first (select_for_update), so two people joining, leaving or
handing over at once run one after the other: never two owners, never an ownerless group with members.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404

from apps.groups.models import Group, Membership, Role
from apps.users.models import User

EDITABLE = ("name", "description", "meeting_point", "meeting_lat", "meeting_lon")


class NotAMember(Exception):
    """The person named is not a member of the group."""


def lock(group: Group) -> Group:
    """The group's row, locked until the transaction ends (SQLite locks the whole database on write anyway).
    Raises Group.DoesNotExist when it was deleted in the meantime."""
    return Group.objects.select_for_update().get(pk=group.pk)


def _locked_or_404(group: Group) -> Group:
    try:
        return lock(group)
    except Group.DoesNotExist:
        raise Http404("No such group.") from None


@transaction.atomic
def group_create(
    *,
    owner: User,
    name: str,
    description: str = "",
    meeting_point: str = "",
    meeting_lat: float | None = None,
    meeting_lon: float | None = None,
) -> Group:
    group = Group(
        name=name, description=description, meeting_point=meeting_point, meeting_lat=meeting_lat,
        meeting_lon=meeting_lon,
    )  # fmt: skip
    _check(group)
    group.save()
    Membership.objects.create(group=group, user=owner, role=Role.OWNER)
    return group


@transaction.atomic
def group_update(*, group: Group, data: dict[str, Any]) -> Group:
    """Changes the EDITABLE fields given in `data`; a meeting point's lat and lon go together (400 naming them)."""
    unknown = set(data) - set(EDITABLE)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    for name, value in data.items():
        setattr(group, name, value)
    _check(group)
    group.save()
    return group


def _check(group: Group) -> None:
    """The model's rules, with the lat/lon pairing named by the field that is missing (ValidationError: a 400)."""
    if (group.meeting_lat is None) != (group.meeting_lon is None):
        missing = "meeting_lon" if group.meeting_lon is None else "meeting_lat"
        raise ValidationError({missing: ["Give meeting_lat and meeting_lon together (or both null)."]})
    group.full_clean()


@transaction.atomic
def group_delete(*, group: Group) -> None:
    group.delete()  # memberships, invites, polls and group plans go with it (CASCADE)


@transaction.atomic
def member_leave(*, group: Group, user: User) -> Group | None:
    """The person leaves. None when nobody is left (the group was deleted); an owner leaving hands ownership to
    the member who joined first. Leaving a group one is not in is a no-op."""
    try:
        group = lock(group)
    except Group.DoesNotExist:  # its last member left in the meantime: nothing left to leave
        return None
    membership = Membership.objects.filter(group=group, user=user).first()
    if membership is None:
        return group
    membership.delete()
    heir = Membership.objects.filter(group=group).order_by("joined_at", "pk").first()
    if heir is None:
        group.delete()
        return None
    if membership.role == Role.OWNER:
        heir.role = Role.OWNER
        heir.save(update_fields=["role"])
    return group


@transaction.atomic
def member_remove(*, group: Group, user_id: int) -> None:
    """The owner removes a member (the caller checks that the caller is the owner). Removing oneself is leaving."""
    group = _locked_or_404(group)
    membership = Membership.objects.filter(group=group, user_id=user_id).select_related("user").first()
    if membership is None:
        raise Http404("No such member.")
    member_leave(group=group, user=membership.user)


@transaction.atomic
def ownership_transfer(*, group: Group, to_user_id: int) -> None:
    """The owner hands ownership to another member, and becomes a member. Raises NotAMember."""
    group = _locked_or_404(group)
    target = Membership.objects.filter(group=group, user_id=to_user_id).first()
    if target is None:
        raise NotAMember(f"User {to_user_id} is not a member of this group.")
    if target.role == Role.OWNER:
        return
    # The partial unique index allows one owner at a time: demote first, then promote.
    Membership.objects.filter(group=group, role=Role.OWNER).update(role=Role.MEMBER)
    target.role = Role.OWNER
    target.save(update_fields=["role"])


@transaction.atomic
def sharing_set(*, membership: Membership, paused: bool) -> Membership:
    """Paused: the person counts as neither free nor busy in this group's availability."""
    membership.sharing_paused = paused
    membership.save(update_fields=["sharing_paused"])
    return membership
