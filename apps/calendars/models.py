"""A person's calendars and plans: their own entries and events saved from the catalogue, with recurrence.

Times are stored as the person wrote them: a zoned plan keeps its local wall-clock start and end plus its
IANA zone (so "every Saturday 10:00 Europe/Berlin" stays at 10:00 across DST), and the UTC instants of its
first occurrence for ordering; an all-day plan keeps dates. Recurrence is iCalendar's own text (RRULE,
RDATE, EXDATE), so nothing is lost between import and export.
"""

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.encryption import EncryptedTextField
from apps.core.fields import WallClockDateTimeField
from apps.core.validators import validate_latitude, validate_longitude, validate_timezone
from apps.events.models import Event


def new_feed_token() -> str:
    return secrets.token_urlsafe(32)


class Calendar(models.Model):
    # Not indexed alone: calendar_owner_name_idx leads with it.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendars", db_index=False
    )
    name = models.CharField(max_length=200)
    color = models.CharField(max_length=7, default="#1d5fd1")
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    is_default = models.BooleanField(default=False)
    # The private feed URL's secret (/feeds/<token>.ics): revocable and regenerable.
    feed_token = models.CharField(max_length=64, unique=True, null=True, blank=True, default=new_feed_token)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner"], condition=Q(is_default=True), name="calendar_one_default_per_owner"
            ),
            models.CheckConstraint(condition=Q(color__regex=r"^#[0-9a-fA-F]{6}$"), name="calendar_color_hex"),
        ]
        indexes = [models.Index(fields=["owner", "name"], name="calendar_owner_name_idx")]

    def __str__(self) -> str:
        return self.name


class PlanStatus(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed"
    TENTATIVE = "tentative", "Tentative"
    CANCELLED = "cancelled", "Cancelled"


class PlanOrigin(models.TextChoices):
    MANUAL = "manual", "Written here"
    CATALOGUE = "catalogue", "Saved from the catalogue"
    IMPORTED = "imported", "Imported"


class Plan(models.Model):
    # Not indexed alone: plan_calendar_start_idx and four more indexes lead with it.
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="plans", db_index=False)
    title = models.CharField(max_length=500)
    notes = models.TextField(blank=True)
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    all_day = models.BooleanField(default=False)
    # Zoned plans: local wall-clock times in `timezone`, and the UTC instants of the first occurrence.
    start_local = WallClockDateTimeField(null=True, blank=True, help_text="Wall-clock time in the plan's zone")
    end_local = WallClockDateTimeField(null=True, blank=True)
    start_utc = models.DateTimeField(null=True, blank=True)
    end_utc = models.DateTimeField(null=True, blank=True)
    # All-day plans: dates, the end exclusive as in iCalendar.
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    # Recurrence in iCalendar text: "FREQ=WEEKLY;BYDAY=SA;COUNT=10", RDATE/EXDATE values as ISO strings.
    rrule = models.CharField(max_length=500, blank=True)
    rdates = models.JSONField(default=list, blank=True)
    exdates = models.JSONField(default=list, blank=True)
    # The earliest possible start and the last possible end of the series in UTC (None: unbounded), moved
    # occurrences included, so window queries skip the series that cannot reach them.
    series_start_utc = models.DateTimeField(null=True, blank=True)
    series_end_utc = models.DateTimeField(null=True, blank=True)
    location = models.CharField(max_length=500, blank=True)
    lat = models.FloatField(null=True, blank=True, validators=[validate_latitude])
    lon = models.FloatField(null=True, blank=True, validators=[validate_longitude])
    # Indexed by plan_event_idx below, not twice.
    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="plans", db_index=False
    )
    status = models.CharField(max_length=10, choices=PlanStatus.choices, default=PlanStatus.CONFIRMED)
    origin = models.CharField(max_length=10, choices=PlanOrigin.choices, default=PlanOrigin.MANUAL)
    ical_uid = models.CharField(max_length=500)
    sequence = models.PositiveIntegerField(default=0)
    # Set when something outside the person's hands changed the plan (the event was cancelled or moved).
    attention = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["calendar", "ical_uid"], name="plan_uid_unique_per_calendar"),
            models.CheckConstraint(
                condition=(
                    Q(all_day=True, start_date__isnull=False, end_date__isnull=False)
                    | Q(
                        all_day=False,
                        start_local__isnull=False,
                        end_local__isnull=False,
                        start_utc__isnull=False,
                        end_utc__isnull=False,
                    )
                ),
                name="plan_times_match_kind",
            ),
            models.CheckConstraint(
                condition=Q(end_utc__isnull=True) | Q(end_utc__gte=models.F("start_utc")), name="plan_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gt=models.F("start_date")),
                name="plan_all_day_end_after_start",
            ),
            models.CheckConstraint(
                condition=Q(lat__isnull=True, lon__isnull=True) | Q(lat__isnull=False, lon__isnull=False),
                name="plan_lat_lon_together",
            ),
        ]
        indexes = [
            models.Index(fields=["calendar", "start_utc"], name="plan_calendar_start_idx"),
            models.Index(fields=["calendar", "series_start_utc"], name="plan_calendar_series_start_idx"),
            models.Index(fields=["calendar", "series_end_utc"], name="plan_calendar_series_end_idx"),
            models.Index(fields=["event"], name="plan_event_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class PlanOverride(models.Model):
    """One occurrence of a series moved or cancelled, keyed by its RECURRENCE-ID (the original start)."""

    # Not indexed alone: override_unique_recurrence_id leads with it.
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="overrides", db_index=False)
    # The occurrence's original start: a naive local date-time in the plan's zone, or a date for all-day.
    recurrence_id = models.CharField(max_length=32)
    cancelled = models.BooleanField(default=False)
    title = models.CharField(max_length=500, blank=True)
    start_local = WallClockDateTimeField(null=True, blank=True)
    end_local = WallClockDateTimeField(null=True, blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=PlanStatus.choices, blank=True)
    # RECURRENCE-ID;RANGE=THISANDFUTURE: the change also moves, resizes and restates every later occurrence.
    this_and_future = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["plan", "recurrence_id"], name="override_unique_recurrence_id")]

    def __str__(self) -> str:
        return f"{self.plan} @ {self.recurrence_id}"


class Subscription(models.Model):
    """An iCalendar URL refreshed into a calendar by a Celery task, with conditional requests.

    A private subscription URL is a secret (it carries the access token of someone's calendar), so it is
    encrypted at rest; `url_hash` (SHA-256 of the URL) is what uniqueness and look-ups use instead.
    """

    # Not indexed alone: subscription_unique_url_hash leads with it.
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="subscriptions", db_index=False)
    url = EncryptedTextField()
    url_hash = models.CharField(max_length=64, editable=False)
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    last_fetched_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    interval_minutes = models.PositiveIntegerField(default=60)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["calendar", "url_hash"], name="subscription_unique_url_hash")]

    def __str__(self) -> str:
        return f"Subscription {self.pk} of {self.calendar_id}"  # never the URL: it is a secret

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.url_hash = self.hash_url(self.url)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "url" in update_fields and "url_hash" not in update_fields:
            kwargs["update_fields"] = [*update_fields, "url_hash"]
        super().save(*args, **kwargs)

    @staticmethod
    def hash_url(url: str) -> str:
        return hashlib.sha256(url.encode("utf-8")).hexdigest()
