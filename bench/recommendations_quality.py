"""Ranking quality on a simulated population: the nDCG@10 (and the rest of the offline figures) of every ranker.

In its own PostgreSQL database (BENCH_DATABASE_URL, default wp_bench_recommendations_quality, recreated each run):

1. Catalogue: the demo Berlin (`manage.py seed_demo --date 2027-05-03`: about 190 events on each of the weekends
   of 8, 15 and 22 May 2027).
2. Population: apps.recommendations.simulation.simulate, BENCH_PEOPLE people (default 300) over BENCH_WEEKENDS
   weekends (default 3), seed BENCH_SEED. Each session runs through the real services at its simulated moment, the
   simulated moments (docs/recommendations.md, "Simulation").
3. Training: apps.recommendations.training.train at the end of the last sessions (its own hold-out and quality gate),
   when the training package is there.
4. Evaluation: apps.recommendations.evaluation.evaluate, the newest 7 days held out (the last weekend's sessions):
   every registered ranker, `learned` trained on the train side alone, and the random baseline. Prints the table.

Run: .venv/bin/python bench/recommendations_quality.py [--save]
(--save writes bench/results/recommendations_quality.json)
"""

import argparse
import io
import json
import os
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a file, which puts bench/, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.support import bench_django, machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "recommendations_quality.json"
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wp_bench_recommendations_quality"
)
PEOPLE = int(os.environ.get("BENCH_PEOPLE", "300"))
WEEKENDS = int(os.environ.get("BENCH_WEEKENDS", "3"))
SEED = int(os.environ.get("BENCH_SEED", "20270503"))
HOLDOUT_DAYS = 7.0
CATALOGUE_DATE = date(2027, 5, 3)  # a Monday: the demo's weekends are 8, 15 and 22 May 2027, no DST change near


def main() -> dict[str, Any]:
    bench_django.setup_django(DATABASE_URL, OPENBLAS_NUM_THREADS="1")
    from django.core.management import call_command

    from apps.recommendations import evaluation, simulation

    call_command("seed_demo", date=CATALOGUE_DATE, stdout=io.StringIO())
    started = time.perf_counter()
    population = simulation.simulate(people=PEOPLE, seed=SEED, weekends=WEEKENDS)
    simulated_s = time.perf_counter() - started
    summary = population.summary()
    print(
        f"Simulated {summary['people']} people over {', '.join(summary['weekends'])} in {simulated_s:.1f} s: "
        f"{summary['impressions']} impressions, {summary['clicks']} clicks, {summary['saves']} saves, "
        f"{summary['plans']} plans"
    )
    last = max(datetime.fromisoformat(at) for *_, at in population.log)
    trained = _train(last + timedelta(hours=1))
    started = time.perf_counter()
    found = evaluation.evaluate(holdout_days=HOLDOUT_DAYS, seed=SEED)
    evaluated_s = time.perf_counter() - started
    print(
        f"\nEvaluated in {evaluated_s:.1f} s: hold-out from {found.split.isoformat() if found.split else '-'}, "
        f"{found.people} people, {found.candidates} candidate events"
    )
    for name, why in sorted(found.skipped.items()):
        print(f"Skipped {name}: {why}")
    print()
    for line in evaluation.table(found):
        print(line)
    return {
        "machine": machine.describe(),
        "people": PEOPLE,
        "weekends": WEEKENDS,
        "seed": SEED,
        "simulation": {**summary, "seconds": round(simulated_s, 1)},
        "training": trained,
        "evaluation": {**found.as_json(), "seconds": round(evaluated_s, 1), "skipped": found.skipped},
    }


def _train(now: datetime) -> dict[str, Any] | None:
    """A training run with its quality gate, as the nightly task makes one; None without the training package."""
    try:
        from apps.recommendations import training
    except ImportError:
        print("No training package: the learned ranker is evaluated only if the evaluation can train it.")
        return None
    started = time.perf_counter()
    version = training.train(now=now, holdout_days=HOLDOUT_DAYS, seed=SEED)
    seconds = time.perf_counter() - started
    print(
        f"Trained {version.version} in {seconds:.1f} s: {version.status}, training's hold-out "
        f"ndcg@10 {version.metrics.get('ndcg@10')} (random {version.metrics.get('random_ndcg@10')})"
    )
    return {"version": version.version, "status": version.status, "metrics": version.metrics, "seconds": seconds}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--save", action="store_true", help=f"write {RESULTS.relative_to(ROOT)}")
    arguments = parser.parse_args()
    results = main()
    if arguments.save:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"\nSaved {RESULTS.relative_to(ROOT)}")
