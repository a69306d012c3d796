"""What the KPI API takes and returns (staff only): a metric's points, the funnel."""

from datetime import date, timedelta
from typing import Any

from rest_framework import serializers

from apps.analytics import kpis
from apps.analytics.selectors_kpis import Granularity
from apps.core.api.params import QueryParams

MAX_DAYS = 2 * 366  # two years of daily points in one answer at most


class RangeParams(QueryParams):
    start = serializers.DateField(help_text="The first day (UTC), YYYY-MM-DD.")
    end = serializers.DateField(help_text="The last day (UTC), YYYY-MM-DD, included.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start: date = attrs["start"]
        end: date = attrs["end"]
        if end < start:
            raise serializers.ValidationError({"end": ["The end is before the start."]})
        if end - start >= timedelta(days=MAX_DAYS):
            raise serializers.ValidationError({"end": [f"At most {MAX_DAYS} days at once."]})
        return attrs


class KpiParams(RangeParams):
    metric = serializers.ChoiceField(choices=list(kpis.NAMES), help_text="The metric's name (docs/analytics.md).")
    granularity = serializers.ChoiceField(
        choices=["day", "week"], default="day", help_text="One point per day, or per ISO week dated by its Monday."
    )
    segment = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        max_length=200,
        help_text="A page, source or variant the metric is broken down by; empty for the whole product.",
    )


class PointOut(serializers.Serializer[Any]):
    date = serializers.DateField()
    value = serializers.FloatField(allow_null=True, help_text="null when there was nothing to measure.")


class KpiOut(serializers.Serializer[Any]):
    metric = serializers.CharField()
    granularity = serializers.ChoiceField(choices=["day", "week"])
    segment = serializers.CharField()
    points = PointOut(many=True)


class FunnelStepOut(serializers.Serializer[Any]):
    step = serializers.ChoiceField(choices=list(kpis.FUNNEL_STEPS))
    people = serializers.IntegerField(help_text="People who did this step and every one before it, per day.")
    conversion = serializers.FloatField(allow_null=True, help_text="Of the step before; null for the first step.")


class FunnelOut(serializers.Serializer[Any]):
    start = serializers.DateField()
    end = serializers.DateField()
    steps = FunnelStepOut(many=True)


def granularity(value: str) -> Granularity:
    return "week" if value == "week" else "day"
