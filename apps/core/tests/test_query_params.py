"""apps.core.api.params.QueryParams: the same answers and errors as a plain DRF serializer with the same fields,
while each instance gets fields of its own without deep-copying them."""

from typing import Any

import pytest
from rest_framework import serializers

from apps.core.api.params import QueryParams


def _declared() -> dict[str, serializers.Field[Any, Any, Any, Any]]:
    """The same fields for both serializers below, declared as a view's parameters serializer declares them."""
    return {
        "kind": serializers.ListField(child=serializers.ChoiceField(choices=["music", "film"]), required=False),
        "radius_km": serializers.FloatField(required=False, min_value=0.1, max_value=500, default=25),
        "sort": serializers.ChoiceField(choices=["start", "distance"], required=False, default="start"),
    }


Shallow = type("Shallow", (QueryParams,), _declared())
Deep = type("Deep", (serializers.Serializer,), _declared())

CASES = [
    {},
    {"kind": ["music"], "radius_km": "3.5", "sort": "distance"},
    {"kind": ["music", "theatre"]},  # the list's second item is refused, under the list's name
    {"radius_km": "0"},
    {"radius_km": "many", "sort": "random"},
]


@pytest.mark.parametrize("data", CASES)
def test_it_answers_as_a_plain_serializer(data: dict[str, Any]) -> None:
    shallow, deep = Shallow(data=data), Deep(data=data)
    assert shallow.is_valid() == deep.is_valid()
    assert shallow.errors == deep.errors
    if not deep.errors:
        assert shallow.validated_data == deep.validated_data


def test_each_instance_binds_fields_of_its_own_and_leaves_the_declared_ones_alone() -> None:
    first, second = Shallow(data={"sort": "start"}), Shallow(data={"sort": "distance"})
    assert first.fields["sort"] is not second.fields["sort"]
    assert first.fields["sort"].parent is first
    assert second.fields["sort"].parent is second
    assert Shallow._declared_fields["sort"].parent is None  # never bound: the next instance copies it clean
    assert first.is_valid()
    assert second.is_valid()
    assert (first.validated_data["sort"], second.validated_data["sort"]) == ("start", "distance")
