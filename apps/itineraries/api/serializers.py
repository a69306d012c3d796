import zoneinfo
from datetime import datetime, time
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api.fields import PatternField, StrictBooleanField, StrictFloatField, StrictIntegerField
from apps.core.api.windows import validate_window
from apps.core.geo import TravelMode
from apps.core.time import WINDOW_BOUND_PATTERN
from apps.events.api.serializers import EventOut
from apps.itineraries.ask import PACES
from apps.itineraries.models import Itinerary, Stop

WINDOW_MESSAGE = "Use a date (YYYY-MM-DD) or a date-time with offset (2026-05-02T10:00:00+02:00)."
LOCAL_TIME_PATTERN = r"\A([01][0-9]|2[0-3]):[0-5][0-9]\Z"
MAX_EVENT_IDS = 50
MAX_WINDOW_DAYS = 7


def event_id_field(**kwargs: Any) -> StrictIntegerField:
    return StrictIntegerField(min_value=1, max_value=2**63 - 1, **kwargs)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "enum": ["home"]},
            {
                "type": "object",
                "properties": {
                    "lat": {"type": "number", "minimum": -90, "maximum": 90},
                    "lon": {"type": "number", "minimum": -180, "maximum": 180},
                },
                "required": ["lat", "lon"],
                "additionalProperties": False,
            },
        ],
        "description": '"home" (the profile\'s home, the default) or a point {"lat", "lon"}.',
    }
)
class StartLocationField(serializers.Field):  # type: ignore[type-arg]
    # DRF formats these messages: braces are doubled.
    default_error_messages = {
        "invalid": 'Use "home" or {{"lat": ..., "lon": ...}} with lat in [-90, 90] and lon in [-180, 180].'
    }

    def to_internal_value(self, data: Any) -> str | tuple[float, float]:
        if data == "home":
            return "home"
        if not isinstance(data, dict) or set(data) != {"lat", "lon"}:
            self.fail("invalid")
        lat, lon = data["lat"], data["lon"]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon)):
            self.fail("invalid")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            self.fail("invalid")
        return float(lat), float(lon)

    def to_representation(self, value: Any) -> Any:
        return value


class ItineraryIn(serializers.Serializer[Any]):
    """The body of POST /api/v1/itineraries; every field is optional and each error names its field."""

    weekend = serializers.ChoiceField(choices=["this", "next"], required=False, help_text="The default: this.")
    start = PatternField(
        pattern=WINDOW_BOUND_PATTERN, message=WINDOW_MESSAGE, required=False, help_text="Instead of weekend, with end."
    )
    end = PatternField(pattern=WINDOW_BOUND_PATTERN, message=WINDOW_MESSAGE, required=False, help_text="Exclusive.")
    start_location = StartLocationField(required=False)
    travel_mode = serializers.ChoiceField(choices=TravelMode.choices, required=False, help_text="Default: profile's.")
    budget = StrictFloatField(
        required=False, allow_null=True, min_value=0, max_value=1_000_000, help_text="Total; default: profile's."
    )
    pace = serializers.ChoiceField(choices=list(PACES), required=False, help_text="Default: balanced.")
    day_start = PatternField(pattern=LOCAL_TIME_PATTERN, message="Use HH:MM.", required=False, help_text="10:00.")
    day_end = PatternField(pattern=LOCAL_TIME_PATTERN, message="Use HH:MM.", required=False, help_text="23:00.")
    must_include = serializers.ListField(child=event_id_field(), required=False, max_length=MAX_EVENT_IDS)
    exclude = serializers.ListField(child=event_id_field(), required=False, max_length=200)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        tz = self.context["tz"]
        validate_window(attrs, tz)
        if "start" in attrs and (attrs["end"] - attrs["start"]).days > MAX_WINDOW_DAYS:
            raise serializers.ValidationError({"end": [f"A plan covers at most {MAX_WINDOW_DAYS} days."]})
        for name in ("day_start", "day_end"):
            if name in attrs:
                attrs[name] = time.fromisoformat(attrs[name])
        if attrs.get("day_start") is not None and attrs.get("day_start") == attrs.get("day_end"):
            raise serializers.ValidationError({"day_end": ["Must differ from day_start."]})
        overlap = set(attrs.get("must_include", ())) & set(attrs.get("exclude", ()))
        if overlap:
            raise serializers.ValidationError({"exclude": [f"Event {min(overlap)} is also in must_include."]})
        return attrs


class AcceptIn(serializers.Serializer[Any]):
    stops = serializers.ListField(
        child=event_id_field(),
        required=False,
        max_length=100,
        help_text="Stop ids to accept; all the stops by default.",
    )


class StopChangeIn(serializers.Serializer[Any]):
    pinned = StrictBooleanField(help_text="A pinned stop stays where it is when the itinerary is replanned.")


class SwapIn(serializers.Serializer[Any]):
    event_id = event_id_field(help_text="One of the stop's alternatives.")


def _local(moment: datetime, tz: str) -> str:
    return moment.astimezone(zoneinfo.ZoneInfo(tz)).isoformat()


class TravelOut(serializers.Serializer[Any]):
    mode = serializers.ChoiceField(choices=TravelMode.choices)
    minutes = serializers.IntegerField(help_text="From the previous stop (or the start point), rounded up.")


class StopOut(serializers.Serializer[Stop]):
    id = serializers.IntegerField()
    event = EventOut(help_text="The item shape of GET /api/v1/events.")
    arrive = serializers.CharField(help_text="Local time with offset: when the person gets there.")
    start = serializers.CharField(help_text="When the visit starts (waiting for doors counts as arrive → start).")
    end = serializers.CharField()
    leave = serializers.CharField()
    travel = TravelOut()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    score = serializers.FloatField()
    reasons = serializers.ListField(child=serializers.CharField())
    pinned = serializers.BooleanField()
    accepted = serializers.BooleanField(help_text="On the calendar as plan_id.")
    plan_id = serializers.IntegerField(allow_null=True)

    def to_representation(self, stop: Stop) -> dict[str, Any]:
        tz = self.context["tz"]
        return {
            "id": stop.pk,
            "event": EventOut(stop.event).data,
            **{name: _local(getattr(stop, name), tz) for name in ("arrive", "start", "end", "leave")},
            "travel": {"mode": stop.travel_mode, "minutes": stop.travel_minutes},
            "price": f"{stop.price:.2f}",
            "score": stop.score,
            "reasons": stop.reasons,
            "pinned": stop.pinned,
            "accepted": stop.accepted,
            "plan_id": stop.plan_id,
        }


class BackHomeOut(serializers.Serializer[Any]):
    minutes = serializers.IntegerField(help_text="From the day's last stop back to the start point.")


class DayOut(serializers.Serializer[Any]):
    date = serializers.DateField()
    stops = StopOut(many=True)
    back_home = BackHomeOut(allow_null=True)


class LeftOutOut(serializers.Serializer[Any]):
    event_id = serializers.IntegerField()
    reason = serializers.CharField()


class ItineraryOut(serializers.Serializer[Itinerary]):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["draft", "accepted"])
    score = serializers.FloatField(help_text="The sum of the stops' scores: comparable between plans of one person.")
    total_price = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    ranker = serializers.CharField(help_text="The recommendations ranker whose scores chose the stops.")
    timezone = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True, help_text="Drafts only: gone after this.")
    days = DayOut(many=True)
    left_out = LeftOutOut(many=True, help_text="Must-include events that could not fit, with why.")

    def to_representation(self, itinerary: Itinerary) -> dict[str, Any]:
        tz = itinerary.timezone
        stops = sorted(itinerary.stops.all(), key=lambda stop: (stop.day, stop.position))
        dates = sorted({stop.day for stop in stops} | {datetime.fromisoformat(d).date() for d in itinerary.back_home})
        days = []
        for day in dates:
            minutes = itinerary.back_home.get(day.isoformat())
            days.append(
                {
                    "date": day.isoformat(),
                    "stops": [StopOut(stop, context={"tz": tz}).data for stop in stops if stop.day == day],
                    "back_home": {"minutes": minutes} if minutes is not None else None,
                }
            )
        return {
            "id": itinerary.pk,
            "status": itinerary.status,
            "score": itinerary.score,
            "total_price": f"{itinerary.total_price:.2f}",
            "currency": itinerary.currency,
            "ranker": itinerary.ranker,
            "timezone": tz,
            "created_at": serializers.DateTimeField().to_representation(itinerary.created_at),
            "expires_at": serializers.DateTimeField().to_representation(itinerary.expires_at)
            if itinerary.expires_at
            else None,
            "days": days,
            "left_out": itinerary.left_out,
        }


class AlternativeOut(serializers.Serializer[Any]):
    event = EventOut()
    start = serializers.CharField(help_text="Local time with offset: when the visit would start.")
    end = serializers.CharField()
    score = serializers.FloatField()
    reasons = serializers.ListField(child=serializers.CharField())


class AlternativesOut(serializers.Serializer[Any]):
    alternatives = AlternativeOut(many=True, help_text="Best first; each fits the stop's place in the day.")
