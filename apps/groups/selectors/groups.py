"""Reads of groups, their members and invitations. Everything here is scoped to members: a person who is not a
member of a group cannot tell it exists (group_of raises Http404)."""

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import Http404

from apps.groups.models import Group, Invite, Membership, Role
from apps.users.models import User


def _with_caller(groups: QuerySet[Group], user: User) -> QuerySet[Group]:
    """Each group with the caller's `role` and its `member_count` (two annotations, no extra queries)."""
    role = Membership.objects.filter(group=OuterRef("pk"), user=user).values("role")[:1]
    counts = Membership.objects.filter(group=OuterRef("pk")).order_by().values("group")
    member_count = counts.annotate(n=Count("pk")).values("n")[:1]
    return groups.annotate(role=Subquery(role), member_count=Subquery(member_count))


def groups_of(*, user: User) -> QuerySet[Group]:
    """The groups the person belongs to, newest first, each with `role` and `member_count`."""
    return _with_caller(Group.objects.filter(memberships__user=user), user).order_by("-pk")


def group_of(*, user: User, group_id: int) -> Group:
    """The group if the person is a member (with `role` and `member_count`); else Http404, as if it did not exist."""
    group = _with_caller(Group.objects.filter(pk=group_id, memberships__user=user), user).first()
    if group is None:
        raise Http404("No such group.")
    return group


def membership_of(*, user: User, group: Group) -> Membership:
    try:
        return Membership.objects.select_related("user").get(group=group, user=user)
    except Membership.DoesNotExist:
        raise Http404("No such group.") from None


def members_of(*, group: Group) -> QuerySet[Membership]:
    """The memberships with their users and profiles: the owner first, then by who joined first."""
    # "-role": "owner" sorts after "member", so descending puts the one owner first.
    return (
        Membership.objects.filter(group=group)
        .select_related("user", "user__profile")
        .order_by("-role", "joined_at", "pk")
    )


def invites_of(*, group: Group, created_by: User | None = None) -> QuerySet[Invite]:
    """The group's invitations, newest first (revoked and expired ones too: their state is shown); only those
    `created_by` someone when given."""
    invites = Invite.objects.filter(group=group).order_by("-pk")
    if created_by is not None:
        invites = invites.filter(created_by=created_by)
    return invites


def invite_of(*, group: Group, invite_id: int) -> Invite:
    try:
        return Invite.objects.get(group=group, pk=invite_id)
    except Invite.DoesNotExist:
        raise Http404("No such invitation.") from None


def invite_by_token(*, token: str) -> Invite | None:
    return Invite.objects.select_related("group").filter(token=token).first()


def is_owner(*, user: User, group: Group) -> bool:
    return Membership.objects.filter(group=group, user=user, role=Role.OWNER).exists()


def display_name(user: User) -> str:
    """What other members see of a person: their profile's display name, else the part of the email before @."""
    profile = getattr(user, "profile", None)
    name = profile.display_name.strip() if profile is not None else ""
    return name or user.email.split("@", 1)[0]
