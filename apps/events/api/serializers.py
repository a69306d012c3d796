import zoneinfo
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api.fields import PatternField, TextField, TimezoneField
from apps.core.api.params import QueryParams
from apps.core.taxonomy import CATEGORY_CHOICES
from apps.core.time import WINDOW_BOUND_PATTERN, matches, parse_window_bound
from apps.events.models import Event
from apps.events.selectors import TIME_OF_DAY_HOURS

_LAT = r"-?(?:90(?:\.0+)?|[1-8]?[0-9](?:\.[0-9]+)?)"
_LON = r"-?(?:180(?:\.0+)?|(?:1[0-7][0-9]|[1-9]?[0-9])(?:\.[0-9]+)?)"
NEAR_PATTERN = rf"\A{_LAT},{_LON}\Z"
# A number as a query string spells it (what JSON allows), so "1_000" or " 5" are not read as numbers.
NUMBER_PATTERN = r"\A-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?\Z"
PRICE_PATTERN = r"\A(?:0|[1-9][0-9]{0,7})(?:\.[0-9]{1,2})?\Z"
SLUGS = {slug for slug, _ in CATEGORY_CHOICES}


class QueryNumberField(serializers.FloatField):
    def to_internal_value(self, data: Any) -> float:
        if not isinstance(data, str) or not matches(NUMBER_PATTERN, data):
            self.fail("invalid")
        return super().to_internal_value(data)


class QueryBooleanField(serializers.BooleanField):
    """true or false, as the schema's boolean is written in a query string."""

    def to_internal_value(self, data: Any) -> bool:
        if data in ("true", "false"):
            return bool(data == "true")
        self.fail("invalid")
        raise AssertionError  # fail() raises


class EventSearchParams(QueryParams):
    """Query parameters of GET /api/v1/events; each error names its parameter."""

    near = PatternField(
        pattern=NEAR_PATTERN, message="Use near=LAT,LON, e.g. near=52.52,13.405.", required=False, help_text="lat,lon"
    )
    radius_km = QueryNumberField(required=False, min_value=0.1, max_value=500, default=25)
    starts_after = PatternField(
        pattern=WINDOW_BOUND_PATTERN,
        message="Use a date (YYYY-MM-DD) or a date-time with offset (2026-05-02T10:00:00+02:00).",
        required=False,
        help_text="A date or a date-time with offset.",
    )
    starts_before = PatternField(
        pattern=WINDOW_BOUND_PATTERN,
        message="Use a date (YYYY-MM-DD) or a date-time with offset (2026-05-02T10:00:00+02:00).",
        required=False,
        help_text="A date or a date-time with offset.",
    )
    weekend = serializers.ChoiceField(
        choices=["this", "next"],
        required=False,
        help_text="This or next weekend in tz; what has already ended is left out, as on the Discover page.",
    )
    tz = TimezoneField(
        required=False,
        help_text="IANA zone for weekend and plain dates; by default the signed-in person's zone, else UTC.",
    )
    category = serializers.ListField(
        child=serializers.ChoiceField(choices=CATEGORY_CHOICES),
        required=False,
        help_text="Repeat it (or separate slugs with commas) for any of several categories.",
    )
    time = serializers.ListField(
        child=serializers.ChoiceField(choices=list(TIME_OF_DAY_HOURS)),
        required=False,
        help_text="Starting in any of these parts of the day, by the event's own clock; repeat it or use commas.",
    )
    q = TextField(required=False, allow_blank=True, max_length=200)
    price_max = PatternField(
        pattern=PRICE_PATTERN, message="A price such as 20 or 19.99.", required=False, help_text="A price: 20 or 19.99."
    )
    free = QueryBooleanField(required=False, allow_null=True, default=None)
    sort = serializers.ChoiceField(choices=["start", "distance"], required=False, default="start")

    def validate_near(self, value: str) -> tuple[float, float]:
        lat_text, lon_text = value.split(",")
        return float(lat_text), float(lon_text)

    def validate_price_max(self, value: str) -> Decimal:
        return Decimal(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        tz = attrs.get("tz") or self.context.get("default_tz") or "UTC"
        attrs["tz"] = tz
        for name in ("starts_after", "starts_before"):
            if name in attrs:
                try:
                    attrs[name] = parse_window_bound(attrs[name], tz)
                except ValueError as exc:
                    raise serializers.ValidationError({name: [str(exc)]}) from None
        if attrs.get("sort") == "distance" and "near" not in attrs:
            raise serializers.ValidationError({"sort": ["sort=distance needs near=LAT,LON."]})
        if "weekend" in attrs and ("starts_after" in attrs or "starts_before" in attrs):
            raise serializers.ValidationError({"weekend": ["Use weekend or starts_after/starts_before, not both."]})
        after, before = attrs.get("starts_after"), attrs.get("starts_before")
        if after is not None and before is not None and before <= after:
            raise serializers.ValidationError({"starts_before": ["Must be later than starts_after."]})
        return attrs


# A page of 50 writes 200 dates: orjson's RFC 3339 writer gives isoformat()'s text at a third of its cost (with
# OPT_UTC_Z, "Z" for UTC as the API writes it). test_search_api holds the two equal for every zone and year.


def _local_iso(moment: datetime | None, tz: str) -> str | None:
    if not moment:
        return None
    local = moment.astimezone(zoneinfo.ZoneInfo(tz))
    offset = local.utcoffset()
    if offset is not None and offset.seconds % 60:
        return local.isoformat()  # a local mean time (before about 1900): RFC 3339 has no seconds in an offset
    return orjson.dumps(local)[1:-1].decode()


def _utc_iso(moment: datetime | None) -> str | None:
    if not moment:
        return None
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return orjson.dumps(moment, option=orjson.OPT_UTC_Z)[1:-1].decode()


class VenueOut(serializers.Serializer[Any]):
    name = serializers.CharField()
    address = serializers.CharField()
    lat = serializers.FloatField(allow_null=True)
    lon = serializers.FloatField(allow_null=True)


class EventOut(serializers.ModelSerializer[Event]):
    start = serializers.SerializerMethodField()
    end = serializers.SerializerMethodField()
    start_utc = serializers.SerializerMethodField()
    end_utc = serializers.SerializerMethodField()
    venue = VenueOut(allow_null=True)
    distance_km = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields: tuple[str, ...] = (
            "id", "title", "start", "end", "start_utc", "end_utc", "timezone", "all_day", "time_tba", "category",
            "price_min", "price_max", "currency", "is_free", "status", "url", "image_url", "venue", "distance_km",
        )  # fmt: skip

    def get_start(self, event: Event) -> str | None:
        return _local_iso(event.start_utc, event.timezone)

    def get_end(self, event: Event) -> str | None:
        return _local_iso(event.end_utc, event.timezone)

    def get_start_utc(self, event: Event) -> str | None:
        return _utc_iso(event.start_utc)

    def get_end_utc(self, event: Event) -> str | None:
        return _utc_iso(event.end_utc)

    def get_distance_km(self, event: Event) -> float | None:
        distance = getattr(event, "distance_km", None)
        return round(distance, 2) if distance is not None else None


_PRICE = serializers.DecimalField(max_digits=10, decimal_places=2)


def _price(value: Decimal | None) -> str | None:
    if value is None:
        return None
    if value.as_tuple().exponent == -2:  # as the numeric(10, 2) column gives it: DecimalField's output, 3x faster
        return f"{value:f}"
    return _PRICE.to_representation(value)


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def event_list_out(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """What EventOut gives, from rows of selectors.LIST_FIELDS, without a model instance or a serializer field per
    event: for a page of 50 those were most of the request. test_search_api proves the two agree."""
    out = []
    for row in rows:
        zone = row["timezone"]
        distance = row["distance_km"]
        venue = None
        if row["venue_id"] is not None:
            venue = {
                "name": row["venue__name"],
                "address": row["venue__address"],
                "lat": _float(row["venue__lat"]),
                "lon": _float(row["venue__lon"]),
            }
        out.append(
            {
                "id": row["id"],
                "title": row["title"],
                "start": _local_iso(row["start_utc"], zone),
                "end": _local_iso(row["end_utc"], zone),
                "start_utc": _utc_iso(row["start_utc"]),
                "end_utc": _utc_iso(row["end_utc"]),
                "timezone": zone,
                "all_day": row["all_day"],
                "time_tba": row["time_tba"],
                "category": row["category"],
                "price_min": _price(row["price_min"]),
                "price_max": _price(row["price_max"]),
                "currency": row["currency"],
                "is_free": row["is_free"],
                "status": row["status"],
                "url": row["url"],
                "image_url": row["image_url"],
                "venue": venue,
                "distance_km": round(distance, 2) if distance is not None else None,
            }
        )
    return out


class ListingOut(serializers.Serializer[Any]):
    provider = serializers.CharField()
    name = serializers.CharField(help_text="The source's name.")
    url = serializers.CharField()


class EventDetailOut(EventOut):
    sources = serializers.SerializerMethodField()

    class Meta(EventOut.Meta):
        fields = (*EventOut.Meta.fields, "description", "tags", "sources")

    @extend_schema_field(ListingOut(many=True))
    def get_sources(self, event: Event) -> list[dict[str, str]]:
        return list(self.context.get("listings", []))


class CategoryOut(serializers.Serializer[Any]):
    slug = serializers.CharField()
    name = serializers.CharField()
