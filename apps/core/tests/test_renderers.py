"""The API's orjson renderer writes what DRF's JSONRenderer writes (apps.core.api.renderers)."""

import json
import uuid
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st
from rest_framework import renderers as drf_renderers

from apps.core.api.renderers import JSONRenderer, render_json

DRF = drf_renderers.JSONRenderer()

# What serializers hand the renderer: JSON's own values, and the Python ones DRF's encoder knows.
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.text(),
    st.datetimes(timezones=st.one_of(st.none(), st.just(UTC), st.timezones())),
    st.dates(),
    st.times(),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**9, min_value=-(10**9)),
    st.uuids(),
    st.timedeltas(),
)
documents = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=8) | st.integers(-5, 5), children, max_size=4)
    ),
    max_leaves=20,
)


@given(documents)
def test_it_writes_the_bytes_drf_writes(document):
    assert render_json(document) == DRF.render(document)


finite_floats = st.floats(allow_nan=False, allow_infinity=False)


@given(st.recursive(finite_floats, lambda children: st.lists(children, max_size=4), max_leaves=10))
def test_floats_are_the_same_numbers(document):
    # orjson spells some floats its own way (1e-7 for 1e-07): the same number.
    assert json.loads(render_json(document)) == json.loads(DRF.render(document))


def test_values_orjson_cannot_write_take_drf_s_path():
    huge = {"n": 2**70, "lazy": gettext_lazy("Saturday"), "amount": Decimal("12.50")}
    assert render_json(huge) == DRF.render(huge) == b'{"n":1180591620717411303424,"lazy":"Saturday","amount":12.5}'
    deep: list[object] = []
    for _ in range(300):
        deep = [deep]
    assert render_json(deep) == DRF.render(deep)


def test_a_float_json_cannot_hold_is_null_where_drf_refused_it():
    assert render_json([float("nan"), float("inf")]) == b"[null,null]"


def test_javascript_line_separators_are_escaped():
    assert render_json({"title": "a\u2028b\u2029c"}) == b'{"title":"a\\u2028b\\u2029c"}'


def test_dates_are_written_as_drf_writes_them():
    london_winter = datetime(2026, 12, 19, 18, tzinfo=zoneinfo.ZoneInfo("Europe/London"))
    document = [datetime(2026, 12, 19, 18, 0, 0, 5, tzinfo=UTC), london_winter, date(2026, 12, 19), time(9, 30)]
    assert render_json(document) == b'["2026-12-19T18:00:00.000005Z","2026-12-19T18:00:00Z","2026-12-19","09:30:00"]'
    others = [timedelta(minutes=90), uuid.UUID(int=1)]
    assert render_json(others) == DRF.render(others)


def test_an_aware_time_is_refused_as_drf_refuses_it():
    with pytest.raises(ValueError, match="timezone-aware"):
        render_json([time(9, 30, tzinfo=UTC)])


def test_pretty_printing_is_drf_s():
    document = {"a": [1, 2], "b": None}
    indented = JSONRenderer().render(document, "application/json; indent=2", {})
    assert indented == DRF.render(document, "application/json; indent=2", {})
    assert indented == b'{\n  "a": [\n    1,\n    2\n  ],\n  "b": null\n}'


def test_nothing_is_an_empty_body():
    assert render_json(None) == b""


def test_the_api_answers_through_it(client):
    response = client.get("/api/v1/categories")
    assert response.status_code == 200
    assert response.content == render_json(response.json())
