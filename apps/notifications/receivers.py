"""Receivers connected in NotificationsConfig.ready(): lower apps ask for email through
`apps.core.notify.notification_requested` (they may not import notifications)."""

from typing import Any

from apps.notifications import services
from apps.users.models import User


def on_notification_requested(
    sender: Any, *, kind: str, key: str, context: dict[str, Any] | None = None, **kwargs: Any
) -> None:
    user_id = kwargs.get("user_id")
    user = User.objects.filter(pk=user_id).select_related("profile").first() if user_id is not None else None
    if user_id is not None and user is None:
        return  # the person was deleted since: nobody to tell
    services.notify(kind=kind, key=key, context=context or {}, user=user, to_address=kwargs.get("to_address", "") or "")
