from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from apps.core.taxonomy import CATEGORY_CHOICES
from apps.core.validators import validate_currency, validate_timezone
from apps.users.models import PROFILE_FIELDS, Profile, TravelMode


def _django_validator(validator: Any) -> Any:
    def run(value: Any) -> None:
        try:
            validator(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    return run


class MeSerializer(serializers.ModelSerializer[Profile]):
    """The account and its profile, flat."""

    id = serializers.IntegerField(source="user.id", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    home_lat = serializers.FloatField(min_value=-90, max_value=90, allow_null=True, required=False)
    home_lon = serializers.FloatField(min_value=-180, max_value=180, allow_null=True, required=False)
    timezone = serializers.CharField(max_length=64, required=False, validators=[_django_validator(validate_timezone)])
    interests = serializers.ListField(
        child=serializers.ChoiceField(choices=CATEGORY_CHOICES), required=False, max_length=len(CATEGORY_CHOICES)
    )
    budget = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, allow_null=True, required=False, coerce_to_string=True
    )
    currency = serializers.CharField(
        min_length=3, max_length=3, required=False, validators=[_django_validator(validate_currency)]
    )
    travel_mode = serializers.ChoiceField(choices=TravelMode.choices, required=False)
    max_distance_km = serializers.IntegerField(min_value=1, max_value=1000, required=False)

    class Meta:
        model = Profile
        fields = ("id", "email", *PROFILE_FIELDS)

    def validate_interests(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))  # keep the order, drop repeats

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance
        lat = attrs.get("home_lat", getattr(instance, "home_lat", None))
        lon = attrs.get("home_lon", getattr(instance, "home_lon", None))
        if (lat is None) != (lon is None):
            missing = "home_lon" if lon is None else "home_lat"
            raise serializers.ValidationError({missing: ["home_lat and home_lon are set together."]})
        return attrs


class TokenObtainSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class RefreshSerializer(serializers.Serializer[Any]):
    refresh = serializers.CharField()


class TokenPairSerializer(serializers.Serializer[Any]):
    access = serializers.CharField()
    refresh = serializers.CharField()
