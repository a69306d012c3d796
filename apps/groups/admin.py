"""Groups in the admin: to help a person who asks who is in a group or why an invitation stopped working.
Tokens are never listed (a token lets whoever holds it join); memberships and invitations are read-only inlines."""

from django.contrib import admin
from django.http import HttpRequest

from apps.groups.models import Group, Invite, Membership


class MembershipInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Membership
    fields = ("user", "role", "sharing_paused", "joined_at")
    readonly_fields = fields
    raw_id_fields = ("user",)
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class InviteInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Invite
    fields = ("email", "created_by", "created_at", "expires_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "name", "meeting_point", "created_at")
    search_fields = ("name", "memberships__user__email")
    readonly_fields = ("created_at", "updated_at")
    inlines = [MembershipInline, InviteInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "group", "user", "role", "sharing_paused", "joined_at")
    list_filter = ("role", "sharing_paused")
    search_fields = ("user__email", "group__name")
    raw_id_fields = ("group", "user")
    readonly_fields = ("group", "user", "role", "joined_at")  # roles change through the services' rules only
