"""Invitations: a link with a random token that lets whoever holds it join, until it expires (INVITE_DAYS by
default) or is revoked; with an email address, the link is also emailed (notifications' GROUP_INVITATION).

Who may do what (docs/groups.md): any member may create invitations (the group grows by word of mouth); the owner
may revoke any of them and a member the ones they created. Joining needs an account and a valid link; joining
a group one is already in is fine (nothing changes). An unknown, expired or revoked token is one and the same
InviteInvalid, so a token never tells which groups exist.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.groups.models import INVITE_DAYS, Group, Invite, Membership, Role
from apps.groups.selectors.groups import display_name
from apps.groups.services.groups import lock
from apps.notifications import services as notifications
from apps.notifications.models import Kind
from apps.users.models import User

MAX_INVITE_DAYS = 30


class InviteInvalid(Exception):
    """The token is unknown, expired or revoked (deliberately not saying which)."""


def invite_path(token: str) -> str:
    """The join page's path (the groups pages route it: apps/groups/urls.py must match)."""
    return f"/groups/join/{token}/"


def invite_url(token: str) -> str:
    return f"{settings.SITE_URL}{invite_path(token)}"


def is_usable(invite: Invite, *, now: datetime) -> bool:
    return invite.revoked_at is None and invite.expires_at > now


@transaction.atomic
def invite_create(
    *, group: Group, by: User, email: str = "", days: int = INVITE_DAYS, now: datetime | None = None
) -> Invite:
    if not 1 <= days <= MAX_INVITE_DAYS:
        raise ValueError(f"days must be 1 to {MAX_INVITE_DAYS}")
    now = now or timezone.now()
    invite = Invite.objects.create(group=group, created_by=by, email=email, expires_at=now + timedelta(days=days))
    if email:
        _email(invite, by=by, now=now)
    return invite


def _email(invite: Invite, *, by: User, now: datetime) -> None:
    """Asks notifications for the invitation email (once per invite: the key). A person with an account at that
    address gets it as theirs, so their preferences (opted out of invitations, a bounced address) apply."""
    invitee = User.objects.filter(email__iexact=invite.email).first()
    context: dict[str, object] = {
        "group_name": invite.group.name,
        "inviter_name": display_name(by),
        "url": invite_url(invite.token),
        "expires": invite.expires_at.isoformat(),
    }
    notifications.notify(
        kind=Kind.GROUP_INVITATION,
        key=f"group-invite:{invite.pk}",
        context=context,
        user=invitee,
        to_address=invite.email,
        now=now,
    )


@transaction.atomic
def invite_revoke(*, invite: Invite, now: datetime | None = None) -> None:
    """Revoking twice keeps the first moment."""
    if invite.revoked_at is None:
        invite.revoked_at = now or timezone.now()
        invite.save(update_fields=["revoked_at"])


def invite_join(*, token: str, user: User, now: datetime | None = None) -> Group:
    """The person joins the invite's group as a member (already a member: nothing changes). Raises InviteInvalid."""
    now = now or timezone.now()
    invite = Invite.objects.select_related("group").filter(token=token).first()
    if invite is None or not is_usable(invite, now=now):
        raise InviteInvalid("This invitation link is unknown, expired or revoked.")
    try:
        with transaction.atomic():
            group = lock(invite.group)  # serialised with leaving, so the group cannot vanish under the new member
            Membership.objects.get_or_create(group=group, user=user, defaults={"role": Role.MEMBER})
    except Group.DoesNotExist:  # deleted (its last member left) between the read and the lock
        raise InviteInvalid("This invitation link is unknown, expired or revoked.") from None
    except IntegrityError:  # the same person joining twice at once: the other request made the membership
        pass
    return invite.group
