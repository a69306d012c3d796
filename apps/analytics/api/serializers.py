"""What the experiments API reads and writes. The rules across fields (weights adding up to 100, unique variant
keys, a `control` variant, guardrails apart from the primary metric) are the model's, checked by the service."""

from typing import Any

from rest_framework import serializers

from apps.analytics.models import (
    KEY_PATTERN,
    MAX_GUARDRAILS,
    MAX_VARIANTS,
    SLUG_MESSAGE,
    UNIT_ID_PATTERN,
    VARIANT_KEY_PATTERN,
    ExperimentStatus,
    TrackedEventType,
)
from apps.analytics.tracking import CLIENT_TYPES, MAX_EVENTS
from apps.core.api.fields import EnumTextField, PatternField, StrictIntegerField, TextField
from apps.core.api.params import QueryParams


class VariantSerializer(serializers.Serializer[Any]):
    key = PatternField(
        pattern=VARIANT_KEY_PATTERN,
        message=SLUG_MESSAGE,
        max_length=32,
        help_text="Unique within the experiment; one variant is `control`.",
    )
    weight = StrictIntegerField(min_value=1, max_value=99, help_text="Percent of units; the weights add up to 100.")


# Named schema components (as apps.core.api.fields does for time zones): other apps' serializers have fields
# called `status` and `event` with other values, and one inline enum name cannot serve them all.
class ExperimentStatusField(EnumTextField):
    component = "ExperimentStatus"
    description = "draft → running → stopped."
    message = "'{value}' is not an experiment status."
    values = staticmethod(lambda: frozenset(ExperimentStatus.values))


class TrackedEventTypeField(EnumTextField):
    component = "TrackedEventType"
    description = "A type of tracked event."
    message = "'{value}' is not a tracked event type; known: " + ", ".join(TrackedEventType.values) + "."
    values = staticmethod(lambda: frozenset(TrackedEventType.values))


class MetricSerializer(serializers.Serializer[Any]):
    event = TrackedEventTypeField(help_text="The tracked event type a unit must do to count as converted.")


class ExperimentCreateIn(serializers.Serializer[Any]):
    key = PatternField(
        pattern=KEY_PATTERN,
        message=SLUG_MESSAGE,
        max_length=64,
    )
    description = TextField(required=False, allow_blank=True, max_length=2000, default="")
    variants = serializers.ListField(
        child=VariantSerializer(),
        min_length=2,
        max_length=MAX_VARIANTS,
        help_text="Unique keys, one of them `control` (what the others are compared with); weights add up to 100.",
    )
    primary_metric = MetricSerializer()
    guardrails = serializers.ListField(
        child=MetricSerializer(),
        required=False,
        default=list,
        max_length=MAX_GUARDRAILS,
        help_text="Metrics that must not get worse; each a different event type from the primary metric's.",
    )


class ExperimentOut(serializers.Serializer[Any]):
    key = serializers.CharField()
    description = serializers.CharField()
    status = ExperimentStatusField()
    variants = VariantSerializer(many=True)
    primary_metric = MetricSerializer()
    guardrails = MetricSerializer(many=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    stopped_at = serializers.DateTimeField(allow_null=True)


class AssignmentParams(QueryParams):
    unit_id = PatternField(
        pattern=UNIT_ID_PATTERN,
        message="1 to 64 printable ASCII characters without spaces.",
        max_length=64,
        help_text="The unit: a user id or an anonymous id.",
    )


class AssignmentOut(serializers.Serializer[Any]):
    variant = serializers.CharField(allow_null=True, help_text="null when the experiment is not running.")


def _figure(help_text: str) -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, help_text=help_text)


class VariantResultOut(serializers.Serializer[Any]):
    key = serializers.CharField()
    weight = serializers.IntegerField()
    units = serializers.IntegerField(help_text="Units exposed.")
    conversions = serializers.IntegerField(help_text="Units that did the metric's event at or after exposure.")
    rate = _figure("conversions / units; null without units.")
    lift = _figure("rate − the control's rate; null for the control and without units.")
    lift_ci_low = _figure("The 95% Wald confidence interval of lift (unpooled variance): low end.")
    lift_ci_high = _figure("The high end of that interval.")
    relative_lift = _figure("lift / the control's rate; null when that rate is 0.")
    p_value = _figure("Two-sided pooled two-proportion z-test, read once at a planned sample size.")
    sequential_p_value = _figure("Always-valid p-value (normal-mixture SPRT): safe to read every day.")


class MetricResultOut(serializers.Serializer[Any]):
    event = serializers.CharField()
    variants = VariantResultOut(many=True)


class CupedOut(serializers.Serializer[Any]):
    variant = serializers.CharField(help_text="The treatment variant, compared with control.")
    lift = serializers.FloatField(help_text="CUPED-adjusted lift of the primary metric's rate (treatment − control).")
    ci_low = serializers.FloatField(help_text="95% interval of the adjusted lift: low end.")
    ci_high = serializers.FloatField(help_text="The high end.")
    unadjusted_lift = serializers.FloatField(help_text="The same difference without the adjustment.")
    unadjusted_ci_low = serializers.FloatField()
    unadjusted_ci_high = serializers.FloatField()
    theta = serializers.FloatField(help_text="cov(x, y) / var(x), pooled over the two variants.")
    variance_reduction = serializers.FloatField(help_text="1 − var(adjusted) / var(unadjusted): the share removed.")
    units_with_pre_period = serializers.IntegerField(help_text="Units of the two variants active before the start.")


class ResultsOut(serializers.Serializer[Any]):
    key = serializers.CharField()
    status = ExperimentStatusField()
    started_at = serializers.DateTimeField(allow_null=True)
    stopped_at = serializers.DateTimeField(allow_null=True)
    primary_metric = MetricSerializer()
    units = serializers.IntegerField(help_text="Units exposed, all variants.")
    looks = serializers.IntegerField(help_text="Days with data: the looks the sequential p-value has taken.")
    variants = VariantResultOut(many=True, help_text="On the primary metric, in the experiment's order.")
    srm_p_value = _figure("Chi-square test of the units per variant against the weights.")
    srm_flag = serializers.BooleanField(help_text="srm_p_value < 0.001: the split is broken; trust no figure.")
    guardrails = MetricResultOut(many=True)
    cuped_pre_period_days = serializers.IntegerField(help_text="The covariate counts this many days before the start.")
    cuped = CupedOut(many=True, help_text="Per treatment variant whose units have pre-period activity; else absent.")


class TrackIn(serializers.Serializer[Any]):
    # Free-form objects: the service checks each event alone and answers for it in `refused`.
    events = serializers.ListField(
        child=serializers.DictField(),
        max_length=MAX_EVENTS,
        help_text=(
            f"At most {MAX_EVENTS} events, each "
            '{"id": "<client UUID>", "type", "at": "<ISO time with offset>", "object_type", "object_id", '
            '"anonymous_id", "context"}; id, type and at are required. Types: ' + ", ".join(sorted(CLIENT_TYPES)) + "."
        ),
    )


class RefusedEventOut(serializers.Serializer[Any]):
    index = serializers.IntegerField(help_text="The event's position in `events`, from 0.")
    reason = serializers.CharField(help_text="Why it was not stored; `do_not_track` under DNT or GPC.")


class TrackOut(serializers.Serializer[Any]):
    accepted = serializers.IntegerField(help_text="Events stored.")
    duplicates = serializers.IntegerField(help_text="Events whose id was already stored or repeated in the batch.")
    refused = RefusedEventOut(many=True)
