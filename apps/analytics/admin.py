"""Experiments in the admin: define them, start and stop them through the services, and open their results page.
Exposures and conversions are shown read-only: they are what the results count."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from apps.analytics import services, views
from apps.analytics.models import Conversion, Experiment, ExperimentStatus, Exposure

# Fixed once the experiment starts: changing them would move units between variants mid-flight.
DESIGN_FIELDS = ("key", "variants", "primary_metric", "guardrails")


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin[Experiment]):
    list_display = ("key", "status", "created_at", "started_at", "stopped_at", "results_link")
    list_filter = ("status",)
    search_fields = ("key", "description")
    fields = ("key", "description", "variants", "primary_metric", "guardrails", "status", "salt",
              "created_at", "started_at", "stopped_at", "results_link")  # fmt: skip
    actions = ("start", "stop")

    def get_readonly_fields(self, request: HttpRequest, obj: Experiment | None = None) -> tuple[str, ...]:
        fixed = ("status", "salt", "created_at", "started_at", "stopped_at", "results_link")
        if obj is not None and obj.status != ExperimentStatus.DRAFT:
            return DESIGN_FIELDS + fixed
        return fixed

    def get_urls(self) -> list[URLPattern]:
        results = path(
            "<slug:key>/results/",
            self.admin_site.admin_view(views.experiment_results_page),
            name="analytics_experiment_results",
        )
        return [results, *super().get_urls()]  # before the catch-all "<object_id>/"

    @admin.display(description="Results")
    def results_link(self, obj: Experiment) -> str:
        if obj.pk is None:
            return "—"
        return format_html('<a href="{}">Results</a>', reverse("admin:analytics_experiment_results", args=[obj.key]))

    def _move(self, request: HttpRequest, queryset: QuerySet[Experiment], transition: Any, verb: str) -> None:
        for experiment in queryset:
            try:
                transition(experiment=experiment)
            except services.TransitionRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{verb} {experiment.key}.", messages.SUCCESS)

    @admin.action(description="Start the selected draft experiments")
    def start(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        self._move(request, queryset, services.experiment_start, "Started")

    @admin.action(description="Stop the selected running experiments")
    def stop(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        self._move(request, queryset, services.experiment_stop, "Stopped")


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    show_full_result_count = False  # no second COUNT(*) over millions of rows on every filtered page

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Exposure)
class ExposureAdmin(ReadOnlyAdmin):
    list_display = ("experiment", "unit_id", "variant", "exposed_at")
    list_filter = ("experiment", "variant")
    search_fields = ("=unit_id",)
    list_select_related = ("experiment",)


@admin.register(Conversion)
class ConversionAdmin(ReadOnlyAdmin):
    list_display = ("unit_id", "type", "occurred_at")
    list_filter = ("type",)
    search_fields = ("=unit_id",)
