"""The rule engine: the instances of one RRULE from one DTSTART, as naive local datetimes in order.

It follows dateutil's reading of RFC 5545 (which recurring-ical-events uses), but is bounded: it jumps straight
to a window instead of walking from DTSTART, a Budget caps the instances produced and the days (or clock periods)
examined per call, and a rule that can never match (BYMONTH=2;BYMONTHDAY=30) ends instead of looping.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from apps.calendars.recurrence.clock import ONE_DAY
from apps.calendars.recurrence.shapes import DAILY, HOURLY, MAX_STEPS, MINUTELY, MONTHLY, SECONDLY, WEEKLY, YEARLY, Rule


class Budget:
    """Counts instances produced and days (or clock periods) examined in one call; generation stops when
    either runs out."""

    __slots__ = ("instances", "steps")

    def __init__(self, instances: int, steps: int = MAX_STEPS) -> None:
        self.instances = instances
        self.steps = steps


class Engine:
    """The instances of one RRULE from one DTSTART, as naive local datetimes in order (dateutil's reading)."""

    def __init__(self, rule: Rule, dtstart: datetime) -> None:
        self.rule = rule
        self.dtstart = dtstart = dtstart.replace(microsecond=0, tzinfo=None)
        freq = rule.freq
        self.freq, self.interval, self.wkst = freq, rule.interval, rule.wkst
        bymonth, bymonthday, byday = rule.bymonth, rule.bymonthday, rule.byday
        if not (rule.byweekno or rule.byyearday or rule.bymonthday or rule.byday):
            if freq == YEARLY:
                bymonth = bymonth or (dtstart.month,)
                bymonthday = (dtstart.day,)
            elif freq == MONTHLY:
                bymonthday = (dtstart.day,)
            elif freq == WEEKLY:
                byday = ((dtstart.weekday(), 0),)
        self.bymonth = frozenset(bymonth)
        self.sorted_months = tuple(sorted(bymonth))
        self.bymonthday = bymonthday
        self.pos_monthdays = frozenset(d for d in bymonthday if d > 0)
        self.neg_monthdays = frozenset(d for d in bymonthday if d < 0)
        self.byyearday = frozenset(rule.byyearday)
        self.byweekno = rule.byweekno
        # The ordinal of BYDAY counts within the month or year only for MONTHLY and YEARLY (dateutil, RFC).
        self.plain_days = frozenset(wd for wd, n in byday if n == 0 or freq > MONTHLY)
        self.nth_days = tuple((wd, n) for wd, n in byday if n != 0 and freq <= MONTHLY)
        self.has_byday = bool(byday)
        self.byhour = frozenset(rule.byhour or ((dtstart.hour,) if freq < HOURLY else ()))
        self.byminute = tuple(sorted(rule.byminute or ((dtstart.minute,) if freq < MINUTELY else ())))
        self.bysecond = tuple(sorted(rule.bysecond or ((dtstart.second,) if freq < SECONDLY else ())))
        self.bysetpos = rule.bysetpos
        self.timeset = tuple(time(h, m, s) for h in sorted(self.byhour) for m in self.byminute for s in self.bysecond)
        # Candidate days come from expanding BYMONTHDAY where that is exact; otherwise a scan of the period.
        self.expand_monthdays = freq in (YEARLY, MONTHLY) and bool(bymonthday) and not (rule.byweekno or rule.byyearday)
        # ... or from BYDAY, when no BYMONTHDAY, BYYEARDAY or BYWEEKNO narrows the days.
        self.expand_weekdays = (
            freq in (YEARLY, MONTHLY) and bool(byday) and not (bymonthday or rule.byweekno or rule.byyearday)
        )
        self.filter_only_weekdays = not (self.bymonth or bymonthday or rule.byyearday or rule.byweekno or self.nth_days)
        self.week0 = dtstart.date() - timedelta(days=(dtstart.weekday() - rule.wkst) % 7)
        # From DAILY down, every period offers the same number of candidates: BYSETPOS beyond it never matches.
        per_period = {
            DAILY: len(self.timeset),
            HOURLY: len(self.byminute) * len(self.bysecond),
            MINUTELY: len(self.bysecond),
            SECONDLY: 1,
        }.get(freq)
        self.never = bool(self.bysetpos) and per_period is not None and all(abs(p) > per_period for p in self.bysetpos)
        self.simple = (
            freq in (DAILY, WEEKLY)
            and len(self.timeset) == 1
            and not self.bysetpos
            and (self.filter_only_weekdays if freq == WEEKLY else not (self.bymonth or bymonthday or self.has_byday))
            and not (rule.byyearday or rule.byweekno)
        )
        if freq == WEEKLY:
            self.simple_offsets = tuple(
                timedelta(days=d) for d in sorted((wd - rule.wkst) % 7 for wd in self.plain_days)
            )
        else:
            self.simple_offsets = (timedelta(0),)
        self._nth_cache: dict[tuple[int, int], frozenset[date]] = {}
        self._weekno_cache: dict[int, frozenset[int]] = {}

    # Periods --------------------------------------------------------------------------------------------------

    def first_period(self, lo: datetime) -> int:
        """An index of a period that starts no later than `lo` (so nothing at or after `lo` is skipped)."""
        start, freq, interval = self.dtstart, self.freq, self.interval
        if lo <= start:
            return 0
        if freq == YEARLY:
            periods = (lo.year - start.year) // interval
        elif freq == MONTHLY:
            periods = ((lo.year - start.year) * 12 + lo.month - start.month) // interval
        elif freq == WEEKLY:
            periods = (lo.date() - self.week0).days // (7 * interval)
        elif freq == DAILY:
            periods = (lo.date() - start.date()).days // interval
        else:
            periods = int((lo - self._anchor()).total_seconds() // (self._unit_seconds() * interval))
        return max(0, periods - 1)

    def _anchor(self) -> datetime:
        start = self.dtstart
        if self.freq == HOURLY:
            return start.replace(minute=0, second=0)
        if self.freq == MINUTELY:
            return start.replace(second=0)
        return start

    def _unit_seconds(self) -> int:
        return {HOURLY: 3600, MINUTELY: 60, SECONDLY: 1}[self.freq]

    def iterate(self, first_period: int, stop: datetime, budget: Budget) -> Iterator[datetime]:
        """Instances from period `first_period` on, up to `stop` (inclusive), within the budget."""
        if self.never:
            return
        if self.simple:
            yield from self._iterate_simple(first_period, stop, budget)
        elif self.freq <= DAILY:
            yield from self._iterate_days(first_period, stop, budget)
        else:
            yield from self._iterate_clock(first_period, stop, budget)

    def _take(self, candidates: list[datetime], stop: datetime, budget: Budget) -> tuple[list[datetime], bool]:
        """The candidates of one period that are instances (from DTSTART up to `stop`), charged to the budget,
        and whether generation ends with them (a candidate past `stop`, or the budget spent)."""
        taken: list[datetime] = []
        dtstart = self.dtstart
        for candidate in candidates:
            if candidate < dtstart:
                continue
            if candidate > stop:
                return taken, True
            budget.instances -= 1
            taken.append(candidate)
            if budget.instances <= 0:
                return taken, True
        return taken, False

    def _iterate_simple(self, period: int, stop: datetime, budget: Budget) -> Iterator[datetime]:
        """DAILY, or WEEKLY on some weekdays, at one time of day: plain date arithmetic."""
        dtstart = self.dtstart
        days_per_period = 1 if self.freq == DAILY else 7
        first_day = dtstart.date() if self.freq == DAILY else self.week0
        step = timedelta(days=days_per_period * self.interval)
        offsets = self.simple_offsets
        try:
            base = datetime.combine(first_day, self.timeset[0]) + step * period
        except OverflowError:
            return
        while budget.steps > 0 and budget.instances > 0:
            budget.steps -= days_per_period
            taken, done = self._take([base + offset for offset in offsets], stop, budget)
            yield from taken
            if done:
                return
            try:
                base += step
            except OverflowError:
                return

    def _iterate_days(self, period: int, stop: datetime, budget: Budget) -> Iterator[datetime]:
        stop_day = stop.date()
        while budget.steps > 0 and budget.instances > 0:
            try:
                period_start, examined, days = self._period(period)
            except (OverflowError, ValueError):
                return  # past year 9999
            budget.steps -= examined
            if period_start > stop_day:
                return
            period += 1
            if not days:
                continue
            if self.bysetpos:
                candidates = _setpos([datetime.combine(d, t) for d in days for t in self.timeset], self.bysetpos)
            else:
                candidates = [datetime.combine(d, t) for d in days for t in self.timeset]
            taken, done = self._take(candidates, stop, budget)
            yield from taken
            if done:
                return

    def _period(self, index: int) -> tuple[date, int, list[date]]:
        """The first day of period `index`, how many days were examined, and the matching days in order."""
        freq, step = self.freq, index * self.interval
        start = self.dtstart
        if freq == DAILY:
            day = start.date() + timedelta(days=step)
            return day, 1, [day] if self._day_ok(day, 0) else []
        if freq == WEEKLY:
            first = self.week0 + timedelta(days=7 * step)
            week = [first + timedelta(days=i) for i in range(7)]
            if self.filter_only_weekdays:
                return first, 7, [d for d in week if d.weekday() in self.plain_days]
            return first, 7, [d for d in week if self._day_ok(d, 0)]
        if freq == MONTHLY:
            serial = start.year * 12 + start.month - 1 + step
            year, month = divmod(serial, 12)
            month += 1
            first = date(year, month, 1)
            if self.bymonth and month not in self.bymonth:
                return first, 1, []
            days = self._month_candidates(year, month)
            return first, len(days) or 1, [d for d in days if self._day_ok(d, month)]
        year = start.year + step
        first = date(year, 1, 1)
        if self.expand_monthdays:
            months = self.sorted_months or tuple(range(1, 13))
            days = [d for m in months for d in self._month_candidates(year, m)]
        elif self.sorted_months and not (self.byweekno or self.byyearday):
            days = [d for m in self.sorted_months for d in self._month_candidates(year, m)]
        elif self.expand_weekdays:
            days = self._weekday_candidates(date(year, 1, 1), date(year, 12, 31), (year, 0))
        else:
            days = _days_of_year(year)
        context = -1 if self.sorted_months else 0  # nth weekday within each month, or within the year
        return first, len(days) or 1, [d for d in days if self._day_ok(d, context)]

    def _month_candidates(self, year: int, month: int) -> list[date]:
        if self.expand_weekdays:
            last = calendar.monthrange(year, month)[1]
            return self._weekday_candidates(date(year, month, 1), date(year, month, last), (year, month))
        if not self.expand_monthdays:
            return _days_of_month(year, month)
        length = calendar.monthrange(year, month)[1]
        days = {d if d > 0 else length + d + 1 for d in self.bymonthday}
        return [date(year, month, d) for d in sorted(days) if 1 <= d <= length]

    def _weekday_candidates(self, first: date, last: date, nth_key: tuple[int, int]) -> list[date]:
        """The days from `first` to `last` on a BYDAY weekday, or the BYDAY nth weekdays of the month/year."""
        days: set[date] = set()
        for weekday in self.plain_days:
            day = first + timedelta(days=(weekday - first.weekday()) % 7)
            while day <= last:
                days.add(day)
                day += timedelta(days=7)
        if self.nth_days:
            days.update(self._nth(nth_key))
        return sorted(days)

    def _day_ok(self, day: date, context: int) -> bool:
        """Whether `day` passes every BYxxx day filter. context: 0 = the year (YEARLY) or none, a month number
        (MONTHLY), -1 = the day's own month (YEARLY with BYMONTH)."""
        if self.bymonth and day.month not in self.bymonth:
            return False
        if self.bymonthday and not self.expand_monthdays:
            length = calendar.monthrange(day.year, day.month)[1]
            if day.day not in self.pos_monthdays and day.day - length - 1 not in self.neg_monthdays:
                return False
        if self.byyearday:
            yearday = day.timetuple().tm_yday
            length = 366 if calendar.isleap(day.year) else 365
            if yearday not in self.byyearday and yearday - length - 1 not in self.byyearday:
                return False
        if self.byweekno and (day.timetuple().tm_yday - 1) not in self._weekno_days(day.year):
            return False
        if self.has_byday and day.weekday() not in self.plain_days:
            if not self.nth_days:
                return False
            key = (day.year, day.month) if self.freq == MONTHLY or context == -1 else (day.year, 0)
            if day not in self._nth(key):
                return False
        return True

    def _nth(self, key: tuple[int, int]) -> frozenset[date]:
        found = self._nth_cache.get(key)
        if found is None:
            year, month = key
            if month:
                first, last = date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
            else:
                first, last = date(year, 1, 1), date(year, 12, 31)
            days: set[date] = set()
            for weekday, n in self.nth_days:
                if n > 0:
                    day = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
                else:
                    day = last - timedelta(days=(last.weekday() - weekday) % 7 + 7 * (-n - 1))
                if first <= day <= last:
                    days.add(day)
            found = self._nth_cache[key] = frozenset(days)
        return found

    def _weekno_days(self, year: int) -> frozenset[int]:
        """Day-of-year indexes (0-based) in the BYWEEKNO weeks of `year`, numbered from WKST (dateutil)."""
        found = self._weekno_cache.get(year)
        if found is None:
            found = self._weekno_cache[year] = _weekno_days_of(year, self.byweekno, self.wkst)
        return found

    def _iterate_clock(self, period: int, stop: datetime, budget: Budget) -> Iterator[datetime]:
        """HOURLY, MINUTELY, SECONDLY: periods on the wall clock. A day that fails the day filters, an hour not in
        BYHOUR or a minute not in BYMINUTE is skipped in one jump, as dateutil does."""
        unit = timedelta(seconds=self._unit_seconds())
        step = unit * self.interval
        current = self._anchor() + step * period
        freq = self.freq
        byhour, byminute, bysecond = self.byhour, frozenset(self.byminute), frozenset(self.bysecond)
        day_ok: dict[date, bool] = {}
        while budget.steps > 0 and budget.instances > 0:
            budget.steps -= 1
            if current > stop:
                return
            day = current.date()
            ok = day_ok.get(day)
            if ok is None:
                ok = day_ok[day] = self._day_ok(day, 0)
            boundary: datetime | None = None
            if not ok:
                boundary = datetime.combine(day + ONE_DAY, time.min)
            elif byhour and current.hour not in byhour:
                boundary = current.replace(minute=0, second=0) + timedelta(hours=1)
            elif freq == SECONDLY and byminute and current.minute not in byminute:
                boundary = current.replace(second=0) + timedelta(minutes=1)
            if boundary is not None:  # on to the first period at or after the boundary
                try:
                    current += step * max(1, -(-(boundary - current) // step))
                except OverflowError:
                    return
                continue
            candidates: list[datetime]
            if freq == HOURLY:
                candidates = [current.replace(minute=m, second=s) for m in self.byminute for s in self.bysecond]
            elif freq == MINUTELY:
                matches = not byminute or current.minute in byminute
                candidates = [current.replace(second=s) for s in self.bysecond] if matches else []
            else:
                candidates = [current] if not bysecond or current.second in bysecond else []
            if self.bysetpos:
                candidates = _setpos(candidates, self.bysetpos)
            taken, done = self._take(candidates, stop, budget)
            yield from taken
            if done:
                return
            try:
                current += step
            except OverflowError:
                return


def _setpos(candidates: list[datetime], positions: tuple[int, ...]) -> list[datetime]:
    size = len(candidates)
    chosen = {candidates[p - 1] if p > 0 else candidates[p] for p in positions if -size <= p <= size and p != 0}
    return sorted(chosen)


@lru_cache(maxsize=64)
def _days_of_year(year: int) -> list[date]:
    first = date(year, 1, 1).toordinal()
    return [date.fromordinal(first + i) for i in range(366 if calendar.isleap(year) else 365)]


@lru_cache(maxsize=512)
def _days_of_month(year: int, month: int) -> list[date]:
    return [date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)]


def _weekno_days_of(year: int, byweekno: tuple[int, ...], wkst: int) -> frozenset[int]:
    """dateutil's BYWEEKNO mask: week 1 is the first week (starting on WKST) with at least 4 days in the year."""
    year_weekday = date(year, 1, 1).weekday()
    year_length = 366 if calendar.isleap(year) else 365
    no1wkst = first_wkst = (7 - year_weekday + wkst) % 7
    if no1wkst >= 4:
        no1wkst = 0
        week_year_length = year_length + (year_weekday - wkst) % 7
    else:
        week_year_length = year_length - no1wkst
    div, mod = divmod(week_year_length, 7)
    weeks = div + mod // 4
    days: set[int] = set()

    def mark_week(index: int) -> None:
        for _ in range(7):
            days.add(index)
            index += 1
            if (year_weekday + index) % 7 == wkst:
                break

    for number in byweekno:
        n = number + weeks + 1 if number < 0 else number
        if not 0 < n <= weeks:
            continue
        if n > 1:
            index = no1wkst + (n - 1) * 7
            if no1wkst != first_wkst:
                index -= 7 - first_wkst
        else:
            index = no1wkst
        mark_week(index)
    if 1 in byweekno:  # week 1 of next year may start in this year
        index = no1wkst + weeks * 7
        if no1wkst != first_wkst:
            index -= 7 - first_wkst
        if index < year_length:
            mark_week(index)
    if no1wkst:  # the days before week 1 belong to the last week of the previous year
        if -1 not in byweekno:
            last_weekday = date(year - 1, 1, 1).weekday()
            last_no1wkst = (7 - last_weekday + wkst) % 7
            last_length = 366 if calendar.isleap(year - 1) else 365
            if last_no1wkst >= 4:
                last_weeks = 52 + (last_length + (last_weekday - wkst) % 7) % 7 // 4
            else:
                last_weeks = 52 + (year_length - no1wkst) % 7 // 4
        else:
            last_weeks = -1
        if last_weeks in byweekno:
            days.update(range(no1wkst))
    return frozenset(d for d in days if 0 <= d < year_length)
