"""Reads of notifications for views, tasks and other apps."""

from datetime import date

from django.db.models import CharField, Exists, OuterRef, Q, Value
from django.db.models.functions import Cast, Concat

from apps.notifications.models import Notification
from apps.users.models import Profile, User


def digest_timezones() -> list[str]:
    """The zones people live in (a few hundred at most, read from the profiles)."""
    return list(Profile.objects.order_by().values_list("timezone", flat=True).distinct())


def digest_recipients(*, timezone: str, saturday: date, after_id: int = 0, limit: int = 200) -> list[int]:
    """Ids (ascending, after `after_id`) of the people in `timezone` who want the weekly digest, whose address has
    not bounced, and who have no digest for the weekend of `saturday` yet. No preferences row means the defaults
    (digest on, no bounce). Portable ORM only: the embedded SQLite default runs it too."""
    key = Concat(Value("digest:"), Cast(OuterRef("pk"), CharField()), Value(f":{saturday.isoformat()}"))
    already = Notification.objects.filter(idempotency_key=key)
    wanted = Q(notification_prefs__isnull=True) | Q(
        notification_prefs__weekly_digest=True, notification_prefs__bounced_at__isnull=True
    )
    people = (
        User.objects.filter(wanted, is_active=True, profile__timezone=timezone, pk__gt=after_id)
        .exclude(email="")
        .filter(~Exists(already))
        .order_by("pk")
    )
    return list(people.values_list("pk", flat=True)[:limit])
