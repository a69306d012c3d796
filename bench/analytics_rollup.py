"""The daily KPI rollup over a day of 1,000,000 tracked events, and the dashboard's queries at that volume.

1. Seeding (once; reused on later runs, BENCH_RESEED=1 redoes it), with COPY into the partitioned table:
   BENCH_EVENTS events (default 1,000,000) on one UTC day (DAY) from 60,000 accounts and 90,000 anonymous
   browsers: page views 40%, recommendation impressions 35% (lists of 5 with a request id and a variant), clicks on
   them 8%, saves 3%, plans 1%, web vitals 10% (LCP/INP/CLS/TTFB on 12 pages), sign-ups 2,000, and 96
   source_synced events. The 29 days before hold 100,000 active people each (DailyActivePerson, as their rollups
   left them), so the weekly and monthly actives count distinct people over 3 million rows. Then VACUUM ANALYZE.
2. The rollup: apps.analytics.rollup.rollup_day(DAY), BENCH_RUNS times (it replaces its rows each time); min, p50
   and max. Target: under 5 s.
3. The dashboard's reads at that volume: the KPI table is filled with a year of days (the rolled-up day's rows copied
   to the 365 days before), then each read the dashboard and the API make (a metric's 28 days by day and by week,
   the funnel, the retention cohorts, web vitals by page, the experiments) and the /metrics page's business gauges,
   p50 and max of BENCH_RUNS runs each. Target: each under 200 ms.

Runs on its own PostgreSQL database (BENCH_DATABASE_URL, default wp_bench_kpis).
Run: .venv/bin/python bench/analytics_rollup.py
"""

import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a file, which puts bench/, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.support import bench_django, machine

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wp_bench_kpis")
EVENTS = int(os.environ.get("BENCH_EVENTS", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
QUIET_WAIT_S = float(os.environ.get("BENCH_QUIET_WAIT", "60"))
DAY = date(2026, 11, 18)
ACCOUNTS, BROWSERS = 60_000, 90_000
PAGES = [f"/page-{n}/" for n in range(12)]
SEED = 20261205
ROLLUP_TARGET_S, QUERY_TARGET_MS = 5.0, 200.0


def _copy(table: str, columns: str, rows: list[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for start in range(0, len(rows), 100_000):
            copy.write("".join(rows[start : start + 100_000]))


def _seed_events(rng: random.Random) -> None:
    from apps.analytics import partitions

    partitions.ensure({partitions.month_of(DAY)})
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    rows: list[str] = []

    def add(kind: str, person: tuple[int | None, str], obj: str = "", context: dict[str, Any] | None = None) -> None:
        at = (start + timedelta(seconds=rng.random() * 86_399)).isoformat()
        user = "\\N" if person[0] is None else str(person[0])
        text = json.dumps(context or {}).replace("\\", "\\\\")
        rows.append(
            f"{uuid.uuid4()}\t{kind}\t{at}\t{at}\t{user}\t{person[1]}\t{'event' if obj else ''}\t{obj}\t{text}\n"
        )

    def someone() -> tuple[int | None, str]:
        if rng.random() < 0.45:
            return rng.randrange(1, ACCOUNTS + 1), ""
        return None, f"browser-{rng.randrange(BROWSERS)}"

    while len(rows) < EVENTS:
        roll, who = rng.random(), someone()
        if roll < 0.40:
            add("page_view", who, context={"page": rng.choice(PAGES)})
        elif roll < 0.75:
            request_id, variant = uuid.uuid4().hex, rng.choice(["control", "fresh"])
            listed = [str(rng.randrange(1, 20_000)) for _ in range(5)]
            for rank, event_id in enumerate(listed, 1):
                add("impression", who, event_id, {"request_id": request_id, "variant": variant, "rank": rank})
            if rng.random() < 0.45:
                add("click", who, listed[0], {"request_id": request_id, "rank": 1})
                if rng.random() < 0.37:
                    add("save", who, listed[0])
                    if rng.random() < 0.33:
                        add("plan", who, listed[0])
        elif roll < 0.85:
            for name in ("LCP", "INP", "CLS", "TTFB"):
                value = rng.uniform(0, 0.5) if name == "CLS" else rng.lognormvariate(7, 0.6)
                add("web_vital", who, context={"name": name, "value": value, "page": rng.choice(PAGES)})
    for n in range(2_000):
        add("signup", (ACCOUNTS + n + 1, ""))
    for n in range(96):
        add("source_synced", (None, ""), context={"source_id": n % 8 + 1, "outcome": "completed", "fetched": 400})
    print(f"Seeding {len(rows):,} tracked events with COPY ...", flush=True)
    _copy(
        "analytics_trackedevent",
        "client_id, type, at, received_at, user_id, anonymous_id, object_type, object_id, context",
        rows,
    )


def _seed_earlier_actives(rng: random.Random) -> None:
    lines = []
    for back in range(1, 30):
        day = (DAY - timedelta(days=back)).isoformat()
        chosen = rng.sample(range(ACCOUNTS + BROWSERS), 100_000)
        lines += [f"{day}\t{'u:' + str(n + 1) if n < ACCOUNTS else 'a:browser-' + str(n - ACCOUNTS)}\n" for n in chosen]
    print(f"Seeding {len(lines):,} earlier active people with COPY ...", flush=True)
    _copy("analytics_dailyactiveperson", "day, person", lines)


def seed() -> None:
    from django.core.management import call_command
    from django.db import connection

    from apps.analytics.models import TrackedEvent

    if TrackedEvent.objects.exists() and os.environ.get("BENCH_RESEED") != "1":
        print("Seeded data found (BENCH_RESEED=1 redoes it).", flush=True)
        return
    call_command("flush", "--noinput", verbosity=0)
    rng = random.Random(SEED)
    _seed_events(rng)
    _seed_earlier_actives(rng)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def timings(action: Callable[[], object], runs: int) -> dict[str, float]:
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - began)
    return {"min": min(seconds), "p50": statistics.median(seconds), "max": max(seconds)}


def _fill_a_year() -> None:
    """The rolled-up day's KPI rows copied to the 365 days before it: the table as a year of beat would leave it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM analytics_dailymetric WHERE day < %s", [DAY])
        cursor.execute(
            "INSERT INTO analytics_dailymetric (day, metric, segment, value, numerator, denominator, computed_at)"
            " SELECT %s::date - back, metric, segment, value, numerator, denominator, computed_at"
            " FROM analytics_dailymetric, generate_series(1, 365) AS back WHERE day = %s",
            [DAY, DAY],
        )
        cursor.execute("ANALYZE analytics_dailymetric")


def main() -> None:
    bench_django.setup_django(DATABASE_URL, keep=True)
    from django.utils import timezone

    from apps.analytics import rollup, selectors_kpis
    from apps.analytics.models import DailyMetric

    seed()
    figures: dict[str, Any] = {"machine": machine.describe(), "revision": machine.revision(), "events": EVENTS}
    figures["quiet_wait_s"] = machine.wait_for_quiet(QUIET_WAIT_S)
    figures["busy_pct_before"] = machine.busy_pct()

    results: list[rollup.RollupResult] = []
    figures["rollup_s"] = timings(lambda: results.append(rollup.rollup_day(day=DAY)), RUNS)
    figures["rollup_read_events"] = results[-1].events
    figures["rollup_rows"] = results[-1].metrics
    print(
        f"Rollup of {results[-1].events:,} events ({results[-1].metrics} KPI rows): {figures['rollup_s']}", flush=True
    )

    _fill_a_year()
    figures["kpi_rows"] = DailyMetric.objects.count()
    start, end = DAY - timedelta(days=27), DAY
    reads: dict[str, Callable[[], object]] = {
        "kpi active_people_daily, 28 days by day": lambda: selectors_kpis.kpi_points(
            metric="active_people_daily", start=start, end=end
        ),
        "kpi recommendation_ctr, 28 days by week": lambda: selectors_kpis.kpi_points(
            metric="recommendation_ctr", start=start, end=end, granularity="week"
        ),
        "kpi web_vital_lcp_p75, a year by week": lambda: selectors_kpis.kpi_points(
            metric="web_vital_lcp_p75", start=DAY - timedelta(days=364), end=end, granularity="week"
        ),
        "csv export of recommendation_ctr, 28 days": lambda: selectors_kpis.kpi_export_rows(
            metric="recommendation_ctr", start=start, end=end, granularity="day"
        ),
        "funnel, 28 days": lambda: selectors_kpis.funnel(start=start, end=end),
        "retention cohorts, 12 weeks": lambda: selectors_kpis.retention_cohorts(
            start=DAY - timedelta(days=83), end=end
        ),
        "web vitals by page, 28 days": lambda: selectors_kpis.web_vitals_by_page(start=start, end=end),
        "experiments listed": selectors_kpis.experiments_listed,
        "/metrics business gauges": lambda: selectors_kpis.business_gauges(
            now=datetime(DAY.year, DAY.month, DAY.day, 23, tzinfo=UTC)
        ),
    }
    figures["reads_ms"] = {}
    for name, read in reads.items():
        read()  # warm
        measured = timings(read, max(RUNS, 7))
        figures["reads_ms"][name] = {key: round(value * 1000, 2) for key, value in measured.items()}
        print(
            f"{name}: p50 {figures['reads_ms'][name]['p50']} ms, max {figures['reads_ms'][name]['max']} ms", flush=True
        )
    figures["busy_pct_after"] = machine.busy_pct()
    figures["measured_at"] = timezone.now().isoformat()

    worst_read = max(read["max"] for read in figures["reads_ms"].values())
    print(json.dumps(figures, indent=2))
    print(
        f"\nRollup p50 {figures['rollup_s']['p50']:.2f} s (target < {ROLLUP_TARGET_S} s): "
        f"{'met' if figures['rollup_s']['max'] < ROLLUP_TARGET_S else 'MISSED'}; "
        f"slowest dashboard read {worst_read:.1f} ms (target < {QUERY_TARGET_MS} ms): "
        f"{'met' if worst_read < QUERY_TARGET_MS else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
