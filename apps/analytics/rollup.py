"""The daily rollup: one UTC day of raw tracked events made into the KPI rows (DailyMetric) and the day's active
people (DailyActivePerson). Writes only those tables and RollupRun.

Recomputable for any past day and idempotent: a day's rows are replaced whole in one transaction, under a lock on
the day's RollupRun row, so a rollup run twice (or two at once) leaves what one run leaves. Retention is written
under the sign-up day it describes, by the rollup of the day it looks at: rolling up day X fills D1 of X-1, D7 of
X-7 and D30 of X-30. Every query is the ORM's, so SQLite (`make run`) and PostgreSQL compute the same numbers; on
PostgreSQL each reads one partition of the tracked-event table through its BRIN index on `at`.
"""

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from django.db import connection, transaction
from django.db.models import Case, CharField, Count, F, FloatField, IntegerField, Max, Q, QuerySet, Sum, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from apps.analytics import kpis
from apps.analytics.models import DailyActivePerson, DailyMetric, RollupRun, TrackedEvent, TrackedEventType
from apps.events.models import Source

NO_VARIANT = "(none)"  # the segment of recommendation lists served outside any experiment variant

# Who did it: the account when known, else the browser's anonymous id; server events of nobody (a sync) are no one.
PERSON = Case(
    When(user_id__isnull=False, then=Concat(Value("u:"), Cast("user_id", CharField()))),
    When(~Q(anonymous_id=""), then=Concat(Value("a:"), "anonymous_id")),
    default=Value(""),
    output_field=CharField(),
)


@dataclass(frozen=True)
class RollupResult:
    day: date
    events: int
    metrics: int
    seconds: float


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def _events(day: date) -> QuerySet[TrackedEvent]:
    start, end = day_bounds(day)
    return TrackedEvent.objects.filter(at__gte=start, at__lt=end)


def _row(
    day: date, metric: str, value: float | None, *, segment: str = "", num: float = 0, den: float = 0
) -> DailyMetric:
    return DailyMetric(day=day, metric=metric, segment=segment, value=value, numerator=num, denominator=den)


def _ratio(day: date, metric: str, num: float, den: float, *, segment: str = "") -> DailyMetric:
    return _row(day, metric, num / den if den else None, segment=segment, num=num, den=den)


def _store_active_people(day: date) -> None:
    """The day's distinct people, written by one INSERT ... SELECT DISTINCT (the ORM's SELECT, so it is portable)."""
    DailyActivePerson.objects.filter(day=day).delete()
    people = (
        _events(day)
        .annotate(person=PERSON)
        .exclude(person="")
        .annotate(rollup_day=Value(day))
        .values_list("rollup_day", "person")
        .distinct()
    )
    select, params = people.query.sql_with_params()
    table = connection.ops.quote_name(DailyActivePerson._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (day, person) {select}", params)  # names are ours


def _actives(day: date) -> list[DailyMetric]:
    """Daily, weekly and monthly actives from the active-people rows: one pass over the 30 days, each person with
    the last day they were active on."""
    window = DailyActivePerson.objects.filter(day__gt=day - timedelta(days=30), day__lte=day)
    people = (
        window.values("person")
        .annotate(last_active=Max("day"))
        .aggregate(
            monthly=Count("person"),
            weekly=Count("person", filter=Q(last_active__gt=day - timedelta(days=7))),
            daily=Count("person", filter=Q(last_active=day)),
        )
    )
    return [
        _row(day, "active_people_daily", float(people["daily"])),
        _row(day, "active_people_weekly", float(people["weekly"])),
        _row(day, "active_people_monthly", float(people["monthly"])),
    ]


def _signed_up(day: date) -> QuerySet[TrackedEvent]:
    return _events(day).filter(type=TrackedEventType.SIGNUP, user_id__isnull=False)


def _retention(day: date) -> list[DailyMetric]:
    """For each N, the people who signed up N days before `day` and were active on `day`: a row for that cohort."""
    rows = []
    for after in kpis.RETENTION_DAYS:
        cohort_day = day - timedelta(days=after)
        # A day's sign-ups are few: listed here, they are probed in the (day, person) index. (As a subquery, the
        # planner went by statistics that did not yet know of the day's people just inserted, and looped.)
        cohort = {f"u:{user_id}" for user_id in _signed_up(cohort_day).values_list("user_id", flat=True)}
        back = DailyActivePerson.objects.filter(day=day, person__in=cohort).count() if cohort else 0
        rows.append(_ratio(cohort_day, f"retention_d{after}", back, len(cohort)))
    return rows


def _flag(*types: str) -> Max:
    return Max(Case(When(type__in=types, then=Value(1)), default=Value(0), output_field=IntegerField()))


def _funnel(events: QuerySet[TrackedEvent], day: date) -> list[DailyMetric]:
    """People who went impression → click → save → plan within the day: each step counts those who also did every
    step before it (a click without an impression is no funnel click)."""
    steps = (
        events.filter(
            type__in=[
                TrackedEventType.IMPRESSION,
                TrackedEventType.CLICK,
                TrackedEventType.SAVE,
                TrackedEventType.PLAN,
                TrackedEventType.PLAN_CREATED,
            ]
        )
        .annotate(person=PERSON)
        .exclude(person="")
        .values("person")
        .annotate(
            shown=_flag(TrackedEventType.IMPRESSION),
            clicked=_flag(TrackedEventType.CLICK),
            saved=_flag(TrackedEventType.SAVE),
            planned=_flag(TrackedEventType.PLAN, TrackedEventType.PLAN_CREATED),
        )
        .aggregate(
            impression=Sum("shown"),
            click=Sum(F("shown") * F("clicked")),
            save=Sum(F("shown") * F("clicked") * F("saved")),
            plan=Sum(F("shown") * F("clicked") * F("saved") * F("planned")),
        )
    )
    people = [float(steps[step] or 0) for step in kpis.FUNNEL_STEPS]
    return [_ratio(day, metric, people[index + 1], people[index]) for index, metric in enumerate(kpis.FUNNEL_RATES)]


def _recommendation_ctr(events: QuerySet[TrackedEvent], day: date) -> list[DailyMetric]:
    """Per variant of the served lists: distinct (list, event) clicked over impressions. A click finds its list's
    variant among that day's and the day before's impressions (a list seen before midnight, clicked after). Two
    scans: the lists of both days with the day's impressions of each, and the day's clicks on a list."""
    start, end = day_bounds(day)
    lists = (
        TrackedEvent.objects.filter(type=TrackedEventType.IMPRESSION, at__gte=start - timedelta(days=1), at__lt=end)
        .annotate(request_id=KT("context__request_id"), variant=KT("context__variant"))
        .exclude(request_id__isnull=True)
        .values("request_id", "variant")
        .annotate(shown_today=Count("id", filter=Q(at__gte=start)))
    )
    variant_of: dict[str, str] = {}
    shown: dict[str, int] = defaultdict(int)
    for listed in lists:
        variant = listed["variant"] or NO_VARIANT
        variant_of[listed["request_id"]] = variant
        shown[variant] += listed["shown_today"]
    clicks = (
        events.filter(type=TrackedEventType.CLICK)
        .annotate(request_id=KT("context__request_id"))
        .exclude(request_id__isnull=True)
        .values_list("request_id", "object_id")
        .distinct()
    )
    clicked: dict[str, int] = defaultdict(int)
    for request_id, _ in clicks:
        if request_id in variant_of:
            clicked[variant_of[request_id]] += 1
    shown = {variant: count for variant, count in shown.items() if count}  # lists shown only the day before
    rows = [_ratio(day, "recommendation_ctr", sum(clicked.values()), sum(shown.values()))]
    rows += [
        _ratio(day, "recommendation_ctr", clicked[variant], shown.get(variant, 0), segment=variant)
        for variant in sorted(shown.keys() | clicked.keys())
    ]
    return rows


def _syncs(events: QuerySet[TrackedEvent], day: date) -> list[DailyMetric]:
    """From the runs' source_synced events: events fetched and runs failed, per source (by name) and in all."""
    fetched: dict[int, float] = defaultdict(float)
    failed: dict[int, float] = defaultdict(float)
    for context in events.filter(type=TrackedEventType.SOURCE_SYNCED).values_list("context", flat=True):
        source_id = context.get("source_id")
        if not isinstance(source_id, int):
            continue
        fetched[source_id] += float(context.get("fetched") or 0)
        failed[source_id] += 1.0 if context.get("outcome") == "failed" else 0.0
    names = dict(Source.objects.filter(pk__in=fetched.keys()).values_list("pk", "name"))
    rows = [_row(day, "events_synced", sum(fetched.values())), _row(day, "sync_failures", sum(failed.values()))]
    for source_id in sorted(fetched):
        segment = names.get(source_id, f"source {source_id}")
        rows.append(_row(day, "events_synced", fetched[source_id], segment=segment))
        rows.append(_row(day, "sync_failures", failed[source_id], segment=segment))
    return rows


def p75(values: Iterable[float]) -> float | None:
    """The 75th percentile, interpolated between the closest ranks (numpy's default), as CrUX reports it."""
    array = np.fromiter(values, dtype=float)
    return float(np.percentile(array, 75)) if array.size else None


def _web_vitals(events: QuerySet[TrackedEvent], day: date) -> list[DailyMetric]:
    """p75 per metric, overall and per page. A metric the library reports again under the same id (CLS after a
    back/forward-cache restore) counts once, with its last value."""
    latest: dict[str | int, tuple[str, str, float]] = {}
    measured = (
        events.filter(type=TrackedEventType.WEB_VITAL)
        .order_by("at", "id")
        .values_list(
            "id", KT("context__id"), KT("context__name"), KT("context__page"), Cast(KT("context__value"), FloatField())
        )
    )
    for row_id, report_id, name, page, value in measured:
        if name in kpis.WEB_VITALS and value is not None:
            latest[report_id or row_id] = (name, page or "", value)
    samples: dict[tuple[str, str], list[float]] = defaultdict(list)
    for name, page, value in latest.values():
        samples[(name, "")].append(value)
        if page:
            samples[(name, page)].append(value)
    rows = []
    for name, metric in kpis.WEB_VITALS.items():
        overall = samples.get((name, ""), [])
        rows.append(_row(day, metric, p75(overall), den=len(overall)))
        for (vital, page), values in sorted(samples.items()):
            if vital == name and page:
                rows.append(_row(day, metric, p75(values), segment=page[:200], den=len(values)))
    return rows


def rollup_day(*, day: date, now: datetime | None = None) -> RollupResult:
    """Computes and stores every KPI of `day` (a UTC day), replacing what an earlier run stored."""
    began = time.perf_counter()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # A batch job's hash aggregates over a million rows: memory to keep them off disk, for this transaction.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '128MB'")
        run, _ = RollupRun.objects.get_or_create(day=day)
        RollupRun.objects.select_for_update().filter(pk=run.pk).first()  # one rollup of a day at a time
        events = _events(day)
        _store_active_people(day)
        rows = [
            *_actives(day),
            _row(day, "signups", float(_signed_up(day).values("user_id").distinct().count())),
            *_retention(day),
            *_funnel(events, day),
            *_recommendation_ctr(events, day),
            *_syncs(events, day),
            *_web_vitals(events, day),
        ]
        cohort_rows = Q()
        for after in kpis.RETENTION_DAYS:
            cohort_rows |= Q(day=day - timedelta(days=after), metric=f"retention_d{after}")
        DailyMetric.objects.filter((Q(day=day) & ~Q(metric__startswith="retention_")) | cohort_rows).delete()
        DailyMetric.objects.bulk_create(rows)
        count = events.count()
        seconds = time.perf_counter() - began
        RollupRun.objects.filter(pk=run.pk).update(finished_at=now or timezone.now(), events=count, seconds=seconds)
    return RollupResult(day=day, events=count, metrics=len(rows), seconds=seconds)


def rollup_days(*, start: date, end: date, now: datetime | None = None) -> list[RollupResult]:
    """Every day from `start` to `end` inclusive, oldest first (retention reads the active people of later days)."""
    days = (end - start).days + 1
    return [rollup_day(day=start + timedelta(days=offset), now=now) for offset in range(max(days, 0))]


def rollup_on_request(*, start: date, end: date, today: date) -> list[date]:
    """Where no beat runs (`make run`, ANALYTICS_ROLLUP_ON_REQUEST): before a read of [start, end], the days it needs
    that were never rolled up (from 29 days before `start`, which the trailing windows read) and today and
    yesterday again, since they are still changing. Returns the days rolled up."""
    end = min(end, today)
    first = start - timedelta(days=29)
    wanted = [first + timedelta(days=n) for n in range((end - first).days + 1)]
    done = set(RollupRun.objects.filter(day__in=wanted).values_list("day", flat=True))
    stale = {today, today - timedelta(days=1)}
    days = [day for day in wanted if day not in done or day in stale]
    for day in days:
        rollup_day(day=day)
    return days
