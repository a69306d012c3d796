from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.core.queueing import enqueue
from apps.events import services
from apps.events.models import Event, Source, SyncRun, Venue

# Links without a scheme are https (Django 6's default; set now to skip its deprecation warning).
URL_FIELDS: dict[type[models.Field[Any, Any]], dict[str, Any]] = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin[Source]):
    list_display = ("name", "provider", "enabled", "interval_minutes", "center_lat", "center_lon", "radius_km")
    list_filter = ("provider", "enabled")
    search_fields = ("name",)
    actions = ("sync_now",)

    def delete_model(self, request: HttpRequest, obj: Source) -> None:
        services.source_legacy_records_adopt(source_id=obj.pk)  # their rows would hold the source in place
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        for source_id in queryset.values_list("pk", flat=True):
            services.source_legacy_records_adopt(source_id=source_id)
        super().delete_queryset(request, queryset)

    @admin.action(description="Sync now (in the background)")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        from apps.events.tasks import sync_source  # the admin enqueues; workers run it

        refused = [source.name for source in queryset if not enqueue(sync_source, source.pk)]
        queued = queryset.count() - len(refused)
        if queued:
            self.message_user(request, f"Queued {queued} source(s) for syncing.", messages.SUCCESS)
        if refused:
            names = ", ".join(refused)
            self.message_user(request, f"The task queue is unreachable; not queued: {names}.", messages.ERROR)


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin[SyncRun]):
    list_display = ("source", "started_at", "finished_at", "outcome", "fetched", "created", "updated", "unchanged",
                    "merged", "failed", "pages")  # fmt: skip
    list_filter = ("outcome", "source")
    readonly_fields = [f.name for f in SyncRun._meta.fields]
    list_select_related = ("source",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class DuplicateInline(admin.TabularInline[Event, Event]):
    model = Event
    fk_name = "canonical"
    fields = ("title", "start_utc", "status")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Merged duplicates"


@admin.register(Event)
class EventAdmin(admin.ModelAdmin[Event]):
    formfield_overrides = URL_FIELDS
    list_display = ("title", "start_utc", "timezone", "category", "status", "venue", "canonical")
    list_filter = ("status", "category", "time_tba", "is_free")
    search_fields = ("title",)
    date_hierarchy = "start_utc"
    raw_id_fields = ("venue", "canonical")
    list_select_related = ("venue", "canonical")
    # Where it came from is the sync's to write: an edited provider id or hash would make the next sync store
    # the item again as a new event, or skip a change.
    readonly_fields = ("source", "provider_id", "content_hash")
    inlines = (DuplicateInline,)


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin[Venue]):
    list_display = ("name", "address", "lat", "lon", "timezone")
    search_fields = ("name", "address", "key")
