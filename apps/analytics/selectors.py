"""Reads of the experiments: one by key, and its results computed on request from the raw rows.

The results come from one aggregate query: exposures per (variant, day), and per (metric, variant, day) the units
whose first conversion of that metric's type at or after their exposure fell on that day. The database groups
(a million exposures are a few hundred rows back); Python only adds the days up. The days are the looks of the
sequential p-value: its running minimum is taken over the cumulative counts at the end of each day.
"""

import dataclasses
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, FloatField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Extract, TruncDay

from apps.analytics import cuped, statistics
from apps.analytics.models import (
    CONTROL,
    Conversion,
    Experiment,
    ExperimentStatus,
    Exposure,
    TrackedEvent,
    TrackedObjectType,
    is_unit_id,
)


def experiment_by_key(*, key: str) -> Experiment | None:
    return Experiment.objects.filter(key=key).first()


_remembered_lock = threading.Lock()
_remembered: dict[str, tuple[float, Experiment | None]] = {}  # key: (when it was read, the experiment or None)
# The clock the interval is measured on; tests replace it (time-machine does not move the monotonic clock).
clock: Callable[[], float] = time.monotonic


def experiment_by_key_remembered(*, key: str) -> Experiment | None:
    """experiment_by_key read at most once per settings.SERVING_CHECK_SECONDS per process: what the request path
    asks on every list. A change made in this process is seen at once (experiment_forget); one made in another
    process within that interval."""
    seconds = settings.SERVING_CHECK_SECONDS
    now = clock()
    with _remembered_lock:
        found = _remembered.get(key)
    if found is not None and now - found[0] < seconds:
        return found[1]
    experiment = experiment_by_key(key=key)
    if seconds > 0:
        with _remembered_lock:
            _remembered[key] = (now, experiment)
    return experiment


def experiment_forget() -> None:
    """The next remembered lookup reads again (an experiment was saved or deleted in this process)."""
    with _remembered_lock:
        _remembered.clear()


def exposure_of(*, experiment: Experiment, unit_id: str) -> Exposure | None:
    return Exposure.objects.filter(experiment=experiment, unit_id=unit_id).first() if is_unit_id(unit_id) else None


def units_history(*, unit_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The exposures and conversions recorded under these unit ids, oldest first, as JSON-ready data."""
    exposures = (
        Exposure.objects.filter(unit_id__in=unit_ids)
        .order_by("exposed_at", "pk")
        .values_list("experiment__key", "variant", "exposed_at")
    )
    conversions = Conversion.objects.filter(unit_id__in=unit_ids).order_by("occurred_at", "pk")
    return {
        "exposures": [
            {"experiment": key, "variant": variant, "exposed_at": at.isoformat()} for key, variant, at in exposures
        ],
        "conversions": [
            {"type": kind, "occurred_at": at.isoformat()} for kind, at in conversions.values_list("type", "occurred_at")
        ],
    }


def running_metric_types() -> set[str]:
    """The event types some running experiment counts (its primary metric or a guardrail)."""
    running = Experiment.objects.filter(status=ExperimentStatus.RUNNING).values_list("primary_metric", "guardrails")
    return {metric["event"] for primary, guardrails in running for metric in [primary, *guardrails]}


def tracked_anonymous_ids(*, user_id: int) -> list[str]:
    """The anonymous ids a person's events were sent under (linked at sign-in)."""
    ids = TrackedEvent.objects.filter(user_id=user_id).exclude(anonymous_id="").values_list("anonymous_id", flat=True)
    return sorted(set(ids))


def tracked_events_export(*, user_id: int) -> list[dict[str, Any]]:
    """A person's tracked events, oldest first, as JSON-ready data."""
    rows = TrackedEvent.objects.filter(user_id=user_id).order_by("at", "pk")
    return [
        {
            "id": str(row.client_id),
            "type": row.type,
            "at": row.at.isoformat(),
            "client_at": row.client_at.isoformat() if row.client_at else None,
            "received_at": row.received_at.isoformat(),
            "object_type": row.object_type,
            "object_id": row.object_id,
            "anonymous_id": row.anonymous_id,
            "context": row.context,
        }
        for row in rows.iterator(chunk_size=2000)
    ]


class EventInteraction(NamedTuple):
    """One tracked event about a catalogue event, as recommendations learn from it."""

    user_id: int | None
    anonymous_id: str
    event_id: int
    type: str
    at: datetime
    request_id: str  # of the recommendation list it came from, when it did
    rank: int | None


def event_interactions(
    *,
    types: Sequence[str],
    user_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[EventInteraction]:
    """Tracked events of these types about catalogue events, oldest first (the newest `limit` when given); one
    person's with `user_id`. Rows whose object id is not an event id are skipped."""
    rows = TrackedEvent.objects.filter(type__in=types, object_type=TrackedObjectType.EVENT)
    if user_id is not None:
        rows = rows.filter(user_id=user_id)
    if since is not None:
        rows = rows.filter(at__gte=since)
    if until is not None:
        rows = rows.filter(at__lt=until)
    fields = ("user_id", "anonymous_id", "object_id", "type", "at", "context__request_id", "context__rank")
    if limit is not None:
        selected = list(rows.order_by("-at", "-pk").values_list(*fields)[:limit])
        selected.reverse()
    else:
        selected = list(rows.order_by("at", "pk").values_list(*fields).iterator(chunk_size=20000))
    return [
        EventInteraction(user, anonymous, int(object_id), kind, at, str(request or ""), _rank(rank))
        for user, anonymous, object_id, kind, at, request, rank in selected
        if object_id.isdigit()
    ]


InteractionColumns = tuple[list[int], list[str], list[str], list[float], list[str | None]]


def event_interaction_columns(
    *, types: Sequence[str], since: datetime, until: datetime, chunk_size: int = 20_000
) -> InteractionColumns:
    """What event_interactions returns of signed-in people, as columns (user ids, object ids, types, times in epoch
    seconds, request ids), oldest first: for training on millions of rows, where building a timezone-aware datetime
    and decoding the JSON context per row took three quarters of the time (18 s of 25 s a million rows, 5 s so)."""
    rows = TrackedEvent.objects.filter(
        type__in=types, object_type=TrackedObjectType.EVENT, user_id__isnull=False, at__gte=since, at__lt=until
    ).order_by("at", "pk")
    epoch = connection.vendor == "postgresql"  # SQLite has no EXTRACT(epoch): the embedded default converts here
    at: Any = Cast(Extract("at", "epoch"), FloatField()) if epoch else "at"
    columns: tuple[list[Any], ...] = ([], [], [], [], [])
    for user, object_id, kind, moment, request in rows.values_list(
        "user_id", "object_id", "type", at, KT("context__request_id")
    ).iterator(chunk_size=chunk_size):
        if object_id.isdigit():  # as event_interactions: an object id that is not an event id is skipped
            for column, value in zip(
                columns, (user, object_id, kind, moment if epoch else moment.timestamp(), request), strict=True
            ):
                column.append(value)
    return columns  # type: ignore[return-value]


def _rank(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def event_interaction_counts(
    *, types: Sequence[str], since: datetime, until: datetime
) -> list[tuple[int, str, datetime, int]]:
    """(event id, type, UTC day, count) of the tracked events of these types about catalogue events in [since,
    until): the few rows popularity decays by age, aggregated by the database."""
    rows = (
        TrackedEvent.objects.filter(type__in=types, object_type=TrackedObjectType.EVENT, at__gte=since, at__lt=until)
        .annotate(day=TruncDay("at", tzinfo=UTC))
        .values_list("object_id", "type", "day")
        .annotate(count=Count("id"))
        .order_by()
    )
    return [(int(object_id), kind, day, count) for object_id, kind, day, count in rows if object_id.isdigit()]


@dataclass(frozen=True)
class VariantResult:
    key: str
    weight: int
    units: int
    conversions: int
    rate: float | None
    lift: float | None = None
    lift_ci_low: float | None = None
    lift_ci_high: float | None = None
    relative_lift: float | None = None
    p_value: float | None = None
    sequential_p_value: float | None = None


@dataclass(frozen=True)
class MetricResult:
    event: str
    variants: list[VariantResult]


@dataclass(frozen=True)
class ExperimentResults:
    experiment: Experiment
    primary: MetricResult
    guardrails: list[MetricResult]
    srm_p_value: float | None
    srm_flag: bool
    looks: int  # days with exposures or conversions: how many times the sequential p-value has been updated
    # Per treatment variant, the CUPED-adjusted lift on the primary metric; None where nothing adjusts it.
    cuped_lifts: dict[str, cuped.CupedLift | None] = field(default_factory=dict)
    units: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", sum(variant.units for variant in self.primary.variants))


EXPOSURES = "exposures"  # the metric column of the exposure rows (a metric is an event type, never this)


def _utc_day(column: str) -> tuple[str, tuple[Any, ...]]:
    """SQL for the UTC day of a timestamp column, on PostgreSQL and on SQLite (`make run`) alike."""
    # Django returns (sql, params) since 4.2; its type stubs still say str.
    return cast(tuple[str, tuple[Any, ...]], connection.ops.datetime_trunc_sql("day", column, (), "UTC"))


def _daily_counts(experiment: Experiment) -> list[tuple[str, str, Any, int]]:
    """(metric or EXPOSURES, variant, day, count) rows, grouped in the database."""
    if experiment.started_at is None:
        return []
    exposed_day, exposed_params = _utc_day("e.exposed_at")
    converted_day, converted_params = _utc_day("f.converted_at")
    metrics = experiment.metrics
    # Conversions after the stop are not counted: the results of a stopped experiment stay as they were.
    until, until_params = ("AND c.occurred_at < %s", [experiment.stopped_at]) if experiment.stopped_at else ("", [])
    # Each branch groups on its own, so a million exposures never reach the outer union as rows.
    sql = f"""
        SELECT %s, e.variant, {exposed_day}, COUNT(*)
        FROM {Exposure._meta.db_table} e
        WHERE e.experiment_id = %s
        GROUP BY 2, 3
        UNION ALL
        SELECT f.type, f.variant, {converted_day}, COUNT(*)
        FROM (
            SELECT e.variant, c.type, MIN(c.occurred_at) AS converted_at
            FROM {Exposure._meta.db_table} e
            JOIN {Conversion._meta.db_table} c ON c.unit_id = e.unit_id
            WHERE e.experiment_id = %s
              AND c.type IN ({", ".join(["%s"] * len(metrics))})
              AND c.occurred_at >= %s
              AND c.occurred_at >= e.exposed_at
              {until}
            GROUP BY e.id, e.variant, c.type
        ) f
        GROUP BY 1, 2, 3
    """  # noqa: S608 - only table names and placeholders are formatted in; every value is a parameter
    params = [
        EXPOSURES, *exposed_params, experiment.pk,
        *converted_params, experiment.pk, *metrics, experiment.started_at, *until_params,
    ]  # fmt: skip
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Compiling this query to machine code costs ~10% of its time on every request and saves less.
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        return [(metric, variant, day, int(count)) for metric, variant, day, count in cursor.fetchall()]


def _cuped_moments(experiment: Experiment, units: dict[str, int]) -> dict[str, cuped.Moments]:
    """Per variant, the sums CUPED needs over its `units` exposed: y = converted on the primary metric at or after
    exposure (before the stop), x = the primary metric's events in the PRE_PERIOD before the experiment started.
    Units without any such event add nothing to the sums but their count, so only those with one are joined and
    grouped (a fifth of a million in the benchmark), in one query."""
    if experiment.started_at is None:
        return {}
    before = experiment.started_at - cuped.PRE_PERIOD
    until, until_params = ("AND c.occurred_at < %s", [experiment.stopped_at]) if experiment.stopped_at else ("", [])
    sql = f"""
        SELECT u.variant, SUM(u.x), SUM(u.y), SUM(u.x * u.x), SUM(u.y * u.y), SUM(u.x * u.y),
               SUM(CASE WHEN u.x > 0 THEN 1 ELSE 0 END)
        FROM (
            SELECT e.variant,
                   SUM(CASE WHEN c.occurred_at < %s THEN 1 ELSE 0 END) AS x,
                   MAX(CASE WHEN c.occurred_at >= e.exposed_at {until} THEN 1 ELSE 0 END) AS y
            FROM {Exposure._meta.db_table} e
            JOIN {Conversion._meta.db_table} c ON c.unit_id = e.unit_id
            WHERE e.experiment_id = %s AND c.type = %s AND c.occurred_at >= %s
            GROUP BY e.id, e.variant
        ) u
        GROUP BY u.variant
    """  # noqa: S608 - only table names and placeholders are formatted in; every value is a parameter
    params = [experiment.started_at, *until_params, experiment.pk, experiment.primary_metric["event"], before]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        sums = {row[0]: row[1:] for row in cursor.fetchall()}
    moments = {}
    for variant, n in units.items():
        sx, sy, sxx, syy, sxy, active_before = sums.get(variant, (0, 0, 0, 0, 0, 0))
        moments[variant] = cuped.Moments(
            n=float(n), sx=float(sx or 0), sy=float(sy or 0), sxx=float(sxx or 0), syy=float(syy or 0),
            sxy=float(sxy or 0), active_before=int(active_before or 0),
        )  # fmt: skip
    return moments


def _cuped_lifts(experiment: Experiment, primary: MetricResult) -> dict[str, cuped.CupedLift | None]:
    moments = _cuped_moments(experiment, {variant.key: variant.units for variant in primary.variants})
    control = moments.get(CONTROL)
    return {
        key: cuped.lift(control, moments[key]) if control is not None and key in moments else None
        for key in experiment.variant_keys
        if key != CONTROL
    }


def _cumulative(rows: list[tuple[str, str, Any, int]], days: list[Any]) -> dict[tuple[str, str], np.ndarray]:
    """{(metric, variant): cumulative counts at the end of each day}."""
    position = {day: i for i, day in enumerate(days)}
    daily: dict[tuple[str, str], np.ndarray] = defaultdict(lambda: np.zeros(len(days), dtype=np.int64))
    for metric, variant, day, count in rows:
        daily[(metric, variant)][position[day]] += count
    return {series: np.cumsum(counts) for series, counts in daily.items()}


def _metric_result(
    experiment: Experiment, event: str, cumulative: dict[tuple[str, str], np.ndarray], looks: int
) -> MetricResult:
    zeros = np.zeros(max(looks, 1), dtype=np.int64)
    units = {key: cumulative.get((EXPOSURES, key), zeros) for key in experiment.variant_keys}
    converted = {key: cumulative.get((event, key), zeros) for key in experiment.variant_keys}
    control_units, control_converted = units[CONTROL], converted[CONTROL]
    results = []
    for variant in experiment.variants:
        key = variant["key"]
        n, x = int(units[key][-1]), int(converted[key][-1])
        base = VariantResult(key=key, weight=variant["weight"], units=n, conversions=x, rate=statistics.rate(x, n))
        if key == CONTROL:
            results.append(base)
            continue
        comparison = statistics.compare(
            control_units=int(control_units[-1]),
            control_conversions=int(control_converted[-1]),
            units=n,
            conversions=x,
        )
        sequential = statistics.sequential_p_value(control_units, control_converted, units[key], converted[key])
        results.append(dataclasses.replace(base, **dataclasses.asdict(comparison), sequential_p_value=sequential))
    return MetricResult(event=event, variants=results)


def experiment_results(*, experiment: Experiment) -> ExperimentResults:
    rows = _daily_counts(experiment)
    days = sorted({day for _, _, day, _ in rows})
    cumulative = _cumulative(rows, days)
    primary, *guardrails = (_metric_result(experiment, event, cumulative, len(days)) for event in experiment.metrics)
    srm = statistics.srm_p_value([v.units for v in primary.variants], [v.weight for v in primary.variants])
    return ExperimentResults(
        experiment=experiment,
        primary=primary,
        guardrails=guardrails,
        srm_p_value=srm,
        srm_flag=srm is not None and srm < statistics.SRM_ALPHA,
        looks=len(days),
        cuped_lifts=_cuped_lifts(experiment, primary),
    )


def results_data(results: ExperimentResults) -> dict[str, Any]:
    """The results as JSON-ready data: what GET /api/v1/experiments/{key}/results and `experiment_report --json`
    return."""
    experiment = results.experiment

    def moment(value: datetime | None) -> str | None:
        return value.isoformat().replace("+00:00", "Z") if value else None

    def metric(result: MetricResult) -> dict[str, Any]:
        return {"event": result.event, "variants": [dataclasses.asdict(variant) for variant in result.variants]}

    return {
        "key": experiment.key,
        "status": experiment.status,
        "started_at": moment(experiment.started_at),
        "stopped_at": moment(experiment.stopped_at),
        "primary_metric": dict(experiment.primary_metric),
        "units": results.units,
        "looks": results.looks,
        "variants": metric(results.primary)["variants"],
        "srm_p_value": results.srm_p_value,
        "srm_flag": results.srm_flag,
        "guardrails": [metric(guardrail) for guardrail in results.guardrails],
        "cuped_pre_period_days": cuped.PRE_PERIOD.days,
        "cuped": [
            {"variant": key, **dataclasses.asdict(adjusted)}
            for key, adjusted in results.cuped_lifts.items()
            if adjusted is not None
        ],
    }
