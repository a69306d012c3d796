"""The plans whose series can reach a window, and a person's occurrences in a window as conflict slots.

The conflict checks run on every plan written through the API, so they read plain rows (no model instances)
and series compiled once per content (series_cache): building Plan objects, their prefetched overrides and
compiling every series again was most of a check's time.

On PostgreSQL the window test also goes through a GiST index on each plan's span (calendar, [earliest start,
latest end]: migration 0004), so a weekend's check reads the few dozen plans that reach it rather than every
plan that started before it.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Q, QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from apps.calendars import recurrence, series_cache
from apps.calendars.conflicts import Slot
from apps.calendars.models import Calendar, Plan, PlanOverride, PlanStatus
from apps.core import queries
from apps.users.models import User

# The expression migration 0004 indexes (it keeps a copy; a test holds the two equal): unknown bounds are
# unbounded, and the upper bound is never below the lower one (a range that ends before it starts is an error,
# and must never fail a write).
SPAN_SQL = (
    "tstzrange(COALESCE(series_start_utc, '-infinity'::timestamptz), "
    "GREATEST(COALESCE(series_start_utc, '-infinity'::timestamptz), "
    "COALESCE(series_end_utc, 'infinity'::timestamptz)), "
    "'[]')"
)

# What the readers here take of a plan: who it is and what it shows, then its series (window_slots.PlanRow).
_PLAN = ("pk", "calendar_id", "title", "status", "location", "lat", "lon", "series_start_utc")
_SERIES = (
    "timezone", "all_day", "start_local", "end_local", "start_date", "end_date", "rrule", "rdates_text", "exdates_text",
)  # fmt: skip
_OVERRIDES = tuple(f"overrides__{name}" for name in series_cache.OVERRIDE_FIELDS)


@dataclass(frozen=True, slots=True)
class PlanRow:
    """A plan as the window readers use it: no model instance, its series compiled (cached)."""

    pk: int
    calendar_id: int
    title: str
    status: str
    location: str
    lat: float | None
    lon: float | None
    series_start_utc: datetime | None
    series: recurrence.Series

    @property
    def recurring(self) -> bool:
        return self.series.is_recurring


def plan_rows(
    plans: QuerySet[Plan], *, order: tuple[Any, ...] = ("pk",), limit: int | None = None
) -> tuple[list[PlanRow], bool]:
    """The plans with their overrides in one query (a row per override: LEFT JOIN), in `order` (which must end in
    "pk"), and whether that was all of them. With `limit` (rows, not plans), a plan whose override rows the
    limit may have cut is left out (the next read starts from it), unless it is the only one, whose overrides
    are then read on their own."""
    values = plan_values(plans, order)
    return plan_rows_of(list(values if limit is None else values[:limit]), limit)


def plan_rows_of(rows: list[tuple[Any, ...]], limit: int | None) -> tuple[list[PlanRow], bool]:
    """plan_rows for rows already read through plan_values (with `limit` as their query's LIMIT)."""
    return _grouped(rows, limit)


def plan_values(plans: QuerySet[Plan], order: tuple[Any, ...] = ("pk",)) -> QuerySet[Plan, tuple[Any, ...]]:
    """The rows plan_rows groups: a plan's columns and its series, then one override per row."""
    return _values(plans, order)


def plan_value_position(field: str) -> int:
    """Where `field` ("pk", "series_start_utc", "overrides__recurrence_id"...) is among plan_values' columns."""
    return (*_PLAN, *_SERIES, *_OVERRIDES).index(field)


def _values(plans: QuerySet[Plan], order: tuple[Any, ...] = ("pk",)) -> QuerySet[Plan, tuple[Any, ...]]:
    # RDATE and EXDATE lists as their JSON text: almost always "[]", decoded once per distinct text (_dates).
    texts = {"rdates_text": Cast("rdates", TextField()), "exdates_text": Cast("exdates", TextField())}
    ordered = plans.annotate(**texts).order_by(*order, "overrides__recurrence_id")
    return ordered.values_list(*_PLAN, *_SERIES, *_OVERRIDES)


def _grouped(rows: list[tuple[Any, ...]], limit: int | None = None) -> tuple[list[PlanRow], bool]:
    grouped: dict[int, tuple[tuple[Any, ...], list[series_cache.OverrideRow]]] = {}
    for row in rows:
        _, overrides = grouped.setdefault(row[0], (row, []))
        if row[len(_PLAN) + len(_SERIES)] is not None:
            overrides.append(row[len(_PLAN) + len(_SERIES) :])
    if limit is not None and len(rows) == limit:
        if len(grouped) > 1:
            grouped.pop(rows[-1][0])
        else:
            (row, _), pk = next(iter(grouped.values())), rows[0][0]
            every = PlanOverride.objects.filter(plan_id=pk).order_by("recurrence_id")
            grouped[pk] = (row, list(every.values_list(*series_cache.OVERRIDE_FIELDS)))
    complete = limit is None or len(rows) < limit
    return [_plan_row(row, overrides) for row, overrides in grouped.values()], complete


def _plan_row(row: tuple[Any, ...], overrides: list[series_cache.OverrideRow]) -> PlanRow:
    pk, calendar_id, title, status, location, lat, lon, series_start_utc = row[: len(_PLAN)]
    timezone, all_day, start_local, end_local, start_date, end_date, rrule, rdates, exdates = row[
        len(_PLAN) : len(_PLAN) + len(_SERIES)
    ]
    series = series_cache.series(
        timezone=timezone,
        all_day=all_day,
        start_local=start_local,
        end_local=end_local,
        start_date=start_date,
        end_date=end_date,
        rrule=rrule,
        rdates=_dates(rdates),
        exdates=_dates(exdates),
        overrides=overrides,
    )
    return PlanRow(pk, calendar_id, title, status, location, lat, lon, series_start_utc, series)


def reaching(plans: QuerySet[Plan], start: datetime, end: datetime) -> QuerySet[Plan]:
    """The plans whose series may have an occurrence in [start, end): its earliest start is before the end, and
    it does not end before the start (None: unbounded). Moved occurrences count for both bounds."""
    plans = plans.filter(Q(series_start_utc__isnull=True) | Q(series_start_utc__lt=end)).filter(
        Q(series_end_utc__isnull=True) | Q(series_end_utc__gt=start)
    )
    if connection.vendor == "postgresql":  # the same test, in the indexed form (it admits a superset)
        # Constant SQL (SPAN_SQL is ours); the bounds are bound parameters.
        sql = f"{SPAN_SQL} && tstzrange(%s, %s, '[)')"
        overlaps = RawSQL(sql, (start, end), output_field=BooleanField())  # noqa: S611  # nosec B611
        plans = plans.filter(overlaps)
    return plans


@lru_cache(maxsize=4096)
def _dates(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text)) if text != "[]" else ()


def slots_in_window(*, owner: User, start: datetime, end: datetime, exclude_plan_id: int | None = None) -> list[Slot]:
    """One slot per occurrence of the owner's plans overlapping [start, end), cancelled ones left out: what
    selectors.occurrences gives, as the conflict checks take it. One query."""
    return _expanded(_grouped(window_rows(owner.pk, start, end, exclude_plan_id))[0], start, end)


def slots_in_window_of(*, owner_ids: list[int], start: datetime, end: datetime) -> dict[int, list[Slot]]:
    """slots_in_window for several people at once (the weekly digest's batch), each person's list as that gives
    it (plans in id order): two queries for everyone instead of one per person."""
    owner_of = dict(Calendar.objects.filter(owner_id__in=owner_ids).values_list("pk", "owner_id"))
    plans = reaching(Plan.objects.filter(calendar_id__in=list(owner_of)), start, end)
    by_owner: dict[int, list[PlanRow]] = {pk: [] for pk in owner_ids}
    for plan in _grouped(list(_values(plans)))[0]:
        by_owner[owner_of[plan.calendar_id]].append(plan)
    return {pk: _expanded(rows, start, end) for pk, rows in by_owner.items()}


def _expanded(plans: list[PlanRow], start: datetime, end: datetime) -> list[Slot]:
    slots = []
    for plan in plans:
        recurring = plan.recurring
        for o in recurrence.expand(plan.series, start, end):
            if o.cancelled or (o.status or plan.status) == PlanStatus.CANCELLED:
                continue
            slots.append(
                Slot(
                    plan.pk,
                    o.recurrence_id if recurring else None,
                    o.title or plan.title,
                    o.start_utc,
                    o.end_utc,
                    plan.lat,
                    plan.lon,
                    o.all_day,
                    plan.calendar_id,
                )
            )
    return slots


def window_query(
    owner_id: int, start: datetime, end: datetime, exclude_plan_id: int | None
) -> QuerySet[Plan, tuple[Any, ...]]:
    """The rows of slots_in_window, through the ORM."""
    plans = reaching(Plan.objects.filter(calendar__owner_id=owner_id), start, end)
    if exclude_plan_id is not None:
        plans = plans.exclude(pk=exclude_plan_id)
    return _values(plans)


def window_rows(owner_id: int, start: datetime, end: datetime, exclude_plan_id: int | None) -> list[tuple[Any, ...]]:
    """window_query's rows. On PostgreSQL its SQL is compiled once and reused with each call's values: building
    and compiling the query cost more CPU than the database spends answering it (the values need no converting
    there; a test holds the two paths equal)."""
    if connection.vendor != "postgresql":
        return list(window_query(owner_id, start, end, exclude_plan_id))
    values = {"owner": owner_id, "start": start, "end": end, "excluded": exclude_plan_id}
    return queries.rows(_compiled_window_sql(exclude_plan_id is not None), values)


# Stand-ins for the values, recognised in the compiled query's parameters to name each one.
_OWNER, _EXCLUDED = -1_000_001, -1_000_002
_START, _END = datetime(1900, 1, 1, 1, tzinfo=UTC), datetime(1900, 1, 1, 2, tzinfo=UTC)


@lru_cache(maxsize=2)
def _compiled_window_sql(excluding: bool) -> tuple[str, tuple[str, ...]]:
    query = window_query(_OWNER, _START, _END, _EXCLUDED if excluding else None)
    return queries.compiled(query, {_OWNER: "owner", _EXCLUDED: "excluded", _START: "start", _END: "end"})
