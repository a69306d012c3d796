"""A window's occurrences a page at a time, each page costing about what it returns.

Expanding the whole window for every page made reading a year 100 occurrences at a time cost the window's
expansion once per page. Here a page resumes after the last occurrence the previous one returned (its
`Position`, carried in the cursor) and reads only what it needs:

- Plans are read in batches ordered by the earliest start their series can have (`Plan.series_start_utc`), so a
  plan is read only once the page has reached the time its first occurrence could start.
- Each plan's occurrences come from a stream that expands its series over growing spans (two weeks, then
  doubling) from where the page starts, and the streams are merged in the window's order.

Order: start, then plan id, then end and recurrence id (a total order, so a position is exact).
"""

from __future__ import annotations

import base64
import heapq
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, Q

from apps.calendars import recurrence
from apps.calendars.models import Plan, PlanStatus
from apps.calendars.window_slots import PlanRow, plan_rows, reaching

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


def page(
    *,
    calendar_ids: list[int],
    start: datetime,
    end: datetime,
    size: int,
    after: Position | None = None,
    include_cancelled: bool = False,
) -> tuple[list[PageOccurrence], Position | None]:
    """Up to `size` occurrences overlapping [start, end) after `after`, and the position to continue from
    (None on the last page). The pages together hold exactly what `selectors.occurrences` lists at once.
    Usually one query: the plans (with their overrides) reaching the page."""
    lo = start if after is None else max(start, after.start_utc)
    # Occurrences that start before `lo` but reach into it belong to the window only when `lo` is its start.
    keep_earlier = lo == start
    after_key = after.key if after is not None else None
    plans = _PlanBatches(calendar_ids, lo, end)
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

    def __init__(self, calendar_ids: list[int], lo: datetime, end: datetime) -> None:
        self.plans = reaching(Plan.objects.filter(calendar_id__in=calendar_ids), lo, end)
        self.done = False
        self.reached: datetime | None = None  # the earliest start of the last plan read (None: unknown)
        self.last_pk = 0
        self.started = False

    def next_batch(self) -> list[PlanRow]:
        plans = self.plans
        if self.started:
            if self.reached is None:
                plans = plans.filter(Q(series_start_utc__isnull=False) | Q(pk__gt=self.last_pk))
            else:
                plans = plans.filter(
                    Q(series_start_utc__gt=self.reached) | Q(series_start_utc=self.reached, pk__gt=self.last_pk)
                )
        order = (F("series_start_utc").asc(nulls_first=True), "pk")
        batch, complete = plan_rows(plans, order=order, limit=BATCH_ROWS)
        self.started = True
        self.done = complete
        if batch:
            self.reached, self.last_pk = batch[-1].series_start_utc, batch[-1].pk
        return batch
