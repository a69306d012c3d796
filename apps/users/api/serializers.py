from decimal import Decimal
from typing import Any

from rest_framework import serializers

from apps.core.api.fields import (
    TEXT_PATTERN,
    CurrencyField,
    PatternField,
    StrictFloatField,
    StrictIntegerField,
    TextField,
    TimezoneField,
)
from apps.core.taxonomy import CATEGORY_CHOICES
from apps.users.models import PROFILE_FIELDS, Profile, TravelMode

BUDGET_PATTERN = r"\A(?:0|[1-9][0-9]{0,7})(?:\.[0-9]{1,2})?\Z"
JWT_PATTERN = r"\A[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\Z"


class BudgetField(PatternField):
    """A non-negative amount with at most two decimals, as a string ("40" or "39.90"), or null."""

    def to_representation(self, value: Any) -> str:
        return f"{Decimal(value):.2f}"


class MeSerializer(serializers.ModelSerializer[Profile]):
    """The account and its profile, flat."""

    id = serializers.IntegerField(source="user.id", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    display_name = TextField(max_length=100, allow_blank=True, required=False)
    home_address = TextField(max_length=300, allow_blank=True, required=False)
    home_lat = StrictFloatField(min_value=-90, max_value=90, allow_null=True, required=False)
    home_lon = StrictFloatField(min_value=-180, max_value=180, allow_null=True, required=False)
    timezone = TimezoneField(required=False)
    interests = serializers.ListField(
        child=serializers.ChoiceField(choices=CATEGORY_CHOICES), required=False, max_length=len(CATEGORY_CHOICES)
    )
    budget = BudgetField(
        pattern=BUDGET_PATTERN,
        message="An amount such as 40 or 39.90.",
        allow_null=True,
        required=False,
        help_text="Per weekend, in `currency`.",
    )
    currency = CurrencyField(required=False)
    travel_mode = serializers.ChoiceField(choices=TravelMode.choices, required=False)
    max_distance_km = StrictIntegerField(min_value=1, max_value=1000, required=False)

    class Meta:
        model = Profile
        fields = ("id", "email", *PROFILE_FIELDS)

    def validate_interests(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))  # keep the order, drop repeats

    def validate_budget(self, value: str | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance
        lat = attrs.get("home_lat", getattr(instance, "home_lat", None))
        lon = attrs.get("home_lon", getattr(instance, "home_lon", None))
        if (lat is None) != (lon is None):
            missing = "home_lon" if lon is None else "home_lat"
            raise serializers.ValidationError({missing: ["home_lat and home_lon are set together."]})
        return attrs


# GET /api/v1/me renders with one MeSerializer built once per process: a ModelSerializer builds and deep-copies its
# fields at every instantiation (about a fifth of that request's CPU), and rendering reads them without changing
# them, so a shared instance gives the same output through the same code.
_ME_READER = MeSerializer()


def me_data(profile: Profile) -> dict[str, Any]:
    """What MeSerializer(profile).data holds."""
    return _ME_READER.to_representation(profile)


class TokenObtainSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField()
    password = PatternField(pattern=TEXT_PATTERN, message="A password, without NUL characters.")


class RefreshSerializer(serializers.Serializer[Any]):
    refresh = PatternField(
        pattern=JWT_PATTERN, message="A refresh token: three base64url parts joined by dots.", help_text="A JWT."
    )


class TokenPairSerializer(serializers.Serializer[Any]):
    access = serializers.CharField()
    refresh = serializers.CharField()
