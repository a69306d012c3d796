"""Reads of the rolled-up KPIs (DailyMetric): a metric's points by day or week, the funnel, retention by sign-up
week, web vitals by page, and when the rows were computed. Each is one indexed query on the small daily table, never
a read of the raw events (apps.analytics.rollup writes the rows)."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from django.db.models import Max, Sum

from apps.analytics import kpis
from apps.analytics.models import DailyMetric, Experiment, RollupRun, TrackedEvent
from apps.users.models import User

Granularity = Literal["day", "week"]


@dataclass(frozen=True)
class Point:
    date: date
    value: float | None


def week_of(day: date) -> date:
    """The Monday that starts the ISO week of `day`: a week's point is dated by it."""
    return day - timedelta(days=day.weekday())


def _combine(kpi: kpis.Kpi, rows: list[DailyMetric]) -> float | None:
    measured = [row for row in rows if row.value is not None]
    if kpi.combine is kpis.Combine.SUM:
        return float(sum(row.value or 0 for row in rows))
    if kpi.combine is kpis.Combine.RATIO:
        numerator, denominator = sum(r.numerator for r in rows), sum(r.denominator for r in rows)
        return numerator / denominator if denominator else None
    if not measured:
        return None
    if kpi.combine is kpis.Combine.LAST:
        return max(measured, key=lambda row: row.day).value
    # MEAN: weighted by the sample size when the rows keep one (web vitals), else a plain mean of the days.
    weights = [row.denominator for row in measured]
    if all(weights):
        return sum((row.value or 0) * row.denominator for row in measured) / sum(weights)
    return sum(row.value or 0 for row in measured) / len(measured)


def kpi_points(
    *, metric: str, start: date, end: date, granularity: Granularity = "day", segment: str = ""
) -> list[Point]:
    """The metric from `start` to `end` (both included), one point per day that was rolled up, or per week (dated
    by its Monday, from the days of it within the range). Days never rolled up have no point."""
    kpi = kpis.KPIS[metric]
    rows = list(
        DailyMetric.objects.filter(metric=metric, segment=segment, day__gte=start, day__lte=end).order_by("day")
    )
    if granularity == "day":
        return [Point(row.day, row.value) for row in rows]
    weeks: dict[date, list[DailyMetric]] = defaultdict(list)
    for row in rows:
        weeks[week_of(row.day)].append(row)
    return [Point(week, _combine(kpi, weeks[week])) for week in sorted(weeks)]


def kpi_over_range(*, metric: str, start: date, end: date, segment: str = "") -> float | None:
    """The metric over the whole range, its days combined as they make a week (kpis.Combine): a count's total, a
    rate's numerators over its denominators, a level's mean, a trailing window's last value. None without data."""
    rows = list(DailyMetric.objects.filter(metric=metric, segment=segment, day__gte=start, day__lte=end))
    return _combine(kpis.KPIS[metric], rows) if rows else None


def kpi_segments(*, metric: str, start: date, end: date) -> list[str]:
    """The segments (pages, sources, variants) the metric has rows for in the range, besides the whole ("")."""
    segments = (
        DailyMetric.objects.filter(metric=metric, day__gte=start, day__lte=end)
        .exclude(segment="")
        .values_list("segment", flat=True)
        .distinct()
        .order_by("segment")
    )
    return list(segments)


def kpi_export_rows(
    *, metric: str, start: date, end: date, granularity: Granularity
) -> list[tuple[date, str, float | None]]:
    """Every point of the metric, the whole product's then each segment's: what the CSV export holds."""
    rows: list[tuple[date, str, float | None]] = []
    for segment in ["", *kpi_segments(metric=metric, start=start, end=end)]:
        points = kpi_points(metric=metric, start=start, end=end, granularity=granularity, segment=segment)
        rows += [(point.date, segment, point.value) for point in points]
    return rows


@dataclass(frozen=True)
class FunnelStep:
    step: str
    people: int
    conversion: float | None  # of the step before; None for the first step, or after a step of nobody


def funnel(*, start: date, end: date) -> list[FunnelStep]:
    """impression → click → save → plan over the range: people per day (a person counted on each day they went
    through), from the funnel rates' numerators and denominators."""
    totals: dict[str, dict[str, float]] = {
        row["metric"]: {"numerator": row["numerator"], "denominator": row["denominator"]}
        for row in DailyMetric.objects.filter(metric__in=kpis.FUNNEL_RATES, segment="", day__gte=start, day__lte=end)
        .values("metric")
        .annotate(numerator=Sum("numerator"), denominator=Sum("denominator"))
    }

    def part(metric: str, key: str) -> int:
        return int(totals.get(metric, {}).get(key) or 0)  # a rate never rolled up counts nobody

    people = [part(kpis.FUNNEL_RATES[0], "denominator"), *(part(metric, "numerator") for metric in kpis.FUNNEL_RATES)]
    steps = [FunnelStep(kpis.FUNNEL_STEPS[0], people[0], None)]
    for index in range(1, len(people)):
        before = people[index - 1]
        steps.append(FunnelStep(kpis.FUNNEL_STEPS[index], people[index], people[index] / before if before else None))
    return steps


@dataclass(frozen=True)
class Cohort:
    week: date
    people: int
    retention: dict[int, float | None]  # days after sign-up → share active that day; None until it can be measured


def retention_cohorts(*, start: date, end: date) -> list[Cohort]:
    """Sign-up weeks (by Monday) with a cohort in the range, newest first, and their D1, D7 and D30 retention."""
    rows = DailyMetric.objects.filter(
        metric__in=[f"retention_d{after}" for after in kpis.RETENTION_DAYS], segment="", day__gte=start, day__lte=end
    )
    sums: dict[date, dict[int, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))
    for row in rows:
        after = int(row.metric.removeprefix("retention_d"))
        cell = sums[week_of(row.day)][after]
        cell[0] += row.numerator
        cell[1] += row.denominator
    cohorts = []
    for week in sorted(sums, reverse=True):
        cells = sums[week]
        people = int(max((cell[1] for cell in cells.values()), default=0))
        if not people:
            continue
        retention = {
            after: (cells[after][0] / cells[after][1] if cells[after][1] else None) for after in kpis.RETENTION_DAYS
        }
        cohorts.append(Cohort(week, people, retention))
    return cohorts


@dataclass(frozen=True)
class PageVitals:
    page: str
    values: dict[str, float | None]  # metric name → p75 over the range
    samples: int


def web_vitals_by_page(*, start: date, end: date) -> list[PageVitals]:
    """Each page's p75 of LCP, INP and CLS over the range (each day's p75, weighted by its samples), most measured
    page first."""
    rows = DailyMetric.objects.filter(metric__in=list(kpis.WEB_VITALS.values()), day__gte=start, day__lte=end).exclude(
        segment=""
    )
    by_page: dict[str, dict[str, list[DailyMetric]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        by_page[row.segment][row.metric].append(row)
    pages = []
    for page, metrics in by_page.items():
        values = {metric: _combine(kpis.KPIS[metric], metrics.get(metric, [])) for metric in kpis.WEB_VITALS.values()}
        samples = int(max((sum(r.denominator for r in rows) for rows in metrics.values()), default=0))
        pages.append(PageVitals(page, values, samples))
    return sorted(pages, key=lambda page: (-page.samples, page.page))


def experiments_listed() -> list[Experiment]:
    """Every experiment with its state, running first, then drafts, then stopped; newest first within each."""
    order = {"running": 0, "draft": 1, "stopped": 2}
    return sorted(Experiment.objects.all(), key=lambda e: (order.get(e.status, 3), -e.created_at.timestamp()))


def last_rollup() -> datetime | None:
    """When the latest rollup finished (any day): the freshness the dashboard states and the lag gauge measures."""
    finished: datetime | None = RollupRun.objects.aggregate(latest=Max("finished_at"))["latest"]
    return finished


def days_rolled_up(days: Iterable[date]) -> set[date]:
    return set(RollupRun.objects.filter(day__in=list(days)).values_list("day", flat=True))


@dataclass(frozen=True)
class BusinessGauges:
    active_people_today: float  # the latest rollup of today (hourly), 0 before the first
    signups_today: int
    tracked_events_today: int
    last_rollup: datetime | None


def business_gauges(*, now: datetime) -> BusinessGauges:
    """What the web pods' /metrics page shows of the business, read at each scrape: three small queries (today's
    KPI row; the accounts created since midnight UTC; today's tracked events, read through the BRIN index on `at`)."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = DailyMetric.objects.filter(metric="active_people_daily", segment="", day=midnight.date()).first()
    return BusinessGauges(
        active_people_today=float(today.value or 0) if today else 0.0,
        signups_today=User.objects.filter(date_joined__gte=midnight).count(),
        tracked_events_today=TrackedEvent.objects.filter(at__gte=midnight, at__lt=midnight + timedelta(days=1)).count(),
        last_rollup=last_rollup(),
    )
