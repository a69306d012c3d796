"""An itinerary: a weekend (or any window) filled with events by the solver, day by day, each stop with its times
and the travel leg that reaches it. A draft until the person accepts stops onto their calendar; drafts expire."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.calendars.models import Plan
from apps.events.models import Event


class ItineraryStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACCEPTED = "accepted", "Accepted"  # some or all stops are plans on the person's calendar


class Pace(models.TextChoices):
    RELAXED = "relaxed", "Relaxed"
    BALANCED = "balanced", "Balanced"
    PACKED = "packed", "Packed"


class Itinerary(models.Model):
    # Not indexed alone: itinerary_owner_newest_idx leads with it.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="itineraries", db_index=False
    )
    status = models.CharField(max_length=10, choices=ItineraryStatus.choices, default=ItineraryStatus.DRAFT)
    # What it was asked for, as the API took it (window in UTC, local day hours, start point, mode, pace, budget,
    # must_include, exclude): replanning asks again with the same.
    request = models.JSONField(default=dict)
    timezone = models.CharField(max_length=64)
    score = models.FloatField(default=0.0)
    total_price = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, blank=True)
    ranker = models.CharField(max_length=30, blank=True)  # whose scores chose the stops
    back_home = models.JSONField(default=dict)  # {"YYYY-MM-DD": minutes} the last leg of each day
    left_out = models.JSONField(default=list)  # [{"event_id", "reason"}]: must-includes that could not fit
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    expires_at = models.DateTimeField(null=True, blank=True)  # drafts only

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="itinerary_owner_newest_idx"),
            models.Index(fields=["expires_at"], name="itinerary_expiry_idx", condition=Q(status="draft")),
        ]
        verbose_name_plural = "itineraries"

    def __str__(self) -> str:
        return f"Itinerary {self.pk} of {self.owner_id} ({self.status})"


class Stop(models.Model):
    # Not indexed alone: stop_event_once_per_itinerary leads with it.
    itinerary = models.ForeignKey(Itinerary, on_delete=models.CASCADE, related_name="stops", db_index=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="itinerary_stops")
    day = models.DateField()  # local date of the tour it belongs to
    position = models.PositiveSmallIntegerField()  # order within the day, from 1
    arrive = models.DateTimeField()
    start = models.DateTimeField()
    end = models.DateTimeField()
    leave = models.DateTimeField()
    travel_mode = models.CharField(max_length=10)
    travel_minutes = models.PositiveIntegerField()  # the leg from the previous stop (or the start point)
    price = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    score = models.FloatField(default=0.0)
    reasons = models.JSONField(default=list)
    pinned = models.BooleanField(default=False)  # kept by a replan
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.SET_NULL, related_name="itinerary_stops")

    class Meta:
        ordering = ["day", "position"]
        constraints = [
            models.UniqueConstraint(fields=["itinerary", "event"], name="stop_event_once_per_itinerary"),
            models.CheckConstraint(
                condition=Q(arrive__lte=models.F("start"))
                & Q(start__lte=models.F("end"))
                & Q(end__lte=models.F("leave")),
                name="stop_times_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"Stop {self.position} on {self.day} of itinerary {self.itinerary_id}"

    @property
    def accepted(self) -> bool:
        return self.plan_id is not None
