"""The orienteering solver (apps.itineraries.solver) on the standard OPTW benchmark: Righini and Salani's 29
Solomon-based instances of 100 customers, one tour and two tours, at several time limits.

Every answer is checked with the independent checker (`check`, which recomputes every schedule from the
instance); an infeasible answer fails the run. For one tour the table gives each instance's best known score
(best-known-m1.csv) and the score and gap at each time limit; for two tours the scores (no reference values
under this truncation convention). Targets, one tour: mean gap <= 3 % at 2 s and <= 1 % at 10 s.

Runs at most two solves at a time, each in its own process (the machine has two cores); each solve gets its
whole limit, so the full run (2, 10 and 30 s, m = 1 and 2, 29 instances) takes about 21 minutes.

Run: .venv/bin/python bench/optw_solver.py [--limits 2,10,30] [--tours 1,2] [--instances c101,r101]
     [--data /work/shared/bench-data/optw] [--seed 0] [--workers 2] [--save]
(--save writes bench/results/optw_solver.json)
"""

import argparse
import csv
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

# Run as a file, which puts bench/, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.itineraries.solver import check, parse_kuleuven, solve

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "bench-data" / "optw"
RESULTS = ROOT / "bench" / "results" / "optw_solver.json"
TARGETS = {2.0: 3.0, 10.0: 1.0}  # time limit (s) -> the largest acceptable mean gap (%) with one tour


def run_one(path: str, tours: int, limit: float, seed: int) -> dict[str, Any]:
    """One solve in a worker process: the score, the seconds it took and what the checker found."""
    instance = parse_kuleuven(Path(path).read_text(), tours=tours)
    began = time.perf_counter()
    found = solve(instance, time_limit=limit, seed=seed)
    elapsed = time.perf_counter() - began
    return {
        "score": found.score,
        "seconds": elapsed,
        "iterations": found.iterations,
        "problems": check(instance, found),
    }


def gap(score: float, best: float) -> float:
    return 100.0 * (best - score) / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limits", default="2,10,30", help="time limits in seconds, comma-separated")
    parser.add_argument("--tours", default="1,2", help="tour counts, comma-separated")
    parser.add_argument("--instances", default="", help="instance names (default: every solomon_100 instance)")
    parser.add_argument("--data", type=Path, default=DATA, help="the folder holding solomon_100/ and best-known-m1.csv")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="solves at a time (at most 2 on this machine)")
    parser.add_argument("--save", action="store_true", help="write bench/results/optw_solver.json")
    args = parser.parse_args()

    folder = args.data / "solomon_100"
    if not folder.is_dir():
        print(f"No benchmark data at {folder}.", file=sys.stderr)
        return 2
    with (args.data / "best-known-m1.csv").open() as handle:
        best = {row["instance"]: float(row["best_known_score"]) for row in csv.DictReader(handle)}
    names = args.instances.split(",") if args.instances else sorted(p.stem for p in folder.glob("*.txt"))
    limits = [float(value) for value in args.limits.split(",")]
    tour_counts = [int(value) for value in args.tours.split(",")]
    jobs = [(name, m, limit) for m in tour_counts for limit in limits for name in names]
    # The longest solves first, so that the two workers finish together.
    jobs.sort(key=lambda job: -job[2])

    results: dict[tuple[str, int, float], dict[str, Any]] = {}
    began = time.perf_counter()
    with ProcessPoolExecutor(max_workers=min(2, max(1, args.workers))) as pool:
        futures = {job: pool.submit(run_one, str(folder / f"{job[0]}.txt"), job[1], job[2], args.seed) for job in jobs}
        for done, (job, future) in enumerate(futures.items(), start=1):
            results[job] = future.result()
            print(f"[{done}/{len(jobs)}] {job[0]} m={job[1]} {job[2]:g} s: {results[job]['score']:g}", file=sys.stderr)
    infeasible = [(job, r["problems"]) for job, r in results.items() if r["problems"]]

    header = ["instance", "best known"]
    header += [f"m=1 {limit:g} s (gap)" for limit in limits] if 1 in tour_counts else []
    header += [f"m={m} {limit:g} s" for m in tour_counts if m != 1 for limit in limits]
    print("| " + " | ".join(header) + " |")
    print("|---|" + "---:|" * (len(header) - 1))
    for name in names:
        cells = [name, f"{best.get(name, float('nan')):g}"]
        for limit in limits if 1 in tour_counts else []:
            score = results[(name, 1, limit)]["score"]
            cells.append(f"{score:g} ({gap(score, best[name]):.2f} %)" if name in best else f"{score:g}")
        cells += [f"{results[(name, m, limit)]['score']:g}" for m in tour_counts if m != 1 for limit in limits]
        print("| " + " | ".join(cells) + " |")

    summary: dict[str, Any] = {"instances": len(names), "seed": args.seed, "infeasible": len(infeasible)}
    for limit in limits:
        if 1 in tour_counts and all(name in best for name in names):
            mean = sum(gap(results[(name, 1, limit)]["score"], best[name]) for name in names) / len(names)
            summary[f"m1_mean_gap_{limit:g}s"] = round(mean, 3)
            target = TARGETS.get(limit)
            verdict = "" if target is None else f" (target <= {target:g} %: {'met' if mean <= target else 'MISSED'})"
            print(f"m=1, {limit:g} s: mean gap {mean:.2f} %{verdict}")
        for m in tour_counts:
            if m != 1:
                mean_score = sum(results[(name, m, limit)]["score"] for name in names) / len(names)
                summary[f"m{m}_mean_score_{limit:g}s"] = round(mean_score, 2)
                print(f"m={m}, {limit:g} s: mean score {mean_score:.1f}")
    slowest = max(r["seconds"] - limit for (_, _, limit), r in results.items())
    print(f"every answer feasible by check: {not infeasible}; longest overrun of a limit {slowest:.3f} s; "
          f"wall time {time.perf_counter() - began:.0f} s")  # fmt: skip
    for job, problems in infeasible:
        print(f"INFEASIBLE {job}: {problems[:3]}")
    if args.save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        rows = [{"instance": n, "tours": m, "limit": lim, **r} for (n, m, lim), r in results.items()]
        RESULTS.write_text(json.dumps({"summary": summary, "runs": rows}, indent=2) + "\n")
    return 1 if infeasible else 0


if __name__ == "__main__":
    sys.exit(main())
