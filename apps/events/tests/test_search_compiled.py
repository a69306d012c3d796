"""The list's page query compiled once per shape (selectors_search.SearchRows) reads exactly what the ORM reads, and
the plan PostgreSQL makes once for its prepared statement can use the partial search indexes."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.queries import generic_plan
from apps.events import services
from apps.events.selectors import EventSearch, events_search_rows
from apps.events.selectors_search import SearchRows, _compiled
from apps.events.tests.factories import BERLIN, item, make_source, venue

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
CATEGORIES = ("music", "film", "sports")


@pytest.fixture
def catalogue() -> None:
    """Sixty events around Berlin (and two in the far north): ties on start, ends or none, free or priced,
    cancelled ones, and an event without a venue."""
    rng = random.Random(5)
    items = []
    for n in range(60):
        lat, lon = BERLIN[0] + rng.uniform(-0.3, 0.3), BERLIN[1] + rng.uniform(-0.4, 0.4)
        free = n % 5 == 0
        items.append(
            item(
                f"e{n}",
                start=START + timedelta(hours=rng.randrange(0, 60, 3)),  # many ties on start_utc
                end_utc=None if n % 7 == 0 else START + timedelta(hours=70),
                category=CATEGORIES[n % 3],
                status="cancelled" if n % 11 == 0 else "scheduled",
                is_free=free,
                price_min=None if free else Decimal(10 + n),
                price_max=None if free else Decimal(20 + n),
                venue=venue(f"v{n}", f"Venue {n}", lat, lon),
            )
        )
    items.append(item("nowhere", venue=None, start=START + timedelta(hours=5)))
    items += [item(f"north{n}", venue=venue(f"n{n}", "Svalbard", 89.99, 10.0 * n)) for n in range(2)]
    services.events_upsert(source=make_source(), items=items)


SEARCHES = [
    EventSearch(),
    EventSearch(near=BERLIN, radius_km=20),
    EventSearch(near=(52.6, 13.3), radius_km=15, categories=("music",), not_over_at=START + timedelta(hours=20)),
    EventSearch(starts_after=START + timedelta(hours=6), starts_before=START + timedelta(hours=40)),
    EventSearch(categories=("film", "music"), free=True),
    EventSearch(near=BERLIN, categories=("sports",), free=False, price_max=Decimal("40.5")),
    EventSearch(include_cancelled=True, price_max=Decimal("30")),
    EventSearch(near=(89.99, 0.0), radius_km=50),  # no longitude bounds near the pole
    EventSearch(q="Concert e1"),  # the ORM's own path
    EventSearch(times_of_day=("evening",)),  # the ORM's own path
]
ORDERINGS = [("start_utc", "id"), ("-start_utc", "-id")]
NEAR_ORDERINGS = [("distance_km", "id"), ("-distance_km", "-id")]


def _pages(search: EventSearch, ordering: tuple[str, ...], lookup: dict[str, str]) -> None:
    for window in (slice(0, 4), slice(3, 11), slice(0, 200)):
        compiled = SearchRows(search).order_by(*ordering)
        orm = events_search_rows(search).order_by(*ordering)
        if lookup:
            compiled, orm = compiled.filter(**lookup), orm.filter(**lookup)
        assert compiled[window] == list(orm[window]), (search, ordering, lookup, window)


@pytest.mark.parametrize("search", SEARCHES)
def test_pages_equal_the_orm_for_every_shape_order_and_cursor(catalogue, search):
    orderings = ORDERINGS + (NEAR_ORDERINGS if search.near else [])
    everything = list(events_search_rows(search))
    assert everything, "a search that finds nothing proves little"
    for ordering in orderings:
        field = ordering[0].lstrip("-")
        _pages(search, ordering, {})
        # A cursor position as DRF writes it: str() of the column's value.
        position = str(sorted(row[field] for row in everything)[len(everything) // 2])
        for comparison in ("gt", "lt"):
            _pages(search, ordering, {f"{field}__{comparison}": position})


def test_the_values_change_and_the_sql_is_compiled_once(catalogue):
    _compiled.cache_clear()
    near_a = EventSearch(near=BERLIN, radius_km=10, categories=("music",))
    near_b = EventSearch(near=(52.45, 13.6), radius_km=30, categories=("film",))
    with CaptureQueriesContext(connection) as queries:
        rows_a = SearchRows(near_a).order_by("start_utc", "id")[0:100]
        rows_b = SearchRows(near_b).order_by("start_utc", "id")[0:100]
    assert len(queries) == 2
    assert _compiled.cache_info().currsize == 1  # one shape
    assert rows_a == list(events_search_rows(near_a).order_by("start_utc", "id")[:100])
    assert rows_b == list(events_search_rows(near_b).order_by("start_utc", "id")[:100])
    assert {row["category"] for row in rows_a} == {"music"}
    assert {row["start_utc"].tzinfo for row in rows_a} == {UTC}  # as Django's own reader gives them
    assert {row["category"] for row in rows_b} == {"film"}


def test_only_what_cursor_pagination_does_is_accepted():
    rows = SearchRows(EventSearch())
    with pytest.raises(TypeError):
        rows.filter(title="x")
    with pytest.raises(TypeError):
        rows.filter(start_utc__gt="2026-12-05", id__gt=3)
    with pytest.raises(TypeError):
        rows[::2]


def _generic_plan_indexes(search: EventSearch) -> set[str]:
    """The indexes of the plan PostgreSQL makes once for every value of the search's prepared statement."""
    page = SearchRows(search).order_by("start_utc", "id").statement(0, 50)
    # No table read whole for lack of a plan: the test's catalogue is small enough for a sequential scan to win.
    ((plan,),) = generic_plan(connection, *page, options=["FORMAT JSON"], settings={"enable_seqscan": "off"})

    def indexes(node: dict[str, Any]) -> set[str]:
        found = {node["Index Name"]} if "Index Name" in node else set()
        for child in node.get("Plans", []):
            found |= indexes(child)
        return found

    return indexes(plan["Plan"])


def test_the_generic_plan_is_explained_with_the_settings_given_and_leaves_them_as_they_were(catalogue):
    search = EventSearch(near=BERLIN, radius_km=20)
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_seqscan")
        assert cursor.fetchone() == ("on",)
        lines = generic_plan(connection, *SearchRows(search).statement(0, 50), settings={"enable_seqscan": "off"})
        assert any("Index" in line for line in lines)
        assert not any("Seq Scan" in line for line in lines)
        cursor.execute("SHOW enable_seqscan")
        assert cursor.fetchone() == ("on",)
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone() == ("auto",)
    with pytest.raises(ValueError, match="not allowed"):
        generic_plan(connection, *SearchRows(search).statement(0, 50), options=["ANALYZE); DROP TABLE x; --"])
    with pytest.raises(TypeError):
        SearchRows(EventSearch(q="jazz")).statement(0, 50)


@pytest.mark.parametrize(
    "search", [EventSearch(near=BERLIN, radius_km=20, categories=("music",)), EventSearch(near=BERLIN, radius_km=20)]
)
def test_the_plan_made_once_for_every_search_of_a_shape_can_use_the_partial_indexes(catalogue, search):
    """A prepared search is planned once for all its values. Were the status that the partial search indexes leave
    out a parameter, that plan could not use them: it read event_start_lat_idx and filtered, and cost the database
    twice the CPU of planning each search afresh (docs/benchmarks.md, fourteenth pass)."""
    assert _generic_plan_indexes(search) & {"event_search_idx", "event_category_search_idx"}
