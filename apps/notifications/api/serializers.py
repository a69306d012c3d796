from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api.fields import StrictBooleanField, StrictIntegerField
from apps.notifications.forms import REMINDER_MINUTES
from apps.notifications.models import Preferences


@extend_schema_field({"type": "integer", "enum": [*REMINDER_MINUTES, None], "nullable": True})
class ReminderMinutesField(StrictIntegerField):
    """A JSON number among the lead times offered (not "15" in quotes), or null for off."""

    default_error_messages = {"choice": "One of 15, 30, 60, 120 or 1440 minutes, or null for off."}

    def to_internal_value(self, data: Any) -> int:
        value = super().to_internal_value(data)
        if value not in REMINDER_MINUTES:
            self.fail("choice")
        return value


class PreferencesSerializer(serializers.ModelSerializer[Preferences]):
    """What a person wants us to email them about; `bounced_at` is set when their address refused our mail."""

    reminder_minutes = ReminderMinutesField(
        allow_null=True,
        required=False,
        help_text="Minutes before each plan to remind you: 15, 30, 60, 120 or 1440; null turns reminders off.",
    )
    weekly_digest = StrictBooleanField(required=False, help_text="“Your weekend”, Thursdays at 18:00 your time.")
    group_invitations = StrictBooleanField(required=False)
    poll_updates = StrictBooleanField(required=False)
    group_plan_updates = StrictBooleanField(required=False)
    bounced_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When your address refused our email (we send nothing until you confirm it); null when fine.",
    )

    class Meta:
        model = Preferences
        fields = (
            "reminder_minutes",
            "weekly_digest",
            "group_invitations",
            "poll_updates",
            "group_plan_updates",
            "bounced_at",
        )
