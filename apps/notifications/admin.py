from django.contrib import admin

from apps.notifications.models import Notification, Preferences, Reminder


@admin.register(Preferences)
class PreferencesAdmin(admin.ModelAdmin[Preferences]):
    list_display = ("user", "reminder_minutes", "weekly_digest", "bounced_at", "updated_at")
    list_filter = ("weekly_digest",)
    search_fields = ("user__email",)
    raw_id_fields = ("user",)
    list_select_related = ("user",)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin[Notification]):
    list_display = ("kind", "to_address", "status", "attempts", "not_before", "created_at", "sent_at")
    list_filter = ("kind", "status")
    search_fields = ("to_address", "idempotency_key")
    raw_id_fields = ("user",)
    # The outbox is a record of what was sent: read it here, never edit it (a changed row could be sent again).
    readonly_fields = [field.name for field in Notification._meta.fields]


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin[Reminder]):
    list_display = ("user", "plan", "occurrence_start", "remind_at", "done")
    list_filter = ("done",)
    search_fields = ("user__email",)
    raw_id_fields = ("user", "plan")
    list_select_related = ("user", "plan")
