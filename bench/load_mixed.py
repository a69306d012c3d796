"""`make load`: a mixed load with Locust against gunicorn as the image runs it (docker/gunicorn.conf.py,
multiprocess metrics, PostgreSQL and Redis on this machine), 64 simulated people for 60 s.

What a run does:
 1. creates and migrates its own database (BENCH_DATABASE_URL), fills the demo catalogue (`seed_demo`) and makes
    LOAD_PEOPLE accounts, each with a calendar, through the project's services;
 2. starts gunicorn with the rate limits raised through the environment (one address sends everything here);
 3. runs bench/locustfile.py headless (Locust from .venvs/load: LOCUST) with LOAD_PEOPLE people, spawned at
    LOAD_SPAWN_RATE a second, for LOAD_SECONDS: visitors browse Discover and the events API, people with an
    account sign in once each, then read /me, their weekend's occurrences and conflicts, save events and import
    ICS files;
 4. prints, per endpoint, requests, failures, requests/s and p50/p95/p99, the machine's load before and after,
    and writes bench/results/load_mixed.json. Exit status 1 when any request failed.

Environment (all optional): BENCH_DATABASE_URL (default .../weekend_planner_bench_load), BENCH_REDIS_URL (default
redis://127.0.0.1:6379/11), LOAD_PEOPLE (64), LOAD_SECONDS (60), LOAD_SPAWN_RATE (16), LOAD_WORKERS (the image's
default), LOCUST (the locust command; `make load` passes .venvs/load/bin/locust).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

# Run as a file, which puts bench/, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.support import machine
from scripts.support.databases import ensure_database
from scripts.support.gunicorn import IMAGE_CONFIG, gunicorn
from scripts.support.processes import exit_on_termination_signals

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "load_mixed.json"
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/weekend_planner_bench_load")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
PEOPLE = int(os.environ.get("LOAD_PEOPLE", "64"))
SECONDS = int(os.environ.get("LOAD_SECONDS", "60"))
SPAWN_RATE = int(os.environ.get("LOAD_SPAWN_RATE", "16"))
LOCUST = os.environ.get("LOCUST", str(ROOT / ".venvs" / "load" / "bin" / "locust"))
PASSWORD = "load-test-password-1"  # noqa: S105 - throwaway accounts in the bench database

SETUP = """
import os
from apps.calendars import services as calendar_services
from apps.calendars.models import Calendar
from apps.users import services
from apps.users.models import User
from django.core.management import call_command

call_command("seed_demo", "--if-empty")
for n in range(int(os.environ["LOAD_PEOPLE"])):
    email = f"load-{n}@weekendplanner.test"
    user = User.objects.filter(email=email).first() or services.user_create(
        email=email, password=os.environ["LOAD_PASSWORD"], timezone="Europe/Berlin", home_lat=52.52, home_lon=13.405
    )
    if not Calendar.objects.filter(owner=user).exists():
        calendar_services.calendar_create(owner=user, name="Mine")
print("ready")
"""


def server_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "planner.settings",
            "DJANGO_ENV": "development",
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": REDIS_URL,
            "LOG_LEVEL": "WARNING",
            # Every simulated person comes from 127.0.0.1: the limits per client and per address are raised (the
            # throttle still counts each request in Redis).
            "RATE_LIMIT_MAX": "100000000",
            "AUTH_RATE_LIMIT_PER_MINUTE": "100000",
            "LOGIN_ADDRESS_LIMIT_PER_HOUR": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def manage(*args: str, extra: dict[str, str] | None = None) -> None:
    env = server_env() | (extra or {})
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"manage.py {args[0]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def percentile_columns(row: dict[str, str]) -> tuple[float, float, float]:
    return float(row["50%"] or 0), float(row["95%"] or 0), float(row["99%"] or 0)


def main() -> int:
    exit_on_termination_signals()
    if not Path(LOCUST).exists():
        sys.exit(f"{LOCUST} not found: `make load` installs Locust into .venvs/load")
    ensure_database(DATABASE_URL)
    manage("migrate", "--noinput")
    manage("shell", "-c", SETUP, extra={"LOAD_PEOPLE": str(PEOPLE), "LOAD_PASSWORD": PASSWORD})
    accounts = [{"email": f"load-{n}@weekendplanner.test", "password": PASSWORD} for n in range(PEOPLE)]
    work = Path(tempfile.mkdtemp(prefix="load-"))
    metrics_dir = work / "prometheus"
    metrics_dir.mkdir()
    env = server_env() | {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    workers = int(os.environ.get("LOAD_WORKERS", "2"))
    load_before = os.getloadavg()
    with gunicorn(env, log=work / "gunicorn.log", workers=workers, config=IMAGE_CONFIG) as server:
        print(f"gunicorn up on {server.base_url} ({workers} workers); Locust: {PEOPLE} people for {SECONDS} s")
        command = [
            LOCUST, "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "--host", server.base_url,
            "-u", str(PEOPLE), "-r", str(SPAWN_RATE), "-t", f"{SECONDS}s", "--csv", str(work / "load"),
            "--only-summary", "--stop-timeout", "10",
        ]  # fmt: skip
        locust_env = {**os.environ, "LOAD_ACCOUNTS": json.dumps(accounts)}
        done = subprocess.run(command, cwd=ROOT, env=locust_env, capture_output=True, text=True, check=False)
    load_after = os.getloadavg()
    with (work / "load_stats.csv").open() as stats_file:
        rows = list(csv.DictReader(stats_file))
    if not rows:
        sys.exit(f"Locust wrote no statistics:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    columns = ("requests", "failures", "req/s", "p50", "p95", "p99")
    print(f"\n{'endpoint':<42} {'method':<6} " + " ".join(f"{c:>9}" for c in columns) + " (ms)")
    endpoints = []
    for row in rows:
        p50, p95, p99 = percentile_columns(row)
        name = row["Name"]
        requests, failures = int(row["Request Count"]), int(row["Failure Count"])
        rate = float(row["Requests/s"])
        print(
            f"{name:<42} {row['Type']:<6} {requests:>9} {failures:>9} {rate:>8.1f} {p50:>6.0f} {p95:>6.0f} {p99:>6.0f}"
        )
        endpoints.append(
            {"name": name, "method": row["Type"], "requests": requests, "failures": failures, "requests_per_s": rate,
             "p50_ms": p50, "p95_ms": p95, "p99_ms": p99}
        )  # fmt: skip
    total = next(e for e in endpoints if e["name"] == "Aggregated")
    failures_file = work / "load_failures.csv"
    if total["failures"] and failures_file.exists():
        print("\nFailures:\n" + failures_file.read_text()[:3000])
    print(
        f"\nLoad average: {load_before[0]:.2f} before, {load_after[0]:.2f} after (1 min); machine: {machine.describe()}"
    )
    print(
        f"Target: 0 failed requests at {PEOPLE} people for {SECONDS} s: {'met' if total['failures'] == 0 else 'MISSED'}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {"benchmark": "load_mixed", "date": datetime.now(UTC).isoformat(timespec="seconds"),
             "revision": machine.revision(), "machine": machine.describe(), "people": PEOPLE, "seconds": SECONDS,
             "workers": workers, "load_before": load_before, "load_after": load_after, "endpoints": endpoints},
            indent=2,
        )
    )  # fmt: skip
    return 1 if total["failures"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
