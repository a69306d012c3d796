from typing import Any

from rest_framework import serializers

from apps.core.api.fields import PatternField, StrictIntegerField, TimezoneField
from apps.core.api.params import QueryParams
from apps.core.api.windows import validate_window
from apps.core.time import WINDOW_BOUND_PATTERN
from apps.events.api.serializers import NEAR_PATTERN, EventOut
from apps.recommendations import rankers
from apps.recommendations.models import FeedbackAction
from apps.recommendations.services import DEFAULT_LIMIT, MAX_LIMIT

WINDOW_MESSAGE = "Use a date (YYYY-MM-DD) or a date-time with offset (2026-05-02T10:00:00+02:00)."


class IntegerQueryField(serializers.IntegerField):
    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, str) or not data.isdigit():
            self.fail("invalid")
        return super().to_internal_value(data)


class RecommendationParams(QueryParams):
    """Query parameters of GET /api/v1/recommendations; each error names its parameter."""

    weekend = serializers.ChoiceField(
        choices=["this", "next"], required=False, help_text="This (the default) or next weekend in the person's zone."
    )
    start = PatternField(
        pattern=WINDOW_BOUND_PATTERN, message=WINDOW_MESSAGE, required=False, help_text="Instead of weekend, with end."
    )
    end = PatternField(pattern=WINDOW_BOUND_PATTERN, message=WINDOW_MESSAGE, required=False, help_text="Exclusive.")
    near = PatternField(
        pattern=NEAR_PATTERN,
        message="Use near=LAT,LON, e.g. near=52.52,13.405.",
        required=False,
        help_text="lat,lon: instead of the profile's home; required without signing in.",
    )
    tz = TimezoneField(required=False, help_text="IANA zone of the weekend and plain dates; default the profile's.")
    limit = IntegerQueryField(required=False, min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)
    ranker = serializers.CharField(required=False, help_text="Staff only: force a ranker by name.")

    def validate_near(self, value: str) -> tuple[float, float]:
        lat_text, lon_text = value.split(",")
        return float(lat_text), float(lon_text)

    def validate_ranker(self, value: str) -> str:
        if not self.context.get("is_staff"):
            raise serializers.ValidationError("Only staff may choose the ranker.")
        if value not in rankers.names():
            raise serializers.ValidationError(f"Unknown ranker; known: {', '.join(rankers.names())}.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        tz = attrs.get("tz") or self.context.get("default_tz") or "UTC"
        attrs["tz"] = tz
        validate_window(attrs, tz)
        if "near" not in attrs and not self.context.get("signed_in"):
            raise serializers.ValidationError({"near": ["Give near=LAT,LON, or sign in."]})
        return attrs


class RecommendationOut(serializers.Serializer[Any]):
    rank = serializers.IntegerField(help_text="From 1.")
    score = serializers.FloatField(help_text="The ranker's score: higher is better; comparable within one list.")
    reasons = serializers.ListField(child=serializers.CharField(), help_text='Short and true: "1.2 km away", "free".')
    event = EventOut(help_text="The item shape of GET /api/v1/events.")


class RecommendationListOut(serializers.Serializer[Any]):
    request_id = serializers.CharField(help_text="Names this list in its tracked impressions and clicks.")
    ranker = serializers.CharField(help_text="The ranker that made the list (after any fallback).")
    variant = serializers.CharField(allow_null=True, help_text="The person's variant of recommendations-ranker.")
    model_version = serializers.CharField(allow_null=True, help_text="The learned model's version, when it ranked.")
    results = RecommendationOut(many=True)


class FeedbackIn(serializers.Serializer[Any]):
    event_id = StrictIntegerField(min_value=1, max_value=2**63 - 1, help_text="The id of a catalogue event.")
    action = serializers.ChoiceField(choices=FeedbackAction.choices)


class FeedbackOut(serializers.Serializer[Any]):
    event_id = serializers.IntegerField()
    action = serializers.CharField()
    created_at = serializers.DateTimeField()
