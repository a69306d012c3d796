"""What a person wants to hear from us, and every email we owe or have sent them (an outbox).

An email is a `Notification` row first, keyed by an idempotency key that names what it is about (a reminder:
person, plan and occurrence; the digest: person and weekend), so asking twice stores one row and a task sends
each row at most once. Lower apps ask for one through `apps.core.notify.notification_requested`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

DEFAULT_REMINDER_MINUTES = 120


class Preferences(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_prefs")
    # Minutes before each plan occurrence; None: no reminders.
    reminder_minutes = models.PositiveIntegerField(null=True, blank=True, default=DEFAULT_REMINDER_MINUTES)
    weekly_digest = models.BooleanField(default=True)
    group_invitations = models.BooleanField(default=True)
    poll_updates = models.BooleanField(default=True)
    group_plan_updates = models.BooleanField(default=True)
    # A permanent SMTP failure (5xx) for the address: nothing is sent until the person confirms it again.
    bounced_at = models.DateTimeField(null=True, blank=True)
    bounce_reason = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "preferences"

    def __str__(self) -> str:
        return f"Notification preferences of {self.user_id}"


class Kind(models.TextChoices):
    REMINDER = "reminder", "Reminder"
    DIGEST = "digest", "Your weekend"
    GROUP_INVITATION = "group_invitation", "Group invitation"
    POLL_OPENED = "poll_opened", "Poll opened"
    POLL_CLOSED = "poll_closed", "Poll closed"
    GROUP_PLAN_CHANGED = "group_plan_changed", "Group plan changed"
    ADDRESS_CONFIRMATION = "address_confirmation", "Address confirmation"


class Status(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Handed to the mail server"
    SENT = "sent", "Sent"
    FAILED = "failed", "Gave up"
    SUPPRESSED = "suppressed", "Not sent (opted out, bounced or too late)"


class Notification(models.Model):
    kind = models.CharField(max_length=24, choices=Kind.choices)
    # A person with an account, or only an address (an invitation to someone who has none yet).
    # Not indexed alone: notification_user_newest_idx leads with it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    to_address = models.EmailField()
    idempotency_key = models.CharField(max_length=200, unique=True)
    # What the message is rendered from: ids and values, never another person's titles.
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    not_before = models.DateTimeField(null=True, blank=True)  # quiet hours push a send to this instant
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_newest_idx"),
            models.Index(
                fields=["not_before"], name="notification_pending_idx", condition=Q(status__in=["pending", "sending"])
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk} ({self.status})"


class Reminder(models.Model):
    """One reminder owed for one occurrence of a person's plan, materialised for a rolling horizon (reminders.py)
    so that the minute tick reads the few that are due through a partial index instead of expanding every plan.

    A row is `done` once the tick stored its Notification (or found the occurrence already started); a refresh
    replaces the rows that are not done when the plan, its overrides or the person's lead time change."""

    # Not indexed alone: reminder_user_upcoming_idx leads with it.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    plan = models.ForeignKey("calendars.Plan", on_delete=models.CASCADE, related_name="+")
    recurrence_id = models.CharField(max_length=32, blank=True)
    occurrence_start = models.DateTimeField()
    occurrence_end = models.DateTimeField()
    title = models.CharField(max_length=500)
    remind_at = models.DateTimeField()
    done = models.BooleanField(default=False)  # handled: its Notification (key: reminders.key_of) stored, or too late

    class Meta:
        constraints = [
            # The occurrence's start is part of the identity: a moved occurrence is owed a reminder at its new time.
            models.UniqueConstraint(
                fields=["user", "plan", "recurrence_id", "occurrence_start"], name="reminder_one_per_occurrence"
            ),
        ]
        indexes = [
            models.Index(fields=["remind_at"], name="reminder_due_idx", condition=Q(done=False)),
            models.Index(fields=["user", "occurrence_start"], name="reminder_user_upcoming_idx"),
        ]

    def __str__(self) -> str:
        return f"Reminder of plan {self.plan_id} for {self.user_id} at {self.remind_at:%Y-%m-%d %H:%M}"
