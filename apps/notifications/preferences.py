"""Writes of a person's email preferences: the settings page and API, one-click unsubscribe, and confirming an
address that bounced. (Reading them, and creating the row on first use, is services.preferences_for.)"""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.notifications import services
from apps.notifications.models import Kind, Notification, Preferences
from apps.notifications.unsubscribe import BadToken, Unsubscription, confirm_url, read_confirm_token
from apps.users.models import User

EDITABLE = ("reminder_minutes", "weekly_digest", "group_invitations", "poll_updates", "group_plan_updates")
# One confirmation email per person per this many seconds, however often the button is pressed.
CONFIRMATION_INTERVAL_SECONDS = 600


@transaction.atomic
def preferences_update(*, user: User, data: dict[str, Any]) -> Preferences:
    prefs = services.preferences_for(user=user)
    prefs = Preferences.objects.select_for_update().get(pk=prefs.pk)
    changed = [name for name in EDITABLE if name in data and getattr(prefs, name) != data[name]]
    for name in changed:
        setattr(prefs, name, data[name])
    if changed:
        prefs.save(update_fields=[*changed, "updated_at"])
    return prefs


@transaction.atomic
def unsubscribe_apply(*, unsubscription: Unsubscription) -> Preferences | None:
    """Turns the token's kind of email off; None when the person no longer exists. Safe to repeat."""
    user = User.objects.filter(pk=unsubscription.user_id).first()
    if user is None:
        return None
    off: Any = None if unsubscription.preference == "reminder_minutes" else False
    return preferences_update(user=user, data={unsubscription.preference: off})


def address_confirmation_request(*, user: User, now: datetime | None = None) -> Notification:
    """Sends the person a link that proves their address receives mail again (it is sent even though the address
    bounced: that is the point). Pressing the button twice in ten minutes sends one email."""
    now = now or timezone.now()
    bucket = int(now.timestamp()) // CONFIRMATION_INTERVAL_SECONDS
    return services.notify(
        kind=Kind.ADDRESS_CONFIRMATION,
        key=f"address-confirm:{user.pk}:{bucket}",
        context={"url": confirm_url(user_id=user.pk, email=user.email)},
        user=user,
        to_address=user.email,
        now=now,
    )


class ConfirmationInvalid(Exception):
    """A forged or expired link, or one sent to an address the person no longer has."""


@transaction.atomic
def address_confirm(*, token: str) -> User:
    """Clears the bounce the token's person had, so email flows again."""
    try:
        user_id, email = read_confirm_token(token)
    except BadToken as exc:
        raise ConfirmationInvalid(str(exc)) from exc
    user = User.objects.filter(pk=user_id).first()
    if user is None or user.email.lower() != email:
        raise ConfirmationInvalid("the link was sent to another address")
    prefs = services.preferences_for(user=user)
    Preferences.objects.filter(pk=prefs.pk).update(bounced_at=None, bounce_reason="", updated_at=timezone.now())
    return user
