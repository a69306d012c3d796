"""Validators shared by models, forms and serializers, so every entry point refuses the same input."""

import zoneinfo
from functools import cache

import pycountry
from django.core.exceptions import ValidationError

from apps.core.taxonomy import unknown_categories


@cache
def available_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(f"'{value}' is not a known IANA time zone.", code="invalid_timezone")


def validate_latitude(value: float) -> None:
    if not -90 <= value <= 90:
        raise ValidationError("Latitude must be between -90 and 90.", code="out_of_range")


def validate_longitude(value: float) -> None:
    if not -180 <= value <= 180:
        raise ValidationError("Longitude must be between -180 and 180.", code="out_of_range")


def validate_currency(value: str) -> None:
    if len(value) != 3 or not value.isupper() or pycountry.currencies.get(alpha_3=value) is None:
        raise ValidationError(f"'{value}' is not an ISO 4217 currency code.", code="invalid_currency")


def validate_category_slugs(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("Expected a list of category slugs.", code="invalid")
    unknown = unknown_categories(value)
    if unknown:
        raise ValidationError(f"Unknown categories: {', '.join(unknown)}.", code="unknown_category")
