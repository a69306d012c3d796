"""One RRULE of a series in motion: its engine, its UNTIL read in the series' zone, and its COUNT instances."""

from __future__ import annotations

import bisect
import threading
import zoneinfo
from collections import OrderedDict
from datetime import datetime, time
from functools import lru_cache

from apps.calendars.recurrence.clock import UNTIL_SLACK, to_local, to_utc
from apps.calendars.recurrence.engine import Budget, Engine
from apps.calendars.recurrence.shapes import MAX_OCCURRENCES, Rule


@lru_cache(maxsize=4096)
def _engine(rule: Rule, dtstart: datetime) -> Engine:
    """Engines are immutable apart from their own caches, so the same rule from the same start is shared."""
    return Engine(rule, dtstart)


class RuleRun:
    """One RRULE of a series with its UNTIL read in the series' zone, and COUNT instances cached."""

    def __init__(self, rule: Rule, dtstart: datetime, zone: zoneinfo.ZoneInfo, all_day: bool) -> None:
        self.rule = rule
        self.engine = _engine(rule, dtstart.replace(microsecond=0, tzinfo=None))
        self.until_utc: datetime | None = None  # exact check for a UTC UNTIL of a timed series
        self.until_naive: datetime | None = None  # inclusive local bound
        until = rule.until
        if until is None:
            pass
        elif all_day:
            self.until_naive = datetime.combine(until.date() if isinstance(until, datetime) else until, time.max)
        elif isinstance(until, datetime) and until.tzinfo is not None:
            self.until_utc = until
            self.until_naive = to_local(until, zone) + UNTIL_SLACK
        elif isinstance(until, datetime):
            self.until_naive = until
        else:
            self.until_naive = datetime.combine(until, time.max)
        self.zone, self.all_day = zone, all_day
        self._materialized: tuple[tuple[datetime, ...], bool] | None = None
        self._lock = threading.Lock()

    def within_until(self, start: datetime) -> bool:
        if self.until_naive is None:
            return True
        if start > self.until_naive:
            return False
        return self.until_utc is None or to_utc(start, self.zone) <= self.until_utc

    def materialized(self) -> tuple[tuple[datetime, ...], bool]:
        """All instances of a COUNT rule (at most MAX_OCCURRENCES), and whether that is all of them."""
        if self._materialized is None:
            with self._lock:
                if self._materialized is None:
                    self._materialized = _materialize(self)
        return self._materialized

    def instances(self, lo: datetime, hi: datetime, budget: Budget) -> list[datetime]:
        if self.rule.count is not None:
            instances, _ = self.materialized()
            return list(instances[bisect.bisect_left(instances, lo) : bisect.bisect_right(instances, hi)])
        stop = hi if self.until_naive is None else min(hi, self.until_naive)
        result: list[datetime] = []
        for start in self.engine.iterate(self.engine.first_period(lo), stop, budget):
            if start >= lo and self.within_until(start):
                result.append(start)
        return result


_MATERIALIZED: OrderedDict[tuple[Rule, datetime, str, bool], tuple[tuple[datetime, ...], bool]] = OrderedDict()
_MATERIALIZED_LOCK = threading.Lock()
_MATERIALIZED_MAX = 512


def _materialize(run: RuleRun) -> tuple[tuple[datetime, ...], bool]:
    """A COUNT rule from its DTSTART: shared between Series objects of the same plan (small LRU)."""
    key = (run.rule, run.engine.dtstart, run.zone.key, run.all_day)
    with _MATERIALIZED_LOCK:
        found = _MATERIALIZED.get(key)
        if found is not None:
            _MATERIALIZED.move_to_end(key)
            return found
    count = run.rule.count or 0
    limit = min(count, MAX_OCCURRENCES)
    budget = Budget(limit)
    stop = run.until_naive or datetime.max
    instances: list[datetime] = []
    complete = False
    for start in run.engine.iterate(0, stop, budget):
        if not run.within_until(start):
            complete = True
            break
        instances.append(start)
    else:
        # The rule ran out (COUNT reached, UNTIL passed or year 9999) unless the budget stopped it.
        complete = len(instances) >= count or (budget.steps > 0 and budget.instances > 0)
    result = (tuple(instances), complete)
    with _MATERIALIZED_LOCK:
        _MATERIALIZED[key] = result
        while len(_MATERIALIZED) > _MATERIALIZED_MAX:
            _MATERIALIZED.popitem(last=False)
    return result
