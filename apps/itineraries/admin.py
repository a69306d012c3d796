"""Itineraries in the admin, read-only: what was planned for whom, with the stops, to help a person who asks why
their plan looks as it does. People make and change them; operators do not."""

from django.contrib import admin
from django.http import HttpRequest

from apps.itineraries.models import Itinerary, Stop


class StopInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Stop
    fields = ("day", "position", "event", "start", "end", "travel_minutes", "price", "score", "pinned", "plan")
    readonly_fields = fields
    raw_id_fields = ("event", "plan")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Itinerary)
class ItineraryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "owner", "status", "score", "total_price", "currency", "ranker", "created_at", "expires_at")
    list_filter = ("status", "ranker")
    search_fields = ("owner__email",)
    raw_id_fields = ("owner",)
    readonly_fields = (
        "owner", "status", "request", "timezone", "score", "total_price", "currency", "ranker", "back_home",
        "left_out", "created_at", "updated_at", "expires_at",
    )  # fmt: skip
    inlines = [StopInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
