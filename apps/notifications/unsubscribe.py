"""One-click unsubscribe (RFC 8058) and the address-confirmation link: signed tokens, their URLs and headers.

An unsubscribe token names a person and a kind of email, signed with its own salt (a token of another feature
never passes), and never expires: a person may press "Unsubscribe" in an old email. The confirmation token
carries a timestamp and the address it was sent to, so it stops working after a week or once the address changed.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing
from django.urls import reverse

from apps.notifications.models import Kind

if TYPE_CHECKING:
    from apps.users.models import User

UNSUBSCRIBE_SALT = "apps.notifications.unsubscribe"
CONFIRM_SALT = "apps.notifications.confirm-address"
CONFIRM_MAX_AGE_SECONDS = 7 * 24 * 3600

# The preference each kind of email answers to; kinds not named here (address confirmation) have no opt-out.
PREFERENCE_OF_KIND: dict[str, str] = {
    Kind.REMINDER: "reminder_minutes",
    Kind.DIGEST: "weekly_digest",
    Kind.GROUP_INVITATION: "group_invitations",
    Kind.POLL_OPENED: "poll_updates",
    Kind.POLL_CLOSED: "poll_updates",
    Kind.GROUP_PLAN_CHANGED: "group_plan_updates",
}

# What the unsubscribe page calls each preference: "You will no longer get ...".
DESCRIPTION_OF_PREFERENCE: dict[str, str] = {
    "reminder_minutes": "reminders before your plans",
    "weekly_digest": "the weekly “Your weekend” email",
    "group_invitations": "group invitations",
    "poll_updates": "poll updates from your groups",
    "group_plan_updates": "changes to your groups' plans",
}


def _absolute(path: str) -> str:
    """Links in emails are absolute: a task has no request to take the host from."""
    return f"{settings.SITE_URL}{path}"


class BadToken(Exception):
    """The token was not made by us (tampered, truncated, another salt), or has expired."""


@dataclass(frozen=True)
class Unsubscription:
    user_id: int
    kind: str

    @property
    def preference(self) -> str:
        return PREFERENCE_OF_KIND[self.kind]

    @property
    def description(self) -> str:
        return DESCRIPTION_OF_PREFERENCE[self.preference]


def unsubscribe_token(*, user_id: int, kind: str) -> str:
    if kind not in PREFERENCE_OF_KIND:
        raise ValueError(f"{kind!r} emails have no opt-out")
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object({"u": user_id, "k": kind})


def read_unsubscribe_token(token: str) -> Unsubscription:
    try:
        data = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, UnicodeDecodeError) as exc:
        raise BadToken(str(exc)) from exc
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or data.get("k") not in PREFERENCE_OF_KIND:
        raise BadToken("not an unsubscribe token")
    return Unsubscription(user_id=data["u"], kind=str(data["k"]))


def unsubscribe_url(*, user_id: int, kind: str) -> str:
    path = reverse("notifications-unsubscribe", kwargs={"token": unsubscribe_token(user_id=user_id, kind=kind)})
    return _absolute(path)


def unsubscribe_headers(*, user: "User | None", kind: str) -> dict[str, str]:
    """The RFC 2369 / RFC 8058 headers of an email of `kind` to the person; none for an address without an account
    (an invitation to someone who has not signed up has nothing to turn off) or a kind without an opt-out."""
    if user is None or kind not in PREFERENCE_OF_KIND:
        return {}
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(user_id=user.pk, kind=kind)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def confirm_token(*, user_id: int, email: str) -> str:
    return signing.TimestampSigner(salt=CONFIRM_SALT).sign_object({"u": user_id, "e": email.lower()})


def read_confirm_token(token: str) -> tuple[int, str]:
    """(user id, address) the token was made for; BadToken when forged or older than a week."""
    try:
        data = signing.TimestampSigner(salt=CONFIRM_SALT).unsign_object(token, max_age=CONFIRM_MAX_AGE_SECONDS)
    except (signing.BadSignature, ValueError, UnicodeDecodeError) as exc:
        raise BadToken(str(exc)) from exc
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("e"), str):
        raise BadToken("not a confirmation token")
    return data["u"], data["e"]


def confirm_url(*, user_id: int, email: str) -> str:
    path = reverse("notifications-confirm-address", kwargs={"token": confirm_token(user_id=user_id, email=email)})
    return _absolute(path)


def settings_url() -> str:
    return _absolute(reverse("notification-settings"))


def footer(*, user: "User | None", kind: str, reason: str) -> tuple[dict[str, str], dict[str, str]]:
    """(template values, headers) for the foot of an email of `kind`: why the person gets it, the unsubscribe
    link and the settings link, and the List-Unsubscribe headers naming the same URL."""
    headers = unsubscribe_headers(user=user, kind=kind)
    url = headers.get("List-Unsubscribe", "")[1:-1]
    return {"footer_reason": reason, "unsubscribe_url": url, "settings_url": settings_url()}, headers
