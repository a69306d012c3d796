from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from rest_framework import serializers

from apps.calendars import fetch
from apps.calendars.conflicts import Conflict
from apps.calendars.models import Calendar, Plan, PlanStatus, Subscription
from apps.calendars.occurrence_pages import PageOccurrence
from apps.calendars.recurrence import MAX_DATES
from apps.calendars.selectors import PlanOccurrence
from apps.core.api.errors import ErrorSerializer
from apps.core.api.fields import (
    PatternField,
    StrictBooleanField,
    StrictFloatField,
    StrictIntegerField,
    TextField,
    TimezoneField,
)
from apps.core.time import DATE_TIME_PATTERN, LOCAL_MOMENT_PATTERN, RDATE_PATTERN

MOMENT_HELP = (
    "A date (YYYY-MM-DD) when all-day; otherwise a date-time, with an offset (converted to the plan's zone) or "
    "without one (wall-clock time in `timezone`)."
)
MOMENT_MESSAGE = "Use ISO 8601: 2026-06-06T10:00:00+02:00, or a date when all-day (years 1600 to 2999)."


def _utc(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


class CalendarSerializer(serializers.ModelSerializer[Calendar]):
    name = TextField(max_length=200)
    timezone = TimezoneField(required=False)
    color = PatternField(pattern=r"\A#[0-9a-fA-F]{6}\Z", message="A colour as #RRGGBB.", required=False)
    is_default = StrictBooleanField(required=False)
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


def _moments(pattern: str, message: str, *, help_text: str) -> serializers.ListField:
    """A list of at most MAX_DATES strings that each match `pattern`."""
    child = PatternField(pattern=pattern, message=message)
    return serializers.ListField(child=child, required=False, default=list, max_length=MAX_DATES, help_text=help_text)


class PlanInput(serializers.Serializer[Any]):
    """A plan as a client writes it. Zoned times may carry an offset (converted to the plan's zone) or not
    (read as wall-clock time in `timezone`); all-day plans give dates, the end exclusive as in iCalendar."""

    title = TextField(max_length=500)
    notes = TextField(required=False, allow_blank=True, default="")
    timezone = TimezoneField(required=False)
    all_day = StrictBooleanField(required=False, default=False)
    start = PatternField(pattern=LOCAL_MOMENT_PATTERN, message=MOMENT_MESSAGE, help_text=MOMENT_HELP)
    end = PatternField(
        pattern=LOCAL_MOMENT_PATTERN, message=MOMENT_MESSAGE, help_text="As `start`; exclusive when all-day."
    )
    rrule = TextField(required=False, allow_blank=True, default="", max_length=500, help_text="An RFC 5545 RRULE.")
    rdates = _moments(
        RDATE_PATTERN,
        "A date, a date-time, or a period start/end.",
        help_text="Extra occurrences: dates (all-day), date-times, or periods start/end.",
    )
    exdates = _moments(
        LOCAL_MOMENT_PATTERN,
        "A date or a date-time.",
        help_text="Occurrences left out: their start, or a date to leave out that whole day.",
    )
    location = TextField(required=False, allow_blank=True, default="", max_length=500)
    lat = StrictFloatField(required=False, allow_null=True, default=None, min_value=-90, max_value=90)
    lon = StrictFloatField(required=False, allow_null=True, default=None, min_value=-180, max_value=180)
    status = serializers.ChoiceField(choices=PlanStatus.choices, required=False, default=PlanStatus.CONFIRMED)

    def _moment(self, name: str, value: str, all_day: bool, zone: ZoneInfo) -> datetime | date:
        try:
            if all_day:
                return date.fromisoformat(value) if len(value) == 10 else _bad(name, "Use a date, YYYY-MM-DD.")
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise serializers.ValidationError({name: [f"{value} is not a date or time on the calendar."]}) from None
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
    title = TextField(required=False, max_length=500)
    start = PatternField(
        pattern=DATE_TIME_PATTERN, message="A date-time with its offset (years 1600 to 2999).", required=False
    )
    end = PatternField(
        pattern=DATE_TIME_PATTERN, message="A date-time with its offset (years 1600 to 2999).", required=False
    )
    status = serializers.ChoiceField(choices=PlanStatus.choices, required=False)

    def _instant(self, name: str, value: str) -> datetime:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise serializers.ValidationError({name: [f"{value} is not a date or time on the calendar."]}) from None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in ("start", "end"):
            if name in attrs:
                attrs[name] = self._instant(name, attrs[name])
        if "start" in attrs and "end" in attrs and attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": ["The end must not come before the start."]})
        return attrs


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
        fields: tuple[str, ...] = (
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


def occurrences_out(items: Sequence[PlanOccurrence | PageOccurrence]) -> list[dict[str, Any]]:
    """What OccurrenceOut gives for each item, written out: a page of 100 occurrences through a DRF serializer
    cost more than reading and expanding them. OccurrenceOut stays the schema, and a test holds the two equal."""
    out = []
    for item in items:
        plan, o = item.plan, item.occurrence
        start = o.start_date if o.all_day and o.start_date else o.start_local
        end = o.end_date if o.all_day and o.end_date else o.end_local
        out.append(
            {
                "plan_id": plan.pk,
                "calendar_id": plan.calendar_id,
                "recurrence_id": o.recurrence_id,
                "title": item.title,
                "status": item.status,
                "all_day": o.all_day,
                "start": start.isoformat() if start else "",
                "end": end.isoformat() if end else "",
                "start_utc": _utc(o.start_utc),
                "end_utc": _utc(o.end_utc),
                "location": plan.location,
            }
        )
    return out


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


class PlanWithConflictsOut(PlanOut):
    """A plan as written, with the conflicts it causes (it was saved all the same)."""

    conflicts = ConflictOut(many=True, read_only=True)

    class Meta(PlanOut.Meta):
        fields = (*PlanOut.Meta.fields, "conflicts")


class ConflictRefusalOut(ErrorSerializer):
    """409 with ?reject_conflicts=true: nothing was saved; these are the conflicts it would have caused."""

    conflicts = ConflictOut(many=True)


class ImportRefusalOut(serializers.Serializer[Any]):
    uid = serializers.CharField(allow_null=True, help_text="The entry's UID; null when the whole file is unreadable.")
    reason = serializers.CharField()


class ImportResultOut(serializers.Serializer[Any]):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    refused = ImportRefusalOut(many=True, help_text="Entries that cannot be used alone, with the reason.")
    skipped = serializers.IntegerField(help_text="Components that are not events (VTODO, VJOURNAL, ...).")


class BusyOut(serializers.Serializer[Any]):
    start_utc = serializers.CharField()
    end_utc = serializers.CharField()


class FreeBusyOut(serializers.Serializer[Any]):
    start_utc = serializers.CharField()
    end_utc = serializers.CharField()
    busy = BusyOut(many=True)


class PlanFromEventInput(serializers.Serializer[Any]):
    event = StrictIntegerField(help_text="A catalogue event's id.")
    calendar = StrictIntegerField(help_text="One of your calendars' ids.")


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = r"(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
# An http(s) or webcal(s) URL whose host is a domain name (an address or a single label such as localhost
# would be refused: only public hosts are fetched).
SUBSCRIPTION_URL_PATTERN = (
    r"\A(?:[Hh][Tt][Tt][Pp][Ss]?|[Ww][Ee][Bb][Cc][Aa][Ll][Ss]?)://"
    rf"(?:{_LABEL}\.)+[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?(?::{_PORT})?(?:[/?#][!-~]*)?\Z"
)


class SubscriptionInput(serializers.Serializer[Any]):
    url = PatternField(
        pattern=SUBSCRIPTION_URL_PATTERN,
        message="An http, https or webcal URL whose host is a domain name.",
        max_length=fetch.MAX_URL_LENGTH,
        help_text="An http, https or webcal URL of a public host: it is fetched on the sync queue.",
    )


class SubscriptionOut(serializers.ModelSerializer[Subscription]):
    """The URL is shown to its owner only (every read goes through the owner); it is encrypted at rest."""

    class Meta:
        model = Subscription
        fields = ["id", "url", "last_fetched_at", "last_error"]
        read_only_fields = fields
