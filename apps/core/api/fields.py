"""Serializer fields that take exactly what the OpenAPI schema says, so schema and server agree on every value.

DRF's own fields are lenient in ways a schema cannot state: a CharField takes a number and trims whitespace
after checking the length, a BooleanField takes "yes" and 1, an IntegerField takes "7". These take JSON's own
types only, check the value as it was sent, and publish their rules (pattern, enum) in the schema.
"""

from collections.abc import Callable
from functools import cache
from typing import Any

import pycountry
from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers
from rest_framework.fields import empty

from apps.core.validators import available_timezones

# Whitespace as JSON Schema's regular expressions (ECMA-262 \s) or Python's str.strip() read it: text made only
# of these is blank whichever way a client looks at it.
BLANK_CLASS = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
# PostgreSQL text cannot hold NUL, so no text field takes it.
TEXT_PATTERN = r"\A[^\x00]+\Z"  # blank text ("") is allowed apart from the pattern, where a field allows it
NON_BLANK_TEXT_PATTERN = rf"\A[^\x00]*[^\x00{BLANK_CLASS}][^\x00]*\Z"


class TextField(serializers.CharField):
    """A JSON string, checked as sent (length, no NUL, not blank unless allowed), then stored trimmed."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["trim_whitespace"] = False
        super().__init__(**kwargs)
        if self.allow_blank:
            rule = RegexValidator(TEXT_PATTERN, message="Text without NUL characters.", code="invalid")
        else:
            message = "Text with something besides whitespace, and without NUL characters."
            rule = RegexValidator(NON_BLANK_TEXT_PATTERN, message=message, code="blank")
        self.validators.append(rule)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return data

    def run_validation(self, data: Any = empty) -> Any:
        value = super().run_validation(data)
        return value.strip() if isinstance(value, str) else value


class PatternField(serializers.CharField):
    """A JSON string that must match `pattern` (a full match, written with \\A and \\Z) as sent."""

    def __init__(self, *, pattern: str, message: str, **kwargs: Any) -> None:
        kwargs["trim_whitespace"] = False
        super().__init__(**kwargs)
        self.validators.append(RegexValidator(pattern, message=message, code="invalid"))

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return data


class StrictBooleanField(serializers.BooleanField):
    """true or false: not "yes", "on", 1 or "true" in quotes."""

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)
        raise AssertionError  # fail() raises


class StrictIntegerField(serializers.IntegerField):
    """A JSON number without a fraction: not "7" in quotes, not true."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, float) and data.is_integer():
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return data


class StrictFloatField(serializers.FloatField):
    """A JSON number: not "1.5" in quotes, not true."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        return float(data)


class EnumTextField(serializers.CharField):
    """A string from a fixed set, published once as a named schema component (`component`)."""

    component = ""
    description = ""
    message = ""
    values: Callable[[], frozenset[str]]  # the allowed strings

    def __init__(self, **kwargs: Any) -> None:
        kwargs["trim_whitespace"] = False
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or data not in self.values():
            raise serializers.ValidationError(self.message.format(value=data))
        return data


class TimezoneField(EnumTextField):
    component = "Timezone"
    description = "An IANA time zone name."
    message = "'{value}' is not a known IANA time zone."
    values = staticmethod(available_timezones)


@cache
def _currencies() -> frozenset[str]:
    return frozenset(currency.alpha_3 for currency in pycountry.currencies)


class CurrencyField(EnumTextField):
    component = "Currency"
    description = "An ISO 4217 currency code."
    message = "'{value}' is not an ISO 4217 currency code."
    values = staticmethod(_currencies)


class EnumTextFieldExtension(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    """One named component per set (hundreds of zones), referenced wherever a field takes one."""

    target_class = EnumTextField
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> Any:
        field = self.target
        component = ResolvedComponent(  # type: ignore[no-untyped-call]
            name=field.component,
            type=ResolvedComponent.SCHEMA,
            object=field.component,
            schema={"type": "string", "enum": sorted(field.values()), "description": field.description},
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


def openapi_pattern(pattern: str) -> str:
    """A Python pattern written with \\A and \\Z, as the schema spells it (what drf-spectacular does for fields)."""
    return (
        pattern.encode("ascii", "backslashreplace")
        .decode()
        .replace(r"\x", r"\u00")
        .replace(r"\A", "^")
        .replace(r"\Z", "$")
    )


def query_flag(query: Any, name: str) -> bool:
    """A boolean query parameter: absent or "false" is False, "true" is True, anything else a 400 naming it."""
    value = query.get(name)
    if value is None or value == "false":
        return False
    if value == "true":
        return True
    raise serializers.ValidationError({name: ["Use true or false."]})
