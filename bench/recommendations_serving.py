"""Serving "for you" lists at scale: top-20 latency through the service and through the API, and memory per process.

Builds, in its own PostgreSQL database (BENCH_DATABASE_URL, default wp_bench_recommendations, recreated each run):
BENCH_PEOPLE people (default 100,000) living around Berlin with interests, BENCH_EVENTS upcoming events (default
50,000, starting over the next four weeks: about 3,500 fall on a weekend, nearly all within a person's 25 km) and
20,000 past ones, and BENCH_INTERACTIONS tracked clicks, saves and plans (default 300,000) by a third of the people
(their history, and the events' popularity). Then trains a model (apps.recommendations.training.train), and serves:

1. Service: apps.recommendations.services.recommendations_serve for this weekend, top 20, impressions tracked, for
   BENCH_REQUESTS people (default 300: two thirds with a history, served by `learned`; a third without, by
   `content`). Target: p95 < 30 ms.
2. API: GET /api/v1/recommendations through DRF's test client (authentication forced: no JWT signing in the
   figure), the same people. Target: p95 < 30 ms.
3. Memory: the process's resident set after Django starts, and after the model is loaded and lists are served.

As production serves: Redis (BENCH_REDIS_URL, default db 12, flushed first; the broker is the next db) for the cache
and the broker, so each list's impressions go to a real Celery worker on the `analytics` queue; the bench checks that
every impression reached the table.

Run: .venv/bin/python bench/recommendations_serving.py [--save]
(--save writes bench/results/recommendations_serving.json)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import redis

# Run as a file, which puts bench/, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import berlin
from scripts.support import bench_django, machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "recommendations_serving.json"
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wp_bench_recommendations")
PEOPLE = int(os.environ.get("BENCH_PEOPLE", "100000"))
EVENTS = int(os.environ.get("BENCH_EVENTS", "50000"))
PAST_EVENTS = 20_000
INTERACTIONS = int(os.environ.get("BENCH_INTERACTIONS", "300000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "300"))
QUIET_WAIT_S = float(os.environ.get("BENCH_QUIET_WAIT", "30"))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
TARGET_MS = 30.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def build(rng: np.random.Generator, now: datetime) -> dict[str, Any]:
    from django.db import connection, transaction

    from apps.analytics.models import TrackedEvent
    from apps.analytics.sinks import CopySink

    began = time.perf_counter()
    users = berlin.people(rng, berlin.random_interests(rng, PEOPLE))
    offsets = np.concatenate([rng.uniform(0, 28 * 86400, EVENTS), rng.uniform(-28 * 86400, -3600, PAST_EVENTS)])
    event_ids = berlin.events(rng, now, offsets, rng.integers(0, len(berlin.CATEGORIES), len(offsets))).tolist()
    active = [user.pk for user in users[: PEOPLE // 3]]
    kinds = rng.choice(["click", "click", "click", "save", "plan"], size=INTERACTIONS)
    who = rng.choice(active, size=INTERACTIONS)
    what = rng.choice(event_ids, size=INTERACTIONS)
    sink = CopySink()
    for chunk in range(0, INTERACTIONS, 20_000):
        rows = [
            TrackedEvent(
                client_id=uuid.uuid4(),
                type=str(kinds[n]),
                at=now - timedelta(seconds=float(rng.uniform(0, 20 * 86400))),
                received_at=now,
                user_id=int(who[n]),
                object_type="event",
                object_id=str(int(what[n])),
            )
            for n in range(chunk, min(chunk + 20_000, INTERACTIONS))
        ]
        with transaction.atomic():
            sink.write(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would have by now: the planner sees the tables' real sizes
    return {"build_s": round(time.perf_counter() - began, 1)}


def percentile(values: list[float], share: float) -> float:
    return round(float(np.percentile(values, share)), 1)


def timings(label: str, values: list[float]) -> dict[str, Any]:
    return {
        f"{label}_p50_ms": percentile(values, 50),
        f"{label}_p95_ms": percentile(values, 95),
        f"{label}_max_ms": round(max(values), 1),
        f"{label}_mean_ms": round(statistics.fmean(values), 1),
    }


def serve(now: datetime) -> dict[str, Any]:
    """In a process of its own (as a web worker is): its memory before and after serving is the serving's."""
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from apps.analytics.models import TrackedEvent
    from apps.core.time import weekend_window
    from apps.recommendations import selectors, services

    rss_started = rss_mb()
    rng = np.random.default_rng(7)
    users = get_user_model().objects.select_related("profile")
    clicked = TrackedEvent.objects.filter(type="click", user_id__isnull=False).values_list("user_id", flat=True)
    active = [int(pk) for pk in clicked.distinct()[:5000] if pk is not None]
    with_history = [int(pk) for pk in rng.choice(active, size=REQUESTS * 2 // 3, replace=False)]
    without = list(users.exclude(pk__in=active).values_list("pk", flat=True)[: REQUESTS // 3])
    chosen = list(users.filter(pk__in=with_history + without))
    start, end = weekend_window("this", "Europe/Berlin", now=now)
    warm_up = services.recommendations_serve(user=chosen[0], start=start, end=end, tz="Europe/Berlin", now=now)
    rankers: dict[str, int] = {}
    service_ms, sizes = [], []
    listed = len(warm_up.results)
    for user in chosen:
        began = time.perf_counter()
        served = services.recommendations_serve(user=user, start=start, end=end, tz="Europe/Berlin", now=now)
        service_ms.append((time.perf_counter() - began) * 1000)
        rankers[served.ranker] = rankers.get(served.ranker, 0) + 1
        sizes.append(len(served.results))
        listed += len(served.results)
    client = APIClient()
    api_ms = []
    for user in chosen:
        client.force_authenticate(user)
        began = time.perf_counter()
        response = client.get("/api/v1/recommendations")
        api_ms.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.content
        listed += len(response.json()["results"])
    person = selectors.person_for(user=chosen[0], near=None, start=start, end=end, tz="Europe/Berlin", now=now)
    candidates = selectors.candidates_for(person=person, start=start, end=end, now=now, exclude=set())
    return {
        "requests": len(chosen),
        "with_history": len(with_history),
        "rankers": rankers,
        "list_size_min": min(sizes),
        "candidates": len(candidates),
        "impressions_handed_over": listed,
        **timings("service", service_ms),
        **timings("api", api_ms),
        "rss_after_setup_mb": rss_started,
        "rss_after_serving_mb": rss_mb(),
    }


def serve_in_child(now: datetime) -> dict[str, Any]:
    """Serves in a child process while a real worker stores the impressions; waits for the last of them."""
    from apps.analytics.models import TrackedEvent
    from scripts.support import processes

    impressions = TrackedEvent.objects.filter(type="impression", received_at__gte=now)
    before = impressions.count()
    worker = processes.start(
        [processes.tool("celery"), "-A", "planner", "worker", "--queues=analytics", "--pool=solo",
         "--without-gossip", "--without-mingle", "--loglevel=WARNING"],
        log=None,
    )  # fmt: skip
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--serve", now.isoformat()], capture_output=True, text=True, check=True
        )
        figures = dict(json.loads(done.stdout.strip().splitlines()[-1]))
        deadline = time.monotonic() + 120
        while impressions.count() - before < figures["impressions_handed_over"] and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        processes.stop_all([worker], timeout=30)
    figures["impressions_stored_by_the_worker"] = impressions.count() - before
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--save", action="store_true", help=f"write the figures to {RESULTS.relative_to(ROOT)}")
    parser.add_argument("--serve", metavar="NOW", help="(internal) serve the lists in this process, at NOW")
    parser.add_argument("--reuse", action="store_true", help="serve from the data and model of the last run")
    args = parser.parse_args()
    if args.serve:
        bench_django.setup_django(DATABASE_URL, keep=True, redis_url=REDIS_URL)
        print(json.dumps(serve(datetime.fromisoformat(args.serve))))
        return
    redis.Redis.from_url(REDIS_URL).flushdb()
    bench_django.setup_django(DATABASE_URL, keep=args.reuse, redis_url=REDIS_URL)
    rng = np.random.default_rng(20261204)
    if args.reuse:  # the data's own "now": the newest model's training moment
        from apps.recommendations.models import ModelVersion

        version = ModelVersion.objects.get(is_current=True)
        now, built, train_s = version.created_at, {"build_s": None}, None
    else:
        now = datetime.now(UTC)
        built = build(rng, now)
        from apps.recommendations.training import train

        began = time.perf_counter()
        version = train(now=now)
        train_s = round(time.perf_counter() - began, 1)
    waited = machine.wait_for_quiet(QUIET_WAIT_S)
    figures: dict[str, Any] = {
        "revision": machine.revision(),
        "machine": machine.describe(),
        "load_average_before": os.getloadavg()[0],
        "quiet_wait_s": waited,
        "people": PEOPLE,
        "upcoming_events": EVENTS,
        "interactions": INTERACTIONS,
        "build_s": built["build_s"],
        "train_s": train_s,
        "model_version": version.version,
        "model_status": version.status,
        **serve_in_child(now),
    }
    m = figures["machine"]
    print(f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), load average {figures['load_average_before']:.1f}")
    print(f"Data: {PEOPLE:,} people, {EVENTS:,} upcoming events ({figures['candidates']:,} candidates for one "
          f"person this weekend), {INTERACTIONS:,} interactions; built in {figures['build_s']} s, model "
          f"{figures['model_version']} ({figures['model_status']}) trained in {train_s} s")  # fmt: skip
    print(f"Rankers used: {figures['rankers']} over {figures['requests']} requests")
    for label, name in (("service", "1. Service"), ("api", "2. API")):
        ok = "meets" if figures[f"{label}_p95_ms"] < TARGET_MS else "MISSES"
        print(f"{name}: top 20 p50 {figures[f'{label}_p50_ms']} ms, p95 {figures[f'{label}_p95_ms']} ms, "
              f"max {figures[f'{label}_max_ms']} ms ({ok} the p95 < {TARGET_MS:.0f} ms target)")  # fmt: skip
    print(f"Impressions: {figures['impressions_stored_by_the_worker']} of {figures['impressions_handed_over']} "
          "handed to the analytics queue were stored by the worker")  # fmt: skip
    print(f"3. Memory of the serving process: {figures['rss_after_setup_mb']} MB resident after Django started, "
          f"{figures['rss_after_serving_mb']} MB with the catalogue copy and the model, after serving")  # fmt: skip
    if args.save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
