"""What notifications hold about a person, for the account export and deletion: their email settings and the
emails we stored for them (kind, what they were rendered from, when and how they went). Their rows go with the
account (ON DELETE CASCADE); emails stored for their address before they had an account (an invitation) are
deleted with it too.
"""

from typing import Any

from apps.notifications.models import Notification, Preferences
from apps.users.models import User


def export(user: User) -> dict[str, Any]:
    prefs = Preferences.objects.filter(user=user).first()
    return {
        "preferences": None
        if prefs is None
        else {
            "reminder_minutes": prefs.reminder_minutes,
            "weekly_digest": prefs.weekly_digest,
            "group_invitations": prefs.group_invitations,
            "poll_updates": prefs.poll_updates,
            "group_plan_updates": prefs.group_plan_updates,
            "bounced_at": prefs.bounced_at.isoformat() if prefs.bounced_at else None,
        },
        "emails": [
            {
                "kind": n.kind,
                "to": n.to_address,
                "status": n.status,
                "context": n.context,
                "created_at": n.created_at.isoformat(),
                "sent_at": n.sent_at.isoformat() if n.sent_at else None,
            }
            for n in Notification.objects.filter(user=user).order_by("created_at", "pk")
        ],
    }


def erase(user: User) -> None:
    Notification.objects.filter(user__isnull=True, to_address__iexact=user.email).delete()
