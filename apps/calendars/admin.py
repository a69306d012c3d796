from django.contrib import admin

from apps.calendars.models import Calendar, Plan, PlanOverride, Subscription


class OverrideInline(admin.TabularInline[PlanOverride, Plan]):
    model = PlanOverride
    extra = 0


@admin.register(Calendar)
class CalendarAdmin(admin.ModelAdmin[Calendar]):
    list_display = ("name", "owner", "timezone", "is_default", "created_at")
    search_fields = ("name", "owner__email")
    raw_id_fields = ("owner",)
    exclude = ("feed_token",)
    list_select_related = ("owner",)


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin[Plan]):
    list_display = ("title", "calendar", "start_utc", "timezone", "all_day", "rrule", "status", "origin")
    list_filter = ("status", "origin", "all_day")
    search_fields = ("title", "ical_uid", "calendar__owner__email")
    raw_id_fields = ("calendar", "event")
    inlines = (OverrideInline,)
    list_select_related = ("calendar",)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin[Subscription]):
    list_display = ("calendar", "last_fetched_at", "last_error")
    raw_id_fields = ("calendar",)
    exclude = ("url",)  # a private URL is a secret; it is shown to its owner only
