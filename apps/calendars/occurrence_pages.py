"""A window's occurrences a page at a time, each page costing about what it returns.

Expanding the whole window for every page made reading a year 100 occurrences at a time cost the window's
expansion once per page. Here a page resumes after the last occurrence the previous one returned (its
`Position`, carried in the cursor) and reads only what it needs:

- Plans are read in batches ordered by the earliest start their series can have (`Plan.series_start_utc`), so a
  plan is read only once the page has reached the time its first occurrence could start.
- Each plan's occurrences come from a stream that expands its series over growing spans (two weeks, then
  doubling) from where the page starts, and the streams are merged in the window's order.

Order: start, then plan id, then end and recurrence id (a total order, so a position is exact).

A page's bounds depend on its calendar's time zone (a date is midnight there). `first_batch` reads that zone and the
page's first batch of plans in one query, over bounds that hold the window in any zone: a page is then one round
trip to the database rather than two.
"""

from __future__ import annotations

import base64
import heapq
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import F, Q, QuerySet

from apps.calendars import recurrence
from apps.calendars.models import Calendar, Plan, PlanStatus
from apps.calendars.window_slots import PlanRow, plan_rows_of, plan_value_position, plan_values, reaching
from apps.core import queries

FIRST_SPAN = timedelta(days=14)  # a recurring plan's first expansion; each next one is twice as long
BATCH_ROWS = 250  # plans (with their override rows) read per query

SortKey = tuple[datetime, int, datetime, str]


@dataclass(frozen=True)
class Position:
    """The last occurrence a page returned: the next page starts after it."""

    start_utc: datetime
    plan_id: int
    end_utc: datetime
    recurrence_id: str

    @property
    def key(self) -> SortKey:
        return (self.start_utc, self.plan_id, self.end_utc, self.recurrence_id)

    def encode(self) -> str:
        raw = json.dumps([self.start_utc.isoformat(), self.plan_id, self.end_utc.isoformat(), self.recurrence_id])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Position:
        """ValueError when the text is not a cursor this module wrote."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            start, plan_id, end, recurrence_id = json.loads(raw)
            position = cls(datetime.fromisoformat(start), int(plan_id), datetime.fromisoformat(end), recurrence_id)
        except (ValueError, TypeError, RecursionError) as exc:
            raise ValueError(_NOT_A_CURSOR) from exc
        aware = position.start_utc.utcoffset() is not None and position.end_utc.utcoffset() is not None
        if not aware or not isinstance(recurrence_id, str):
            raise ValueError(_NOT_A_CURSOR)
        return position


_NOT_A_CURSOR = "Not a cursor of this list: use the `next` link as it is."


@dataclass(frozen=True, slots=True)
class PageOccurrence:
    """One occurrence on a page: its plan as read (a PlanRow, no model instance) and the occurrence."""

    plan: PlanRow
    occurrence: recurrence.Occurrence

    @property
    def status(self) -> str:
        if self.occurrence.cancelled:
            return PlanStatus.CANCELLED
        return self.occurrence.status or self.plan.status

    @property
    def title(self) -> str:
        return self.occurrence.title or self.plan.title


def sort_key(item: PageOccurrence) -> SortKey:
    o = item.occurrence
    return (o.start_utc, item.plan.pk, o.end_utc, o.recurrence_id)


@dataclass(frozen=True)
class FirstBatch:
    """A calendar's time zone and the first batch of plans a page of it reads, read together over [lo, end)."""

    timezone: str
    calendar_id: int
    lo: datetime
    end: datetime
    rows: list[tuple[Any, ...]]

    def serves(self, calendar_ids: list[int], lo: datetime, end: datetime) -> bool:
        """Whether these rows are the first batch of a page from `lo` to `end`. Read over a wider window, they
        hold every plan reaching the page up to the last one read, in order, and maybe more: those have no
        occurrence in the page, and the next batch starts after the last one read either way."""
        return calendar_ids == [self.calendar_id] and self.lo <= lo and end <= self.end


def first_batch(
    *, owner_id: int, calendar_id: int, start: datetime, end: datetime, after: Position | None = None
) -> FirstBatch | None:
    """The time zone of the person's calendar and the first batch a page of it from `start` to `end` after `after`
    reads, in one query: give bounds that hold the page's in any zone (apps.core.api.windows.window_in_any_zone),
    since they depend on that zone. None when the calendar is not the person's."""
    lo = min(end, start if after is None else max(start, after.start_utc))  # a cursor past the end: no plans
    values = _BatchValues([calendar_id], lo, end, None, 0)
    if connection.vendor != "postgresql":
        timezone = Calendar.objects.filter(owner_id=owner_id, pk=calendar_id).values_list("timezone", flat=True)
        if not timezone:
            return None
        return FirstBatch(timezone[0], calendar_id, lo, end, list(_batch_query(_FIRST, values)))
    named = {"lo": lo, "end": end, "calendar 0": calendar_id, "owner": owner_id}
    found = queries.rows(_compiled_owned_first_batch(), named)
    if not found:
        return None
    # A calendar without plans in the window is one row of NULLs beside its zone.
    rows = [row[1:] for row in found if row[1] is not None]
    return FirstBatch(found[0][0], calendar_id, lo, end, rows)


def page(
    *,
    calendar_ids: list[int],
    start: datetime,
    end: datetime,
    size: int,
    after: Position | None = None,
    include_cancelled: bool = False,
    first: FirstBatch | None = None,
) -> tuple[list[PageOccurrence], Position | None]:
    """Up to `size` occurrences overlapping [start, end) after `after`, and the position to continue from
    (None on the last page). The pages together hold exactly what `selectors.occurrences` lists at once.
    Usually one query: the plans (with their overrides) reaching the page, none when `first` holds them."""
    lo = start if after is None else max(start, after.start_utc)
    if lo >= end:  # a cursor from a later window
        return [], None
    # Occurrences that start before `lo` but reach into it belong to the window only when `lo` is its start.
    keep_earlier = lo == start
    after_key = after.key if after is not None else None
    first_rows = first.rows if first is not None and first.serves(calendar_ids, lo, end) else None
    plans = _PlanBatches(calendar_ids, lo, end, first_rows)
    heap: list[_Entry] = []
    found: list[PageOccurrence] = []
    while len(found) <= size:
        # A plan not read yet has no occurrence before `plans.reached`: read on until the next one is earlier.
        while not plans.done and (not heap or plans.reached is None or heap[0][0][0] >= plans.reached):
            for plan in plans.next_batch():
                stream = _stream(plan, lo, end, keep_earlier, after_key, include_cancelled)
                _push(heap, stream)
        if not heap:
            break
        _, _, item, stream = heapq.heappop(heap)
        found.append(item)
        _push(heap, stream)
    if len(found) <= size:
        return found, None
    last = found[size - 1]
    position = Position(last.occurrence.start_utc, last.plan.pk, last.occurrence.end_utc, last.occurrence.recurrence_id)
    return found[:size], position


# (key, a tie-breaker that never compares the items, the item, the rest of its plan's occurrences)
_Entry = tuple[SortKey, int, PageOccurrence, Iterator[PageOccurrence]]
_ties = itertools.count()


def _push(heap: list[_Entry], stream: Iterator[PageOccurrence]) -> None:
    item = next(stream, None)
    if item is not None:
        heapq.heappush(heap, (sort_key(item), next(_ties), item, stream))


def _stream(
    plan: PlanRow,
    lo: datetime,
    end: datetime,
    keep_earlier: bool,
    after_key: SortKey | None,
    include_cancelled: bool,
) -> Iterator[PageOccurrence]:
    """The plan's occurrences from `lo` in the window's order, expanded a growing span at a time."""
    series = plan.series
    span = FIRST_SPAN if series.is_recurring else end - lo
    begin = lo
    while begin < end:
        finish = min(end, begin + span)
        for occurrence in recurrence.expand(series, begin, finish):
            if occurrence.start_utc < begin and not (keep_earlier and begin == lo):
                continue  # listed with the span before, or before the window
            item = PageOccurrence(plan=plan, occurrence=occurrence)
            if after_key is not None and sort_key(item) <= after_key:
                continue
            if include_cancelled or item.status != PlanStatus.CANCELLED:
                yield item
        begin, span = finish, span * 2


class _PlanBatches:
    """The plans whose series can reach [lo, end), in order of their earliest start (unknown, NULL, first)."""

    def __init__(
        self, calendar_ids: list[int], lo: datetime, end: datetime, first_rows: list[tuple[Any, ...]] | None = None
    ) -> None:
        self.calendar_ids, self.lo, self.end = list(calendar_ids), lo, end
        self.first_rows = first_rows  # the first batch's rows, when read already (FirstBatch)
        self.done = False
        self.reached: datetime | None = None  # the earliest start of the last plan read (None: unknown)
        self.last_pk = 0
        self.started = False

    def next_batch(self) -> list[PlanRow]:
        if not self.started and self.first_rows is not None:
            rows = self.first_rows
        else:
            shape = _FIRST if not self.started else _AFTER_UNKNOWN if self.reached is None else _AFTER
            rows = _batch_rows(shape, _BatchValues(self.calendar_ids, self.lo, self.end, self.reached, self.last_pk))
        batch, complete = plan_rows_of(rows, BATCH_ROWS)
        self.started = True
        self.done = complete
        if batch:
            self.reached, self.last_pk = batch[-1].series_start_utc, batch[-1].pk
        return batch


# --- The batch query, compiled once per shape on PostgreSQL ---------------------------------------------------
# Building and compiling it through the ORM was a fifth of an occurrences request (docs/benchmarks.md, "second
# pass"); as window_slots.window_rows does, the SQL is compiled once with stand-in values, which then name each
# parameter. Its columns need no converting on PostgreSQL (a test holds both paths equal).

_FIRST, _AFTER_UNKNOWN, _AFTER = "first", "after unknown", "after"


@dataclass(frozen=True)
class _BatchValues:
    calendar_ids: list[int]
    lo: datetime
    end: datetime
    reached: datetime | None
    last_pk: int


def _batch_query(shape: str, values: _BatchValues) -> QuerySet[Plan, tuple[Any, ...]]:
    plans = reaching(Plan.objects.filter(calendar_id__in=values.calendar_ids), values.lo, values.end)
    if shape == _AFTER_UNKNOWN:
        plans = plans.filter(Q(series_start_utc__isnull=False) | Q(pk__gt=values.last_pk))
    elif shape == _AFTER:
        plans = plans.filter(
            Q(series_start_utc__gt=values.reached) | Q(series_start_utc=values.reached, pk__gt=values.last_pk)
        )
    return plan_values(plans, (F("series_start_utc").asc(nulls_first=True), "pk"))[:BATCH_ROWS]


def _batch_rows(shape: str, values: _BatchValues) -> list[tuple[Any, ...]]:
    if connection.vendor != "postgresql":
        return list(_batch_query(shape, values))
    named = {"lo": values.lo, "end": values.end, "reached": values.reached, "last_pk": values.last_pk}
    named.update((f"calendar {i}", calendar_id) for i, calendar_id in enumerate(values.calendar_ids))
    return queries.rows(_compiled_batch(shape, len(values.calendar_ids)), named)


@lru_cache(maxsize=16)
def _compiled_batch(shape: str, calendars: int) -> tuple[str, tuple[str, ...]]:
    stand_ins: dict[Any, str] = {
        datetime(1900, 1, 1, 3, tzinfo=UTC): "lo",
        datetime(1900, 1, 1, 4, tzinfo=UTC): "end",
        datetime(1900, 1, 1, 5, tzinfo=UTC): "reached",
        -2_000_001: "last_pk",
    }
    stand_ins.update({-3_000_000 - i: f"calendar {i}" for i in range(calendars)})
    value = {name: stand_in for stand_in, name in stand_ins.items()}
    calendar_ids = [value[f"calendar {i}"] for i in range(calendars)]
    query = _batch_query(
        shape, _BatchValues(calendar_ids, value["lo"], value["end"], value["reached"], value["last_pk"])
    )
    return queries.compiled(query, stand_ins)


@lru_cache(maxsize=1)
def _compiled_owned_first_batch() -> tuple[str, tuple[str, ...]]:
    """The first batch of one calendar beside its time zone, the calendar read only for its owner: no row when it
    is not theirs, one row of NULLs beside the zone when no plan reaches the window. The join need not keep the
    batch's order, so the outer query orders again, by position (after the zone): start (unknown first), plan,
    override."""
    sql, names = _compiled_batch(_FIRST, 1)
    start, pk, override = (
        2 + plan_value_position(field) for field in ("series_start_utc", "pk", "overrides__recurrence_id")
    )
    table = connection.ops.quote_name(Calendar._meta.db_table)
    owned = (
        f'SELECT calendar."timezone", batch.* FROM {table} calendar LEFT JOIN ({sql}) batch ON TRUE '  # noqa: S608  # nosec B608
        f'WHERE calendar."id" = %s AND calendar."owner_id" = %s '
        f"ORDER BY {start} ASC NULLS FIRST, {pk} ASC, {override} ASC"
    )
    return owned, (*names, "calendar 0", "owner")
