"""Tracking throughput on PostgreSQL: the sink's COPY path, and POST /api/v1/track with batches of 500.

1. Sink: apps.analytics.sinks.CopySink.write with BENCH_SINK_EVENTS events (default 200,000) in batches of
   BENCH_SINK_BATCH (default 5,000), each batch COPY into the staging table and one INSERT ... ON CONFLICT DO
   NOTHING RETURNING into the monthly partition. Target: at least 20,000 events/s.
2. API: POST /api/v1/track through DRF's test client (no network, no gunicorn: the view, the per-event checks,
   the dedupe and the sink) with BENCH_API_BATCHES batches (default 40) of 500 anonymous events of mixed types.
   Target: at least 5,000 events/s.
3. Duplicates: the first API batch sent again, all counted as duplicates and nothing stored.

Runs on its own PostgreSQL database (BENCH_DATABASE_URL, default wp_bench_tracking), recreated on each run.
Run: .venv/bin/python bench/analytics_tracking.py [--save]  (--save writes bench/results/analytics_tracking.json)
"""

import argparse
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a file, which puts bench/, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.support import bench_django, machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "analytics_tracking.json"

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wp_bench_tracking")
SINK_EVENTS = int(os.environ.get("BENCH_SINK_EVENTS", "200000"))
SINK_BATCH = int(os.environ.get("BENCH_SINK_BATCH", "5000"))
API_BATCHES = int(os.environ.get("BENCH_API_BATCHES", "40"))
QUIET_WAIT_S = float(os.environ.get("BENCH_QUIET_WAIT", "30"))
SINK_TARGET, API_TARGET = 20_000, 5_000
TYPES = ("page_view", "impression", "impression", "impression", "click", "save", "dismiss", "search")


def setup_django() -> None:
    bench_django.setup_django(DATABASE_URL)


def bench_sink() -> dict[str, Any]:
    from django.db import transaction

    from apps.analytics.models import TrackedEvent
    from apps.analytics.sinks import CopySink

    sink = CopySink()
    now = datetime.now(UTC)
    elapsed, stored = 0.0, 0
    for start in range(0, SINK_EVENTS, SINK_BATCH):
        rows = [
            TrackedEvent(
                client_id=uuid.uuid4(),
                type=TYPES[n % len(TYPES)],
                at=now - timedelta(seconds=n % 3600),
                received_at=now,
                anonymous_id=f"visitor-{n % 50_000}",
                object_type="event",
                object_id=str(n % 5_000),
                context={"page": "/discover/", "rank": n % 20},
            )
            for n in range(start, min(start + SINK_BATCH, SINK_EVENTS))
        ]
        began = time.perf_counter()
        with transaction.atomic():
            stored += len(sink.write(rows))
        elapsed += time.perf_counter() - began
    return {"sink_events": stored, "sink_s": round(elapsed, 2), "sink_events_per_s": round(stored / elapsed)}


def _batch(now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "id": str(uuid.uuid4()),
            "type": TYPES[n % len(TYPES)],
            "at": (now - timedelta(seconds=n)).isoformat(),
            "anonymous_id": f"visitor-{n % 97}",
            "object_type": "event",
            "object_id": str(n),
            "context": {"page": "/discover/", "rank": n % 20, "request_id": "r-1"},
        }
        for n in range(500)
    ]


def bench_api() -> dict[str, Any]:
    from rest_framework.test import APIClient

    client = APIClient()
    batches = [_batch(datetime.now(UTC)) for _ in range(API_BATCHES)]
    accepted, elapsed = 0, 0.0
    for events in batches:
        began = time.perf_counter()
        response = client.post("/api/v1/track", {"events": events}, format="json")
        elapsed += time.perf_counter() - began
        assert response.status_code == 202, response.content
        accepted += response.json()["accepted"]
    began = time.perf_counter()
    again = client.post("/api/v1/track", {"events": batches[0]}, format="json").json()
    again_s = time.perf_counter() - began
    return {
        "api_events": accepted,
        "api_s": round(elapsed, 2),
        "api_events_per_s": round(accepted / elapsed),
        "api_batch_ms": round(elapsed / len(batches) * 1000, 1),
        "resend_duplicates": again["duplicates"],
        "resend_accepted": again["accepted"],
        "resend_ms": round(again_s * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--save", action="store_true", help=f"write the figures to {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    setup_django()
    waited = machine.wait_for_quiet(QUIET_WAIT_S)
    figures: dict[str, Any] = {
        "revision": machine.revision(),
        "machine": machine.describe(),
        "load_average_before": os.getloadavg()[0],
        "quiet_wait_s": waited,
        "busy_pct_before": machine.busy_pct(),
        **bench_sink(),
        **bench_api(),
    }
    m = figures["machine"]
    print(f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), load average {figures['load_average_before']:.1f}, "
          f"CPUs busy {figures['busy_pct_before']:.0f}% before")  # fmt: skip
    sink_ok = "meets" if figures["sink_events_per_s"] >= SINK_TARGET else "MISSES"
    api_ok = "meets" if figures["api_events_per_s"] >= API_TARGET else "MISSES"
    print(f"1. Sink (COPY): {figures['sink_events']:,} events in {figures['sink_s']} s = "
          f"{figures['sink_events_per_s']:,} events/s ({sink_ok} the {SINK_TARGET:,} target)")  # fmt: skip
    print(f"2. API, batches of 500: {figures['api_events']:,} events in {figures['api_s']} s = "
          f"{figures['api_events_per_s']:,} events/s, {figures['api_batch_ms']} ms a batch "
          f"({api_ok} the {API_TARGET:,} target)")  # fmt: skip
    print(f"3. Resent batch: {figures['resend_duplicates']} duplicates, {figures['resend_accepted']} stored, "
          f"{figures['resend_ms']} ms")  # fmt: skip
    if args.save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
