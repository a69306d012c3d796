"""What recommendations keep: a person's feedback on listed events, and every trained model with its metrics.

The models themselves (factors and the ranking model) are files in the `models` storage (settings.STORAGES), named
by `ModelVersion.artefact`; the rows say which one serves (`is_current`) and why it was or was not promoted.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class FeedbackAction(models.TextChoices):
    DISMISS = "dismiss", "Dismiss"
    MORE_LIKE_THIS = "more_like_this", "More like this"
    LESS_LIKE_THIS = "less_like_this", "Less like this"


class Feedback(models.Model):
    """A person's word on one listed event. The event's category and venue are copied, so what it taught about
    them outlives the event (events live days; tastes longer)."""

    # Not indexed alone: feedback_user_recent_idx leads with it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recommendation_feedback", db_index=False
    )
    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=16, choices=FeedbackAction.choices)
    category = models.CharField(max_length=30, blank=True)
    venue_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Sending the same feedback twice says it once.
            models.UniqueConstraint(fields=["user", "event", "action"], name="feedback_once_per_event_action"),
            models.CheckConstraint(condition=Q(action__in=FeedbackAction.values), name="feedback_action_known"),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="feedback_user_recent_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.action} {self.event_id}"


class ModelStatus(models.TextChoices):
    PROMOTED = "promoted", "Promoted"
    REFUSED = "refused", "Refused by the quality gate"
    FAILED = "failed", "Training failed"


class ModelVersion(models.Model):
    """One training run: what it learned from, how it scored on the newest hold-out against the model serving
    then, and whether the quality gate promoted it. At most one row is current."""

    version = models.CharField(max_length=40, unique=True)
    status = models.CharField(max_length=12, choices=ModelStatus.choices)
    is_current = models.BooleanField(default=False)
    artefact = models.CharField(max_length=200, blank=True, help_text="The folder in the models storage.")
    created_at = models.DateTimeField(default=timezone.now)
    promoted_at = models.DateTimeField(null=True, blank=True)
    trained_until = models.DateTimeField(null=True, blank=True, help_text="The hold-out starts here.")
    interactions = models.PositiveIntegerField(default=0)
    people = models.PositiveIntegerField(default=0)
    # {"ndcg@10": ..., "precision@10": ..., ...} on the hold-out, for this model and the one serving when it
    # was trained (empty when there was none); the gate compares them on ndcg@10.
    metrics = models.JSONField(default=dict, blank=True)
    baseline_metrics = models.JSONField(default=dict, blank=True)
    seconds = models.FloatField(default=0)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["is_current"], condition=Q(is_current=True), name="one_current_model"),
            models.CheckConstraint(condition=Q(status__in=ModelStatus.values), name="model_status_known"),
            models.CheckConstraint(
                condition=Q(is_current=False) | Q(status=ModelStatus.PROMOTED), name="current_model_is_promoted"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version} ({self.status}{', current' if self.is_current else ''})"
