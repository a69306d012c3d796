from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from apps.calendars.conflicts import Conflict
from apps.calendars.models import Calendar, Plan, PlanStatus
from apps.calendars.selectors import PlanOccurrence
from apps.core.validators import validate_timezone


def _timezone(value: str) -> None:
    try:
        validate_timezone(value)
    except DjangoValidationError:
        raise serializers.ValidationError(f"'{value}' is not a known IANA time zone.") from None


def _utc(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


class CalendarSerializer(serializers.ModelSerializer[Calendar]):
    timezone = serializers.CharField(required=False, max_length=64, validators=[_timezone])
    color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False)
    feed_url = serializers.SerializerMethodField()

    class Meta:
        model = Calendar
        fields = ("id", "name", "color", "timezone", "is_default", "feed_url", "created_at", "updated_at")
        read_only_fields = ("id", "created_at", "updated_at")

    def get_feed_url(self, calendar: Calendar) -> str | None:
        request = self.context.get("request")
        if not calendar.feed_token or request is None:
            return None
        return str(request.build_absolute_uri(f"/feeds/{calendar.feed_token}.ics"))


class PlanInput(serializers.Serializer[Any]):
    """A plan as a client writes it. Zoned times may carry an offset (converted to the plan's zone) or not
    (read as wall-clock time in `timezone`); all-day plans give dates, the end exclusive as in iCalendar."""

    title = serializers.CharField(max_length=500)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    timezone = serializers.CharField(required=False, max_length=64, validators=[_timezone])
    all_day = serializers.BooleanField(required=False, default=False)
    start = serializers.CharField()
    end = serializers.CharField()
    rrule = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    rdates = serializers.ListField(
        child=serializers.CharField(max_length=32), required=False, default=list, max_length=500
    )
    exdates = serializers.ListField(
        child=serializers.CharField(max_length=32), required=False, default=list, max_length=2000
    )
    location = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    lat = serializers.FloatField(required=False, allow_null=True, default=None, min_value=-90, max_value=90)
    lon = serializers.FloatField(required=False, allow_null=True, default=None, min_value=-180, max_value=180)
    status = serializers.ChoiceField(choices=PlanStatus.choices, required=False, default=PlanStatus.CONFIRMED)

    def _moment(self, name: str, value: str, all_day: bool, zone: ZoneInfo) -> datetime | date:
        try:
            if all_day:
                return date.fromisoformat(value[:10]) if len(value) == 10 else _bad(name, "Use a date, YYYY-MM-DD.")
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise serializers.ValidationError(
                {name: ["Use ISO 8601: 2026-06-06T10:00:00+02:00, or a date when all-day."]}
            ) from None
        return parsed.astimezone(zone).replace(tzinfo=None) if parsed.tzinfo else parsed

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["timezone"] = attrs.get("timezone") or self.context["default_timezone"]
        zone = ZoneInfo(attrs["timezone"])
        attrs["start"] = self._moment("start", attrs["start"], attrs["all_day"], zone)
        attrs["end"] = self._moment("end", attrs["end"], attrs["all_day"], zone)
        if attrs["end"] < attrs["start"] or (attrs["all_day"] and attrs["end"] == attrs["start"]):
            raise serializers.ValidationError({"end": ["The end must come after the start (exclusive for all-day)."]})
        if (attrs["lat"] is None) != (attrs["lon"] is None):
            raise serializers.ValidationError(
                {"lon" if attrs["lon"] is None else "lat": ["Give lat and lon together."]}
            )
        return attrs


def _bad(name: str, message: str) -> Any:
    raise serializers.ValidationError({name: [message]})


class OccurrenceInput(serializers.Serializer[Any]):
    title = serializers.CharField(required=False, max_length=500)
    start = serializers.DateTimeField(required=False)
    end = serializers.DateTimeField(required=False)
    status = serializers.ChoiceField(choices=PlanStatus.choices, required=False)


def _local(plan: Plan, moment: datetime | None) -> str | None:
    return moment.replace(tzinfo=ZoneInfo(plan.timezone)).isoformat() if moment else None


class OverrideOut(serializers.Serializer[Any]):
    recurrence_id = serializers.CharField()
    cancelled = serializers.BooleanField()


class PlanOut(serializers.ModelSerializer[Plan]):
    calendar = serializers.IntegerField(source="calendar_id")
    start = serializers.SerializerMethodField()
    end = serializers.SerializerMethodField()
    start_utc = serializers.SerializerMethodField()
    end_utc = serializers.SerializerMethodField()
    uid = serializers.CharField(source="ical_uid")
    event = serializers.IntegerField(source="event_id", allow_null=True)
    overrides = OverrideOut(many=True, read_only=True)

    class Meta:
        model = Plan
        fields = (
            "id", "calendar", "title", "notes", "start", "end", "start_utc", "end_utc", "timezone", "all_day",
            "rrule", "rdates", "exdates", "location", "lat", "lon", "event", "status", "origin", "uid", "sequence",
            "attention", "overrides", "created_at", "updated_at",
        )  # fmt: skip

    def get_start(self, plan: Plan) -> str | None:
        return plan.start_date.isoformat() if plan.all_day and plan.start_date else _local(plan, plan.start_local)

    def get_end(self, plan: Plan) -> str | None:
        return plan.end_date.isoformat() if plan.all_day and plan.end_date else _local(plan, plan.end_local)

    def get_start_utc(self, plan: Plan) -> str | None:
        return _utc(plan.start_utc)

    def get_end_utc(self, plan: Plan) -> str | None:
        return _utc(plan.end_utc)


class OccurrenceOut(serializers.Serializer[PlanOccurrence]):
    plan_id = serializers.IntegerField(source="plan.pk")
    calendar_id = serializers.IntegerField(source="plan.calendar_id")
    recurrence_id = serializers.CharField(source="occurrence.recurrence_id")
    title = serializers.CharField()
    status = serializers.CharField()
    all_day = serializers.BooleanField(source="occurrence.all_day")  # an override may turn one all-day
    start = serializers.SerializerMethodField()
    end = serializers.SerializerMethodField()
    start_utc = serializers.SerializerMethodField()
    end_utc = serializers.SerializerMethodField()
    location = serializers.CharField(source="plan.location")

    def get_start(self, item: PlanOccurrence) -> str:
        o = item.occurrence
        moment = o.start_date if o.all_day and o.start_date else o.start_local
        return moment.isoformat() if moment else ""

    def get_end(self, item: PlanOccurrence) -> str:
        o = item.occurrence
        moment = o.end_date if o.all_day and o.end_date else o.end_local
        return moment.isoformat() if moment else ""

    def get_start_utc(self, item: PlanOccurrence) -> str | None:
        return _utc(item.occurrence.start_utc)

    def get_end_utc(self, item: PlanOccurrence) -> str | None:
        return _utc(item.occurrence.end_utc)


class ConflictSideOut(serializers.Serializer[Any]):
    plan_id = serializers.IntegerField(allow_null=True)
    recurrence_id = serializers.CharField(allow_null=True)
    title = serializers.CharField()
    start_utc = serializers.CharField()
    end_utc = serializers.CharField()
    calendar_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(help_text='"overlaps Brunch", "needs 25 min from Museum, 10 min gap"')


class ConflictOut(serializers.Serializer[Conflict]):
    """Both plans, the kind, and the numbers: overlap minutes, or needed against available minutes."""

    kind = serializers.ChoiceField(choices=["overlap", "travel"])
    first = ConflictSideOut()
    second = ConflictSideOut()
    overlap_minutes = serializers.IntegerField(allow_null=True)
    needed_minutes = serializers.IntegerField(allow_null=True)
    available_minutes = serializers.IntegerField(allow_null=True)

    def to_representation(self, conflict: Conflict) -> dict[str, Any]:
        return conflict.as_dict()
