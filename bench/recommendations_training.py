"""Training the recommendation model at scale: apps.recommendations.training.train on a million interactions.

Builds, in its own PostgreSQL database (BENCH_DATABASE_URL, default wp_bench_recommendations_training, recreated
each run): BENCH_PEOPLE people (default 20,000) around Berlin, each with one or two hidden favourite categories,
BENCH_EVENTS events (default 50,000) starting over the last 60 days and the next 7, and about BENCH_INTERACTIONS
tracked interactions (default 1,000,000) written straight through the analytics sink (COPY): recommendation lists
of 20 impressions of events of the week ahead, each carrying its request id and rank, the clicks, saves and plans
they led to (far likelier on a favourite category), and clicks that no list led to (no request id).

Then times train(now=now) end to end (load, ALS, the LTR rows, LambdaRank, the hold-out evaluation, the gate,
saving the artefact), with its phases and the hold-out metrics. Target: under 60 s.

Run: .venv/bin/python bench/recommendations_training.py [--save]
(--save writes bench/results/recommendations_training.json)
"""

import argparse
import json
import os
import resource
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

# Run as a file, which puts bench/, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import berlin
from scripts.support import bench_django, machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "recommendations_training.json"
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wp_bench_recommendations_training"
)
PEOPLE = int(os.environ.get("BENCH_PEOPLE", "20000"))
EVENTS = int(os.environ.get("BENCH_EVENTS", "50000"))
INTERACTIONS = int(os.environ.get("BENCH_INTERACTIONS", "1000000"))
QUIET_WAIT_S = float(os.environ.get("BENCH_QUIET_WAIT", "30"))
TARGET_S = 60.0
DAYS = 60
LIST_SIZE = 20
ROWS_PER_LIST = 22.1  # 20 impressions and, on average, about 2.1 clicks, saves and plans
ORPHAN_SHARE = 0.02  # of the interactions: clicks found elsewhere (search, a shared link)
DAY = 86400.0


def build_catalogue(rng: np.random.Generator, now: datetime) -> tuple[list[int], np.ndarray, np.ndarray, np.ndarray]:
    """People with profiles and events; (user ids, favourite categories per person, event ids and categories
    sorted by start, event starts as epoch seconds)."""
    favourites = rng.integers(0, len(berlin.CATEGORIES), size=(PEOPLE, 2))
    single = rng.random(PEOPLE) < 0.5
    favourites[single, 1] = favourites[single, 0]
    users = berlin.people(rng, [[berlin.CATEGORIES[int(c)] for c in set(pair.tolist())] for pair in favourites])
    offsets = np.sort(rng.uniform(-DAYS * DAY, 7 * DAY, EVENTS))
    categories = rng.integers(0, len(berlin.CATEGORIES), EVENTS)
    ids = berlin.events(rng, now, offsets, categories)
    starts = now.timestamp() + offsets
    return [user.pk for user in users], favourites, np.stack([ids, categories]), starts


def build_interactions(
    rng: np.random.Generator,
    now: datetime,
    users: list[int],
    favourites: np.ndarray,
    events: np.ndarray,
    starts: np.ndarray,
) -> dict[str, int]:
    """Lists of the week ahead and what people did with them, plus orphan clicks, through the COPY sink."""
    from django.db import transaction

    from apps.analytics.models import TrackedEvent
    from apps.analytics.sinks import CopySink

    ids, categories = events
    lists = int(INTERACTIONS * (1 - ORPHAN_SHARE) / ROWS_PER_LIST)
    shown_at = now.timestamp() - rng.uniform(0, DAYS * DAY - 7 * DAY, lists)
    person = rng.integers(0, len(users), lists)
    low = np.searchsorted(starts, shown_at)
    high = np.searchsorted(starts, shown_at + 7 * DAY)
    picks = low[:, None] + (rng.random((lists, LIST_SIZE)) * (high - low)[:, None]).astype(np.int64)
    liked = (categories[picks] == favourites[person, 0:1]) | (categories[picks] == favourites[person, 1:2])
    clicked = rng.random(picks.shape) < np.where(liked, 0.28, 0.02)
    saved = clicked & (rng.random(picks.shape) < 0.35)
    planned = saved & (rng.random(picks.shape) < 0.35)
    requests = [uuid.uuid4().hex for _ in range(lists)]
    received = now
    rows: list[Any] = []
    counts = {"impression": 0, "click": 0, "save": 0, "plan": 0, "orphan_click": 0}
    sink = CopySink()

    def flush() -> None:
        with transaction.atomic():
            sink.write(rows)
        rows.clear()

    def add(kind: str, user: int, event: int, at: float, request: str = "", rank: int | None = None) -> None:
        context: dict[str, Any] = {"request_id": request, "rank": rank} if request else {}
        rows.append(
            TrackedEvent(
                client_id=uuid.uuid4(),
                type=kind,
                at=datetime.fromtimestamp(at, tz=UTC),
                received_at=received,
                user_id=user,
                object_type="event",
                object_id=str(int(event)),
                context=context,
            )
        )
        if len(rows) >= 50_000:
            flush()

    delays = {"click": 60.0, "save": 300.0, "plan": 3600.0}
    for n in range(lists):
        user, at, request = users[int(person[n])], float(shown_at[n]), requests[n]
        for rank in range(LIST_SIZE):
            event = ids[picks[n, rank]]
            add("impression", user, event, at, request, rank + 1)
            counts["impression"] += 1
            for kind, done in (("click", clicked), ("save", saved), ("plan", planned)):
                if done[n, rank]:
                    add(kind, user, event, at + delays[kind], request if kind != "plan" else "")
                    counts[kind] += 1
    orphans = INTERACTIONS - sum(counts.values())
    for _ in range(max(orphans, 0)):
        n = int(rng.integers(0, len(users)))
        at = now.timestamp() - float(rng.uniform(0, DAYS * DAY - 7 * DAY))
        low_, high_ = np.searchsorted(starts, [at, at + 7 * DAY])
        window = np.arange(low_, high_)
        liked_window = window[np.isin(categories[window], favourites[n])]
        choice = liked_window if liked_window.size else window
        add("click", users[n], ids[int(rng.choice(choice))], at)
        counts["orphan_click"] += 1
    flush()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--save", action="store_true", help=f"write the figures to {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    bench_django.setup_django(DATABASE_URL)
    rng = np.random.default_rng(20261204)
    now = datetime.now(UTC).replace(microsecond=0)
    began = time.perf_counter()
    users, favourites, events, starts = build_catalogue(rng, now)
    counts = build_interactions(rng, now, users, favourites, events, starts)
    build_s = round(time.perf_counter() - began, 1)
    waited = machine.wait_for_quiet(QUIET_WAIT_S)
    from apps.recommendations import artefacts
    from apps.recommendations.training import train

    began = time.perf_counter()
    row = train(now=now + timedelta(seconds=1))
    train_s = round(time.perf_counter() - began, 1)
    meta = artefacts.load(row.artefact).meta
    figures: dict[str, Any] = {
        "revision": machine.revision(),
        "machine": machine.describe(),
        "quiet_wait_s": waited,
        "people": PEOPLE,
        "events": EVENTS,
        "interactions": sum(counts.values()),
        "counts": counts,
        "build_s": build_s,
        "train_s": train_s,
        "phases_s": meta["seconds"],
        "model_version": row.version,
        "model_status": row.status,
        "lists": meta["lists"],
        "rows": meta["rows"],
        "tokens": meta["tokens"],
        "ranker": meta["ranker"],
        "metrics": row.metrics,
        "trained_on_interactions": row.interactions,
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    m = figures["machine"]
    print(f"Machine: {m['nproc']} CPUs ({m['cpu_model']})")
    print(f"Data: {figures['interactions']:,} interactions {counts} of {PEOPLE:,} people on {EVENTS:,} events, "
          f"built in {build_s} s")  # fmt: skip
    verdict = "meets" if train_s < TARGET_S else "MISSES"
    print(f"Training: {train_s} s end to end ({verdict} the {TARGET_S:.0f} s target); phases {meta['seconds']}, "
          f"the rest loading, saving and the gate")  # fmt: skip
    print(f"Model {row.version} ({row.status}, {meta['ranker']}): {meta['lists']:,} lists, {meta['rows']:,} rows, "
          f"{meta['tokens']:,} tokens; {row.interactions:,} interactions before the hold-out")  # fmt: skip
    print(f"Hold-out: {row.metrics}")
    print(f"Peak memory: {figures['max_rss_mb']} MB")
    if args.save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(figures, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
