"""Shapes of the groups API: groups, members, invitations and availability (docs/groups.md)."""

from typing import Any

from rest_framework import serializers

from apps.core.api.fields import StrictBooleanField, StrictFloatField, StrictIntegerField, TextField
from apps.groups.models import INVITE_DAYS, Group, Invite, Membership, Role
from apps.groups.selectors.groups import display_name
from apps.groups.services.invites import MAX_INVITE_DAYS, invite_url

MAX_ID = 2**63 - 1


class GroupOut(serializers.ModelSerializer[Group]):
    role = serializers.ChoiceField(choices=Role.choices, help_text="The caller's role in the group.")
    member_count = serializers.IntegerField()

    class Meta:
        model = Group
        fields = (
            "id",
            "name",
            "description",
            "role",
            "member_count",
            "meeting_point",
            "meeting_lat",
            "meeting_lon",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class GroupIn(serializers.Serializer[Any]):
    name = TextField(max_length=200)
    description = TextField(max_length=5000, allow_blank=True, required=False)
    meeting_point = TextField(max_length=300, allow_blank=True, required=False)
    meeting_lat = StrictFloatField(min_value=-90, max_value=90, allow_null=True, required=False)
    meeting_lon = StrictFloatField(min_value=-180, max_value=180, allow_null=True, required=False)


class MemberOut(serializers.Serializer[Any]):
    user_id = serializers.IntegerField()
    display_name = serializers.SerializerMethodField()
    role = serializers.ChoiceField(choices=Role.choices)
    joined_at = serializers.DateTimeField()
    sharing_paused = serializers.BooleanField(help_text="Left out of the group's availability while true.")

    def get_display_name(self, membership: Membership) -> str:
        return display_name(membership.user)


class MembersOut(serializers.Serializer[Any]):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = MemberOut(many=True)


class OwnerIn(serializers.Serializer[Any]):
    user_id = StrictIntegerField(min_value=1, max_value=MAX_ID, help_text="The member who becomes the owner.")


class SharingIn(serializers.Serializer[Any]):
    paused = StrictBooleanField(help_text="true: leave me out of this group's availability.")


class InviteIn(serializers.Serializer[Any]):
    email = serializers.EmailField(
        required=False, allow_blank=True, max_length=254, help_text="Also email the link to this address."
    )
    days = StrictIntegerField(
        min_value=1,
        max_value=MAX_INVITE_DAYS,
        default=INVITE_DAYS,
        help_text=f"How long the link works (default {INVITE_DAYS}).",
    )


class InviteOut(serializers.ModelSerializer[Invite]):
    url = serializers.SerializerMethodField(help_text="The join page: whoever opens it signed in joins the group.")
    expires = serializers.DateTimeField(source="expires_at")
    # Not an EmailField: a link-only invitation has "" here, which is no email address.
    email = serializers.CharField(help_text="The address the link was emailed to; empty for a link only.")

    class Meta:
        model = Invite
        fields = ("id", "token", "url", "expires", "email", "revoked_at", "created_at")
        read_only_fields = fields

    def get_url(self, invite: Invite) -> str:
        return invite_url(invite.token)


class JoinIn(serializers.Serializer[Any]):
    token = TextField(max_length=64, help_text="The token of an invitation link.")


class WindowOut(serializers.Serializer[Any]):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    free = serializers.ListField(child=serializers.IntegerField(), help_text="The free members' user ids.")
    busy_count = serializers.IntegerField(help_text="How many sharing members are busy in this window.")


class AvailabilityOut(serializers.Serializer[Any]):
    windows = WindowOut(many=True)
