"""A page of the catalogue search (GET /api/v1/events) as SQL compiled once per shape of question.

Building the search's queryset and compiling it through the ORM took more CPU than PostgreSQL took to answer it
(docs/benchmarks.md). The SQL depends only on which filters a search uses (its shape), not on their values: each
shape is built once with stand-in values (apps.core.queries.compiled), kept, and run with the search's own values
as a prepared statement (apps.core.queries.prepared_cursor): PostgreSQL plans it once per connection, not once per
search, where planning cost more than running it. Its constants (the status the partial search indexes leave out)
are written into the SQL, so that the plan made once for every value can use those indexes.
Searches by text or by part of the day take the ORM path (their SQL depends on more than the shape), and so does
SQLite (`make run`), whose rows need the ORM's converters; a test holds both paths equal.
"""

import functools
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, FloatField

from apps.core.queries import compiled, prepared_cursor
from apps.events.models import Event, EventStatus
from apps.events.selectors import (
    EARTH_RADIUS_KM,
    STARTED_GRACE,
    EventSearch,
    bounding_box,
    events_search_rows,
    great_circle_terms,
)

Row = dict[str, Any]
# The columns a cursor position may be on (the paginations' first ordering field), and how each reads a position.
POSITION_FIELDS: dict[str, Field[Any, Any]] = {
    "start_utc": Event._meta.get_field("start_utc"),
    "distance_km": FloatField(),
}
# Stand-ins: distinct from each other and from the constants, and neither 0 nor 1 (True == 1 in a dict key).
_LAT, _LON, _RADIUS = 10.123456789, 20.987654321, 7.654321
_PRICE = Decimal("987654.32")
_STARTS_AFTER = datetime(1901, 2, 3, tzinfo=UTC)
_STARTS_BEFORE = datetime(1902, 3, 4, tzinfo=UTC)
_NOT_OVER_AT = datetime(1903, 4, 5, tzinfo=UTC)
_POSITIONS = {"start_utc": datetime(1904, 5, 6, tzinfo=UTC), "distance_km": 0.123456789}
# The values of _values() that are the same for every search: written into the SQL rather than bound.
_CONSTANTS = frozenset({"cancelled", "earth_radius"})


@dataclass(frozen=True)
class _Shape:
    """What the SQL of a page depends on: which filters are used, the order, and the cursor's comparison."""

    vendor: str
    search: EventSearch  # the search with stand-in values (and the caller's booleans)
    ordering: tuple[str, ...]
    position_lookup: str | None  # e.g. "start_utc__gt"


def _values(search: EventSearch, position_lookup: str | None, position: Any) -> dict[str, Any]:
    """Every value the search's SQL takes, by name (for the stand-in search, the stand-ins themselves)."""
    values: dict[str, Any] = {"cancelled": EventStatus.CANCELLED, "earth_radius": EARTH_RADIUS_KM}
    values |= {"true": True, "false": False}
    if search.near is not None:
        lat, lon = search.near
        lat_min, lat_max, lon_min, lon_max = bounding_box(lat, lon, search.radius_km)
        lat_radians, cos_lat, lon_radians = great_circle_terms(lat, lon)
        values |= {"lat_min": lat_min, "lat_max": lat_max, "lat_radians": lat_radians, "cos_lat": cos_lat}
        values |= {"lon_radians": lon_radians, "radius_km": search.radius_km}
        if lon_min is not None:
            values |= {"lon_min": lon_min, "lon_max": lon_max}
    if search.starts_after is not None:
        values["starts_after"] = search.starts_after
    if search.starts_before is not None:
        values["starts_before"] = search.starts_before
    for index, category in enumerate(search.categories):
        values[f"category_{index}"] = category
    if search.price_max is not None:
        values["price_max"] = search.price_max
    if search.not_over_at is not None:
        values |= {"not_over_at": search.not_over_at, "started_before": search.not_over_at - STARTED_GRACE}
    if position_lookup is not None:
        values["position"] = position
    return values


def _stand_in_search(search: EventSearch) -> EventSearch:
    """The search with each value replaced by its stand-in: equal for every search of the same shape."""
    near = None
    if search.near is not None:
        # Near the poles the box has no longitude bounds: that is another shape, kept by the stand-in's latitude.
        near = (_LAT if bounding_box(*search.near, search.radius_km)[2] is not None else 89.987654321, _LON)
    return replace(
        search,
        near=near,
        radius_km=_RADIUS,
        starts_after=_STARTS_AFTER if search.starts_after is not None else None,
        starts_before=_STARTS_BEFORE if search.starts_before is not None else None,
        categories=tuple(f"\x00category {index}" for index in range(len(search.categories))),
        price_max=_PRICE if search.price_max is not None else None,
        not_over_at=_NOT_OVER_AT if search.not_over_at is not None else None,
    )


@functools.lru_cache(maxsize=1024)  # shapes are few (filters used x orderings x cursor); bounded all the same
def _compiled(shape: _Shape) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The shape's SQL (ordered, without LIMIT), its parameters' names, and the names of its columns."""
    position = _POSITIONS.get(shape.position_lookup.rsplit("__", 1)[0]) if shape.position_lookup else None
    rows = events_search_rows(shape.search).order_by(*shape.ordering)
    if shape.position_lookup is not None:
        rows = rows.filter(**{shape.position_lookup: position})
    values = _values(shape.search, shape.position_lookup, position)
    sql, names = compiled(rows, {value: name for name, value in values.items()}, constants=_CONSTANTS)
    query = rows.query
    columns = tuple(query.selected or (*query.extra_select, *query.values_select, *query.annotation_select))
    return sql, names, columns


class SearchRows:
    """events_search_rows(search) as DRF's CursorPagination uses a queryset: ordered, filtered by the cursor's
    position, sliced (a list of rows of LIST_FIELDS). Only those three operations, in that order."""

    def __init__(
        self, search: EventSearch, ordering: tuple[str, ...] = ("start_utc", "id"), position: Row | None = None
    ) -> None:
        self.search = search
        self.ordering = ordering
        self.position = position or {}  # {"start_utc__gt": "2026-12-05 19:00:00+00:00"}: at most one

    def order_by(self, *fields: str) -> "SearchRows":
        return SearchRows(self.search, tuple(fields), self.position)

    def filter(self, **lookup: Any) -> "SearchRows":
        if self.position or len(lookup) != 1:
            raise TypeError("SearchRows takes one position filter")
        (name, value), *_ = lookup.items()
        field, _, comparison = name.rpartition("__")
        if field not in POSITION_FIELDS or comparison not in ("gt", "lt"):
            raise TypeError(f"SearchRows cannot filter by {name}")
        return SearchRows(self.search, self.ordering, {name: value})

    def __getitem__(self, window: slice) -> list[Row]:
        start, stop = window.start or 0, window.stop
        if window.step is not None or stop is None or start < 0 or stop < start:
            raise TypeError("SearchRows takes a slice [start:stop]")
        connection = connections[router.db_for_read(Event)]
        if self.search.q or self.search.times_of_day or connection.vendor != "postgresql":
            return list(events_search_rows(self.search).order_by(*self.ordering).filter(**self.position)[start:stop])
        sql, params, columns = self._page(connection, start, stop)
        with prepared_cursor(connection) as cursor:  # which also reads timestamps with psycopg's compiled reader
            cursor.execute(sql, params)
            found = cursor.fetchall()
        return [dict(zip(columns, row, strict=True)) for row in found]

    def statement(self, start: int, stop: int) -> tuple[str, list[Any]]:
        """The SQL of the page [start:stop] and its parameters, as a prepared statement runs them on PostgreSQL (for
        apps.core.queries.generic_plan). For a search by text or by part of the day, which the ORM reads: an error."""
        if self.search.q or self.search.times_of_day:
            raise TypeError("A search by text or by part of the day is not compiled")
        sql, params, _ = self._page(connections[router.db_for_read(Event)], start, stop)
        return sql, params

    def _page(self, connection: BaseDatabaseWrapper, start: int, stop: int) -> tuple[str, list[Any], tuple[str, ...]]:
        lookup, position = next(iter(self.position.items()), (None, None))
        if lookup is not None:
            # As the ORM reads the cursor's text for that column (a bad one fails the same way).
            position = POSITION_FIELDS[lookup.rsplit("__", 1)[0]].get_db_prep_value(position, connection)
        shape = _Shape(connection.vendor, _stand_in_search(self.search), self.ordering, lookup)
        sql, names, columns = _compiled(shape)
        values = _values(self.search, lookup, position)
        paged = f"{sql} LIMIT %s OFFSET %s"  # nosec B608  (SQL the ORM compiled; values are parameters)
        return paged, [*(values[name] for name in names), stop - start, start], columns
