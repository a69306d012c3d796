from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.calendars import services
from apps.events.signals import events_changed
from apps.users.models import User


@receiver(post_save, sender=User, dispatch_uid="calendars.default_calendar_for_new_user")
def create_default_calendar(sender: type[User], instance: User, created: bool, raw: bool = False, **_: Any) -> None:
    if created and not raw:
        services.calendar_ensure_default(owner=instance)


@receiver(events_changed, dispatch_uid="calendars.plans_follow_events")
def plans_follow_events(sender: object, event_ids: list[int], **_: Any) -> None:
    services.plans_follow_events(event_ids=event_ids)
