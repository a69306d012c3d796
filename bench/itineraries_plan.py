"""Plan my weekend at scale: one itinerary end to end over about 2,000 candidate events of the weekend.

Builds, in its own PostgreSQL database (BENCH_DATABASE_URL, default wp_bench_itineraries, recreated each run):
BENCH_PEOPLE people (default 200) living around Berlin with interests and a budget, each with two plans of their
own on the weekend, and BENCH_EVENTS upcoming events (default 2,300, all on this weekend between 09:00 and 23:00
Berlin time, within 15 km of the centre: about 2,000 are within a person's 25 km; a tenth are day-long markets and
exhibitions, visited for two hours at any time they are open). Then plans this weekend for BENCH_REQUESTS people
(default 40; defaults of the profile: transit, balanced pace, home to home) after one warm-up:

1. Service: apps.itineraries.services.itinerary_create, end to end: candidates and their scores from the
   recommendations ranker, the person's plans, the travel matrix (its legs from and to home read from the travel
   cache, as warm as it gets), the solver (ITINERARY_SOLVER_SECONDS, default 1.0 s) and the stored rows.
2. API: POST /api/v1/itineraries through DRF's test client (authentication forced), the same people.

Target: p95 < 2 s end to end. Prints the candidates and nodes per request, the solver's share and the stops.

Run: .venv/bin/python bench/itineraries_plan.py [--save]
"""

import argparse
import json
import os
import sys
import time
import zoneinfo
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import berlin
from scripts.support import bench_django, machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "itineraries_plan.json"
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wp_bench_itineraries")
PEOPLE = int(os.environ.get("BENCH_PEOPLE", "200"))
EVENTS = int(os.environ.get("BENCH_EVENTS", "2300"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "40"))
TARGET_S = 2.0


def build(rng: np.random.Generator, now: datetime) -> dict[str, Any]:
    from apps.calendars import plan_fields
    from apps.calendars import services as calendar_services
    from apps.core.time import weekend_window
    from apps.events.models import Event

    began = time.perf_counter()
    users = berlin.people(rng, berlin.random_interests(rng, PEOPLE))
    saturday, _ = weekend_window("this", "Europe/Berlin", now=now)
    day = rng.integers(0, 2, EVENTS) * 86400
    hour = rng.uniform(9 * 3600, 21 * 3600, EVENTS)  # Berlin's 09:00 is saturday + 9 h
    offsets = (saturday - now).total_seconds() + day + hour
    ids = berlin.events(rng, now, offsets, rng.integers(0, len(berlin.CATEGORIES), EVENTS))
    long_ones = set(ids[rng.random(EVENTS) < 0.1].tolist())
    rows = list(Event.objects.filter(pk__in=long_ones))
    for event in rows:  # open 09:00-18:00 on its day
        opens = saturday + timedelta(days=(event.start_utc - saturday).days, hours=9)
        event.start_utc, event.end_utc = opens, opens + timedelta(hours=9)
    Event.objects.bulk_update(rows, ["start_utc", "end_utc"])
    local_saturday = saturday.astimezone(zoneinfo.ZoneInfo("Europe/Berlin")).replace(tzinfo=None)
    for user in users[: REQUESTS + 1]:
        calendar = calendar_services.calendar_ensure_default(owner=user)
        for plan_day, plan_hour in ((0, int(rng.integers(12, 17))), (1, int(rng.integers(11, 19)))):
            lat, lon = berlin.around_berlin(rng, 1, 10)
            start = local_saturday + timedelta(days=plan_day, hours=plan_hour)
            data = plan_fields.plan_data(
                start=start, end=start + timedelta(minutes=90), title="Own plan", timezone="Europe/Berlin",
                lat=float(lat[0]), lon=float(lon[0]),
            )  # fmt: skip
            calendar_services.plan_create(calendar=calendar, data=data)
    return {"build_s": round(time.perf_counter() - began, 1)}


def percentile(values: list[float], share: float) -> float:
    return round(float(np.percentile(values, share)), 3)


def plan(now: datetime) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from rest_framework.test import APIClient

    from apps.itineraries import problem as problems
    from apps.itineraries import selectors, services

    users = list(get_user_model().objects.select_related("profile").order_by("pk")[: REQUESTS + 1])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    solved: list[float] = []
    original_solve = services.solve

    def timed_solve(problem: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return original_solve(problem, **kwargs)
        finally:
            solved.append(time.perf_counter() - began)

    services.solve = timed_solve
    service_s, stops, nodes, candidates = [], [], [], []
    for n, user in enumerate(users):
        ask = selectors.ask_for(user=user, values={}, now=now)
        began = time.perf_counter()
        itinerary = services.itinerary_create(owner=user, ask=ask, now=now)
        elapsed = time.perf_counter() - began
        if n == 0:
            problem = problems.build(user=user, ask=ask, now=now)
            candidates.append(len(problem.scores.event_ids))
            nodes.append(len(problem.nodes))
            continue  # the warm-up: the catalogue's copy and the ranker's first load
        service_s.append(elapsed)
        stops.append(itinerary.stops.count())
    client = APIClient()
    api_s = []
    for user in users[1:]:
        client.force_authenticate(user)
        began = time.perf_counter()
        response = client.post("/api/v1/itineraries", {}, format="json")
        api_s.append(time.perf_counter() - began)
        assert response.status_code == 201, response.content
    solver_s = solved[1 : 1 + len(service_s)]
    return {
        "requests": len(service_s),
        "candidates": candidates[0],
        "nodes": nodes[0],
        "stops_mean": round(float(np.mean(stops)), 2),
        "service_p50_s": percentile(service_s, 50),
        "service_p95_s": percentile(service_s, 95),
        "service_max_s": round(max(service_s), 3),
        "solver_p50_s": percentile(solver_s, 50),
        "api_p50_s": percentile(api_s, 50),
        "api_p95_s": percentile(api_s, 95),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--save", action="store_true", help=f"write the figures to {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    bench_django.setup_django(DATABASE_URL)
    from django.conf import settings

    rng = np.random.default_rng(20261205)
    now = datetime.now(UTC)
    built = build(rng, now)
    waited = machine.wait_for_quiet(30.0)
    figures: dict[str, Any] = {
        "revision": machine.revision(),
        "machine": machine.describe(),
        "load_average_before": os.getloadavg()[0],
        "quiet_wait_s": waited,
        "people": PEOPLE,
        "events": EVENTS,
        "solver_seconds": settings.ITINERARY_SOLVER_SECONDS,
        **built,
        **plan(now),
    }
    m = figures["machine"]
    print(f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), load average {figures['load_average_before']:.1f}")
    print(f"Data: {EVENTS:,} weekend events ({figures['candidates']:,} candidates, {figures['nodes']:,} solver nodes "
          f"for one person), built in {figures['build_s']} s; solver limit {figures['solver_seconds']} s")  # fmt: skip
    for label, name in (("service", "1. Service"), ("api", "2. API")):
        ok = "meets" if figures[f"{label}_p95_s"] < TARGET_S else "MISSES"
        print(f"{name}: p50 {figures[f'{label}_p50_s']} s, p95 {figures[f'{label}_p95_s']} s over "
              f"{figures['requests']} itineraries ({ok} the p95 < {TARGET_S:.0f} s target)")  # fmt: skip
    print(f"Solver p50 {figures['solver_p50_s']} s of it; {figures['stops_mean']} stops per itinerary on average")
    if args.save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
