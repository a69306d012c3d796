"""Recommendations in the admin: every training run with its metrics and why it was or was not promoted, and
people's feedback. Both read-only: models are trained and promoted by `train_recommendations` and its gate,
feedback is given by people."""

from django.contrib import admin
from django.http import HttpRequest

from apps.recommendations.models import Feedback, ModelVersion


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ("version", "status", "is_current", "created_at", "interactions", "people", "ndcg", "seconds")
    list_filter = ("status", "is_current")
    search_fields = ("version",)
    fields = (
        "version", "status", "is_current", "artefact", "created_at", "promoted_at", "trained_until", "interactions",
        "people", "metrics", "baseline_metrics", "seconds", "note",
    )  # fmt: skip

    @admin.display(description="nDCG@10")
    def ndcg(self, obj: ModelVersion) -> object:
        return obj.metrics.get("ndcg@10") if isinstance(obj.metrics, dict) else None


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ("user", "event", "action", "category", "created_at")
    list_filter = ("action",)
    search_fields = ("user__email", "event__title")
    raw_id_fields = ("user", "event")
