"""Writes to calendars: create, rename, delete, and their private feed tokens."""

from typing import Any

from django.db import transaction

from apps.calendars.models import Calendar, new_feed_token
from apps.users import selectors as user_selectors
from apps.users.models import User

DEFAULT_CALENDAR_NAME = "My weekend"


# --- Calendars -----------------------------------------------------------------------------------------


@transaction.atomic
def calendar_create(
    *, owner: User, name: str, timezone: str | None = None, color: str | None = None, is_default: bool = False
) -> Calendar:
    if is_default:
        Calendar.objects.filter(owner=owner, is_default=True).update(is_default=False)
    calendar = Calendar(
        owner=owner,
        name=name,
        timezone=timezone or user_selectors.profile_for(user=owner).timezone,
        is_default=is_default or not Calendar.objects.filter(owner=owner).exists(),
    )
    if color:
        calendar.color = color
    calendar.full_clean()
    calendar.save()
    return calendar


def calendar_ensure_default(*, owner: User) -> Calendar:
    """Every person has a default calendar from sign-up on."""
    existing = Calendar.objects.filter(owner=owner, is_default=True).first()
    return existing or calendar_create(owner=owner, name=DEFAULT_CALENDAR_NAME, is_default=True)


@transaction.atomic
def calendar_update(*, calendar: Calendar, data: dict[str, Any]) -> Calendar:
    if data.get("is_default") and not calendar.is_default:
        Calendar.objects.filter(owner=calendar.owner, is_default=True).update(is_default=False)
    elif data.get("is_default") is False and calendar.is_default:
        data = {**data, "is_default": True}  # a person always has one default; choose another to move it
    for name in ("name", "timezone", "color", "is_default"):
        if name in data:
            setattr(calendar, name, data[name])
    calendar.full_clean()
    calendar.save()
    return calendar


@transaction.atomic
def calendar_delete(*, calendar: Calendar) -> None:
    owner, was_default = calendar.owner, calendar.is_default
    calendar.delete()
    if was_default:
        successor = Calendar.objects.filter(owner=owner).order_by("created_at", "pk").first()
        if successor is not None:
            successor.is_default = True
            successor.save(update_fields=["is_default", "updated_at"])


def calendar_feed_regenerate(*, calendar: Calendar) -> Calendar:
    calendar.feed_token = new_feed_token()
    calendar.save(update_fields=["feed_token", "updated_at"])
    return calendar


def calendar_feed_revoke(*, calendar: Calendar) -> Calendar:
    calendar.feed_token = None
    calendar.save(update_fields=["feed_token", "updated_at"])
    return calendar
