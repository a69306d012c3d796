"""The staff analytics dashboard, /staff/analytics/: the KPIs of a date range at a glance.

Read from the daily rollup (apps.analytics.selectors_kpis), never from the raw events; where no beat runs
(ANALYTICS_ROLLUP_ON_REQUEST) the days shown are rolled up first, as the KPI API does. The charts are SVG drawn on
the server (apps.analytics.charts), so the page needs no script. Staff only: others get a 404, anonymous visitors
the log-in page, and staff the second factor (the "staff_analytics" namespace is in apps.users.middleware)."""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from apps.analytics import charts, kpis, rollup, selectors_kpis
from apps.analytics.models import Experiment
from apps.core.db_router import replica_reads

DEFAULT_DAYS = 28
MAX_DAYS = 2 * 366  # as the KPI API: two years at once at most
WEEKLY_AFTER_DAYS = 92  # longer ranges are drawn a point a week
QUICK_RANGES = (7, 28, 90)

# Core Web Vitals at the 75th percentile: good up to the first bound, poor above the second (web.dev/articles/vitals).
VITAL_BOUNDS = {"LCP": (2500.0, 4000.0), "INP": (200.0, 500.0), "CLS": (0.1, 0.25)}
RATINGS = {"good": "Good", "needs-improvement": "Needs improvement", "poor": "Poor"}
# The charts after active people: (key, title, (series name, KPI, how its figure over the range reads), kind).
CARDS = (
    ("signups", "Sign-ups", ("Sign-ups", "signups", "in total"), "bar"),
    ("ctr", "Recommendation CTR", ("CTR", "recommendation_ctr", "of the recommendations shown"), "line"),
    ("synced", "Events synced", ("Synced", "events_synced", "in total"), "line"),
    ("failures", "Sync failures", ("Failures", "sync_failures", "in total"), "line"),
)
FUNNEL_LABELS = {"impression": "Shown events", "click": "Clicked one", "save": "Saved one", "plan": "Made a plan"}


class RangeForm(forms.Form):
    start = forms.DateField(
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter a date like 2026-06-01.", "required": "Enter the first day."},
    )
    end = forms.DateField(
        label="To",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter a date like 2026-06-28.", "required": "Enter the last day."},
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if isinstance(start, date) and isinstance(end, date):
            if end < start:
                self.add_error("end", "The last day is before the first.")
            elif (end - start).days >= MAX_DAYS:
                self.add_error("end", f"Choose at most {MAX_DAYS} days.")
        return cleaned


def range_form(params: Any, today: date) -> RangeForm:
    """The form bound to the query string; a missing or empty day is the default range's (the last 28 days)."""
    defaults = {"start": today - timedelta(days=DEFAULT_DAYS - 1), "end": today}
    data = {name: params.get(name) or defaults[name].isoformat() for name in defaults}
    return RangeForm(data)


def vital_rating(name: str, value: float | None) -> str:
    """The mark of a p75 by the Core Web Vitals thresholds: good, needs-improvement or poor; "" when not measured."""
    if value is None:
        return ""
    good, poor = VITAL_BOUNDS[name]
    return "good" if value <= good else "needs-improvement" if value <= poor else "poor"


def _vital_text(name: str, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}" if name == "CLS" else charts.format_value(value, "ms")


@dataclass(frozen=True)
class ChartCard:
    """One chart with its headline figure, its series as a table, and its SVG."""

    key: str
    title: str
    description: str
    headline: str
    kind: str  # "line" or "bar"
    chart: charts.Chart
    series_names: list[str]
    rows: list[tuple[str, list[str]]]  # (date, a value per series): the figures as text
    label: str  # the chart's accessible name


def _chart_card(
    key: str, title: str, metrics: list[tuple[str, str, str]], *, start: date, end: date, kind: str
) -> ChartCard:
    """metrics: (series name, KPI name, how its figure over the range reads), all of one unit."""
    step: selectors_kpis.Granularity = "week" if (end - start).days >= WEEKLY_AFTER_DAYS else "day"
    unit = kpis.KPIS[metrics[0][1]].unit
    points = {
        name: selectors_kpis.kpi_points(metric=metric, start=start, end=end, granularity=step)
        for name, metric, _ in metrics
    }
    series = [charts.Series(name, [(p.date, p.value) for p in pts]) for name, pts in points.items()]
    first = selectors_kpis.week_of(start) if step == "week" else start
    if kind == "bar":
        chart = charts.bar_chart(series[0], start=first, end=end, unit=unit, step_days=7 if step == "week" else 1)
    else:
        chart = charts.line_chart(series, start=first, end=end, unit=unit)
    by_day: dict[date, dict[str, float | None]] = {}
    for name, pts in points.items():
        for point in pts:
            by_day.setdefault(point.date, {})[name] = point.value
    rows = [
        (charts.long_date(day), [charts.format_value(values.get(name), unit) for name in points])
        for day, values in sorted(by_day.items())
    ]
    headline = " · ".join(
        f"{charts.format_value(selectors_kpis.kpi_over_range(metric=metric, start=start, end=end), unit)} {reads}"
        for _, metric, reads in metrics
    )
    label = f"{title} by {step}, {charts.long_date(start)} to {charts.long_date(end)}: {headline}"
    if chart.note:
        label += f". {chart.note}"
    description = kpis.KPIS[metrics[0][1]].description
    return ChartCard(key, title, description, headline, kind, chart, list(points), rows, label)


@replica_reads()
def _figures(start: date, end: date) -> dict[str, Any]:
    to_end = f"to {charts.short_date(end)}"
    actives = [
        ("Daily", "active_people_daily", "a day on average"),
        ("Weekly", "active_people_weekly", f"in the 7 days {to_end}"),
        ("Monthly", "active_people_monthly", f"in the 30 days {to_end}"),
    ]
    cards = [_chart_card("actives", "Active people", actives, start=start, end=end, kind="line")]
    cards += [_chart_card(key, title, [metric], start=start, end=end, kind=kind) for key, title, metric, kind in CARDS]
    steps = selectors_kpis.funnel(start=start, end=end)
    funnel = charts.funnel_chart([(FUNNEL_LABELS[s.step], s.people, s.conversion) for s in steps])
    cohorts = [_cohort_row(cohort) for cohort in selectors_kpis.retention_cohorts(start=start, end=end)]
    vitals = [_vitals_row(page) for page in selectors_kpis.web_vitals_by_page(start=start, end=end)]
    return {
        "cards": cards,
        "funnel": funnel,
        "funnel_table": [
            (FUNNEL_LABELS[s.step], f"{s.people:,}", charts.format_value(s.conversion, "ratio")) for s in steps
        ],
        "cohorts": cohorts,
        "retention_days": kpis.RETENTION_DAYS,
        "cohort_years": start.year != end.year,  # the weeks' years are said only when the range spans two
        "vital_names": list(kpis.WEB_VITALS),
        "vitals": vitals,
        "experiments": [_experiment(experiment) for experiment in selectors_kpis.experiments_listed()],
        "computed_at": selectors_kpis.last_rollup(),
    }


def _cohort_row(cohort: selectors_kpis.Cohort) -> dict[str, Any]:
    cells = []
    for after in kpis.RETENTION_DAYS:
        share = cohort.retention.get(after)
        cells.append({"after": after, "text": charts.format_value(share, "ratio"), "level": charts.heat_level(share)})
    return {"week": cohort.week, "people": cohort.people, "cells": cells}


def _vitals_row(page: selectors_kpis.PageVitals) -> dict[str, Any]:
    cells = []
    for name, metric in kpis.WEB_VITALS.items():
        value = page.values.get(metric)
        rating = vital_rating(name, value)
        text = _vital_text(name, value)
        cells.append({"name": name, "text": text, "rating": rating, "rating_text": RATINGS.get(rating, "")})
    return {"page": page.page, "samples": page.samples, "cells": cells}


def _experiment(experiment: Experiment) -> dict[str, Any]:
    return {
        "key": experiment.key,
        "description": experiment.description,
        "status": experiment.status,
        "status_text": experiment.get_status_display(),
        "started_at": experiment.started_at,
        "stopped_at": experiment.stopped_at,
        "results_url": reverse("admin:analytics_experiment_results", args=[experiment.key]),
    }


def _quick_ranges(today: date, start: date | None, end: date | None) -> list[dict[str, Any]]:
    ranges = []
    for days in QUICK_RANGES:
        first = today - timedelta(days=days - 1)
        query = f"?start={first.isoformat()}&end={today.isoformat()}"
        ranges.append({"label": f"{days} days", "query": query, "current": (start, end) == (first, today)})
    return ranges


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    if not (request.user.is_active and request.user.is_staff):
        raise Http404
    today = timezone.now().date()
    form = range_form(request.GET, today)
    context: dict[str, Any] = {"form": form, "today": today}
    if not form.is_valid():
        context["quick_ranges"] = _quick_ranges(today, None, None)
        return render(request, "analytics/dashboard.html", context, status=400)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    if settings.ANALYTICS_ROLLUP_ON_REQUEST:
        rollup.rollup_on_request(start=start, end=end, today=today)
    context.update(_figures(start, end), start=start, end=end, quick_ranges=_quick_ranges(today, start, end))
    context["by_week"] = (end - start).days >= WEEKLY_AFTER_DAYS
    return render(request, "analytics/dashboard.html", context)
