"""Receivers connected in NotificationsConfig.ready(): lower apps ask for email through
`apps.core.notify.notification_requested` (they may not import notifications), and calendars' writes and the
person's preferences keep the materialised reminders (reminders.py) up to date."""

import threading
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from apps.calendars.models import Calendar, Plan, PlanOverride
from apps.notifications import reminders, services
from apps.notifications.models import Preferences
from apps.users.models import User


def on_notification_requested(
    sender: Any, *, kind: str, key: str, context: dict[str, Any] | None = None, **kwargs: Any
) -> None:
    user_id = kwargs.get("user_id")
    user = User.objects.filter(pk=user_id).select_related("profile").first() if user_id is not None else None
    if user_id is not None and user is None:
        return  # the person was deleted since: nobody to tell
    services.notify(kind=kind, key=key, context=context or {}, user=user, to_address=kwargs.get("to_address", "") or "")


# Keys of refreshes scheduled and not yet run, per thread: an import that saves 500 plans of one calendar in one
# transaction schedules 500 callbacks, and only the first to run refreshes. A rolled-back transaction's callbacks
# never run and leave their keys behind, which costs at most one refresh more later, never one less.
_scheduled = threading.local()


def _pending() -> set[tuple[str, int]]:
    if not hasattr(_scheduled, "keys"):
        _scheduled.keys = set()
    keys: set[tuple[str, int]] = _scheduled.keys
    return keys


def _once_per_commit(key: tuple[str, int], refresh: Callable[[], object]) -> None:
    _pending().add(key)

    def run() -> None:
        if key in _pending():
            _pending().discard(key)
            refresh()

    # Robust: a refresh that fails is logged and never fails the write that was already committed.
    transaction.on_commit(run, robust=True)


def _refresh_owner_of(calendar_id: int) -> None:
    owner_id = Calendar.objects.filter(pk=calendar_id).values_list("owner_id", flat=True).first()
    if owner_id is not None:
        reminders.refresh_users([owner_id])


def on_plan_changed(sender: Any, instance: Plan, **kwargs: Any) -> None:
    """A plan written, moved or removed: its owner's pending reminders are rewritten once the write commits
    (a rolled-back write changes nothing). Bulk `update()`s send no signal; the hourly refresh catches those."""
    calendar_id = instance.calendar_id
    _once_per_commit(("calendar", calendar_id), lambda: _refresh_owner_of(calendar_id))


def on_override_changed(sender: Any, instance: PlanOverride, **kwargs: Any) -> None:
    plan_id = instance.plan_id

    def refresh() -> None:
        calendar_id = Plan.objects.filter(pk=plan_id).values_list("calendar_id", flat=True).first()
        if calendar_id is not None:
            _refresh_owner_of(calendar_id)

    _once_per_commit(("plan", plan_id), refresh)


def on_preferences_changed(sender: Any, instance: Preferences, **kwargs: Any) -> None:
    user_id = instance.user_id
    _once_per_commit(("user", user_id), lambda: reminders.refresh_users([user_id]))


def connect() -> None:
    from apps.core.notify import notification_requested

    notification_requested.connect(on_notification_requested, dispatch_uid="notifications.requested")
    for signal in (post_save, post_delete):
        signal.connect(on_plan_changed, sender=Plan, dispatch_uid=f"notifications.plan.{signal is post_save}")
        signal.connect(
            on_override_changed, sender=PlanOverride, dispatch_uid=f"notifications.override.{signal is post_save}"
        )
    post_save.connect(on_preferences_changed, sender=Preferences, dispatch_uid="notifications.preferences")
