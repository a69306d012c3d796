"""Writes to calendars, plans and subscriptions: the only place their state changes. One module each;
callers use `services.<name>` from here."""

from apps.calendars.services.calendars import (
    DEFAULT_CALENDAR_NAME,
    calendar_create,
    calendar_delete,
    calendar_ensure_default,
    calendar_feed_regenerate,
    calendar_feed_revoke,
    calendar_update,
)
from apps.calendars.services.plans import (
    UID_DOMAIN,
    ImportResult,
    PlanConflict,
    PlanInputError,
    new_uid,
    occurrence_change,
    plan_create,
    plan_delete,
    plan_from_event,
    plan_update,
    plans_follow_events,
    plans_import,
)
from apps.calendars.services.subscriptions import (
    MAX_ERROR_LENGTH,
    MAX_SUBSCRIPTIONS_PER_CALENDAR,
    RefreshResult,
    SubscriptionConflict,
    subscription_create,
    subscription_delete,
    subscription_refresh,
)

__all__ = [
    "DEFAULT_CALENDAR_NAME",
    "MAX_ERROR_LENGTH",
    "MAX_SUBSCRIPTIONS_PER_CALENDAR",
    "UID_DOMAIN",
    "ImportResult",
    "PlanConflict",
    "PlanInputError",
    "RefreshResult",
    "SubscriptionConflict",
    "calendar_create",
    "calendar_delete",
    "calendar_ensure_default",
    "calendar_feed_regenerate",
    "calendar_feed_revoke",
    "calendar_update",
    "new_uid",
    "occurrence_change",
    "plan_create",
    "plan_delete",
    "plan_from_event",
    "plan_update",
    "plans_follow_events",
    "plans_import",
    "subscription_create",
    "subscription_delete",
    "subscription_refresh",
]
