"""Failed sign-ins for a known and an unknown email: do they take the same time? (credential-stuffing work)

An attacker who can tell "no such account" from "wrong password" by the time an answer takes can sort a
list of leaked emails into ours and not ours without ever guessing a password. The answers are identical
(apps/users/tests/test_credential_stuffing.py checks them byte for byte, and counts the password hashes and
SQL queries of each case); this measures the time, with the password hasher production uses.

What a run does:
 1. uses planner.settings (whatever DJANGO_SETTINGS_MODULE says: `make bench` passes the suite's settings,
    whose MD5 hasher would make this meaningless) with its default PASSWORD_HASHERS, i.e. Django's PBKDF2,
    and refuses to run if they are not Django's defaults; DJANGO_DEBUG=false, LOG_LEVEL=WARNING;
 2. its own database (created and migrated when missing) and Redis db, so the sign-in limits and throttles
    do their real Redis round trips; their limits are raised so that nothing is refused;
 3. makes two accounts through apps.users.services.user_create: one as the API or an admin makes it, one with
    a verified EmailAddress row as allauth's sign-up leaves it after the email is confirmed; and picks two
    emails that have no account (the second is a control: two unknown emails differ by noise alone);
 4. for each endpoint (POST /api/v1/auth/token with JSON, and allauth's POST /accounts/login/ form), sends a
    wrong password for each of the four emails through Django's test client (the whole middleware stack,
    no network), BENCH_REPEATS times in a shuffled order per round, after BENCH_WARMUP rounds; each request
    is timed by the wall clock and by this process's CPU time;
 5. prints medians and spreads (p10, p90, IQR) per case, and the difference of each case's median from the
    unknown one with a bootstrap 95% interval; writes bench/results/login_timing.json.

allauth's own per-minute rate limits (ACCOUNT_RATE_LIMITS) are switched off for the run (they would stop a
known email after 10 failures a minute); ours stay on, with limits nobody reaches.

Environment (all optional):
  BENCH_REPEATS       rounds per endpoint (default 40; each round is one request per email)
  BENCH_WARMUP        warm-up rounds per endpoint, not recorded (default 3)
  BENCH_ENDPOINTS     comma-separated: api,page (default both)
  BENCH_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/weekend_planner_bench_login
  BENCH_REDIS_URL     default redis://127.0.0.1:6379/12
Run: .venv/bin/python bench/login_timing.py   (BENCH_REPEATS=5 for a smoke test)
"""

import json
import os
import platform
import random
import secrets
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a file, which puts bench/, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.support.databases import database_name, ensure_database

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "login_timing.json"

REPEATS = int(os.environ.get("BENCH_REPEATS", "40"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "3"))
ENDPOINTS = [e.strip() for e in os.environ.get("BENCH_ENDPOINTS", "api,page").split(",") if e.strip()]
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/weekend_planner_bench_login")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
SEED = 20
BOOTSTRAP = 2000
UNLIMITED = "100000000"

KNOWN = "bench-login-known@weekendplanner.test"
KNOWN_VERIFIED = "bench-login-verified@weekendplanner.test"
UNKNOWN = "bench-login-nobody@weekendplanner.test"
UNKNOWN_CONTROL = "bench-login-nobody-else@weekendplanner.test"
CASES = {
    "unknown email": UNKNOWN,
    "known email": KNOWN,
    "known, verified address": KNOWN_VERIFIED,
    # Two unknown emails cost the same by construction: their difference shows how big noise alone is.
    "another unknown (control)": UNKNOWN_CONTROL,
}
WRONG_PASSWORD = "not the password at all"  # noqa: S105 - the point is that it is wrong

TOKEN_PATH = "/api/v1/auth/token"  # noqa: S105 - a URL path
LOGIN_PATH = "/accounts/login/"


class BenchError(Exception):
    """The bench could not measure what it set out to; the message says why."""


def setup_django() -> None:
    if ensure_database(DATABASE_URL):
        print(f"Created database {database_name(DATABASE_URL)}")
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "planner.settings",
            "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": REDIS_URL,
            "CELERY_BROKER_URL": "memory://",  # nothing here sends a task; never the suite's broker
            "DJANGO_DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "RATE_LIMIT_MAX": UNLIMITED,
            "AUTH_RATE_LIMIT_PER_MINUTE": UNLIMITED,
            "LOGIN_LOCKOUT_THRESHOLD": UNLIMITED,
            "LOGIN_ADDRESS_LIMIT_PER_HOUR": UNLIMITED,
        }
    )
    # Static files are served from STATIC_ROOT only after collectstatic; these requests render no asset.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    import django

    django.setup()
    from django.conf import global_settings, settings
    from django.core.management import call_command

    if list(settings.PASSWORD_HASHERS) != list(global_settings.PASSWORD_HASHERS):
        raise BenchError(f"PASSWORD_HASHERS is not Django's default: {settings.PASSWORD_HASHERS}")
    call_command("migrate", verbosity=0, interactive=False)


def make_accounts() -> None:
    from allauth.account.models import EmailAddress

    from apps.users import services
    from apps.users.models import User

    for email in (KNOWN, KNOWN_VERIFIED, UNKNOWN, UNKNOWN_CONTROL):
        old = User.objects.filter(email=email).first()
        if old is not None:
            services.user_delete(user=old)
    services.user_create(email=KNOWN, password=secrets.token_urlsafe(24))
    verified = services.user_create(email=KNOWN_VERIFIED, password=secrets.token_urlsafe(24))
    EmailAddress.objects.create(user=verified, email=KNOWN_VERIFIED, verified=True, primary=True)
    for email in (UNKNOWN, UNKNOWN_CONTROL):
        if User.objects.filter(email=email).exists() or EmailAddress.objects.filter(email=email).exists():
            raise BenchError(f"{email} has an account")


def attempt_for(endpoint: str) -> Callable[[str], None]:
    from django.test import Client

    client = Client()

    def api(email: str) -> None:
        body = json.dumps({"email": email, "password": WRONG_PASSWORD})
        response = client.post(TOKEN_PATH, data=body, content_type="application/json")
        if response.status_code != 401:
            raise BenchError(f"POST {TOKEN_PATH} for {email}: {response.status_code} {response.content[:300]!r}")

    def page(email: str) -> None:
        response = client.post(LOGIN_PATH, {"login": email, "password": WRONG_PASSWORD})
        if response.status_code != 200 or b"not correct" not in response.content:
            raise BenchError(f"POST {LOGIN_PATH} for {email}: {response.status_code}, not the wrong-password page")

    return {"api": api, "page": page}[endpoint]


def measure(endpoint: str, rng: random.Random) -> dict[str, dict[str, list[float]]]:
    attempt = attempt_for(endpoint)
    samples: dict[str, dict[str, list[float]]] = {case: {"wall_ms": [], "cpu_ms": []} for case in CASES}
    order = list(CASES)
    for round_number in range(WARMUP + REPEATS):
        rng.shuffle(order)  # drift and other people's load fall on every case alike
        for case in order:
            wall, cpu = time.perf_counter(), time.process_time()
            attempt(CASES[case])
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if round_number >= WARMUP:
                samples[case]["wall_ms"].append(wall * 1000)
                samples[case]["cpu_ms"].append(cpu * 1000)
        if round_number >= WARMUP and (round_number - WARMUP + 1) % 10 == 0:
            print(f"  {endpoint}: {round_number - WARMUP + 1}/{REPEATS} rounds", flush=True)
    return samples


def spread(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=20, method="inclusive")  # 5% steps
    median = statistics.median(values)
    return {
        "n": len(values),
        "median": round(median, 2),
        "p10": round(cuts[1], 2),
        "p25": round(cuts[4], 2),
        "p75": round(cuts[14], 2),
        "p90": round(cuts[17], 2),
        "iqr": round(cuts[14] - cuts[4], 2),
        "mad": round(statistics.median(abs(v - median) for v in values), 2),
    }


def median_difference(known: list[float], unknown: list[float], rng: random.Random) -> dict[str, float]:
    """known − unknown, in ms, with a percentile-bootstrap 95% interval."""
    point = statistics.median(known) - statistics.median(unknown)
    draws = sorted(
        statistics.median(rng.choices(known, k=len(known))) - statistics.median(rng.choices(unknown, k=len(unknown)))
        for _ in range(BOOTSTRAP)
    )
    low, high = draws[int(0.025 * BOOTSTRAP)], draws[int(0.975 * BOOTSTRAP) - 1]
    return {"difference": round(point, 2), "ci95_low": round(low, 2), "ci95_high": round(high, 2)}


def hash_cost_ms() -> float:
    from django.contrib.auth.hashers import make_password

    times = []
    for _ in range(5):
        started = time.process_time()
        make_password(WRONG_PASSWORD)
        times.append((time.process_time() - started) * 1000)
    return round(statistics.median(times), 1)


def main() -> int:
    if REPEATS < 2 or not set(ENDPOINTS) <= {"api", "page"} or not ENDPOINTS:
        print("BENCH_REPEATS must be at least 2 and BENCH_ENDPOINTS a list of api, page", file=sys.stderr)
        return 2
    try:
        setup_django()
        make_accounts()
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    from django.contrib.auth.hashers import get_hasher
    from django.test import override_settings

    hasher = get_hasher("default")
    hasher_name = f"{hasher.algorithm}, {getattr(hasher, 'iterations', '?')} iterations"
    one_hash = hash_cost_ms()
    load_before = os.getloadavg()
    print(f"Password hasher: {hasher_name}; one hash (make_password) costs {one_hash} ms of CPU here")
    print(f"Load average before: {load_before[0]:.2f} on {os.cpu_count()} CPUs")

    rng = random.Random(SEED)
    results: dict[str, Any] = {}
    started = time.monotonic()
    try:
        # allauth's per-minute limits would stop a known email after 10 failures; ours run, unreachably high.
        with override_settings(ACCOUNT_RATE_LIMITS=False):
            for endpoint in ENDPOINTS:
                print(f"Measuring {endpoint}: {WARMUP} warm-up + {REPEATS} rounds of {len(CASES)} requests", flush=True)
                results[endpoint] = measure(endpoint, rng)
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    elapsed = time.monotonic() - started
    load_after = os.getloadavg()

    paths = {"api": f"POST {TOKEN_PATH}", "page": f"POST {LOGIN_PATH}"}
    summary: dict[str, Any] = {}
    header = f"{'endpoint':<26} {'email':<26} {'n':>4} {'median':>8} {'p10':>8} {'p90':>8} {'IQR':>7} {'CPU med':>8}"
    print("\nWrong password, milliseconds per request (wall clock; CPU = this process's CPU time)")
    print(header)
    for endpoint, cases in results.items():
        summary[endpoint] = {"cases": {}, "minus_unknown": {}}
        for case, series in cases.items():
            wall, cpu = spread(series["wall_ms"]), spread(series["cpu_ms"])
            summary[endpoint]["cases"][case] = {"wall_ms": wall, "cpu_ms": cpu}
            print(
                f"{paths[endpoint]:<26} {case:<26} {wall['n']:>4} {wall['median']:>8.1f} {wall['p10']:>8.1f} "
                f"{wall['p90']:>8.1f} {wall['iqr']:>7.1f} {cpu['median']:>8.1f}"
            )
    print("\nEach email minus the unknown one, difference of medians in ms (bootstrap 95% interval):")
    for endpoint, cases in results.items():
        for case in CASES:
            if case == "unknown email":
                continue
            wall = median_difference(cases[case]["wall_ms"], cases["unknown email"]["wall_ms"], rng)
            cpu = median_difference(cases[case]["cpu_ms"], cases["unknown email"]["cpu_ms"], rng)
            summary[endpoint]["minus_unknown"][case] = {"wall_ms": wall, "cpu_ms": cpu}
            unknown_median = statistics.median(cases["unknown email"]["wall_ms"])
            print(
                f"  {paths[endpoint]:<26} {case:<26} wall {wall['difference']:+7.1f} "
                f"[{wall['ci95_low']:+.1f}, {wall['ci95_high']:+.1f}] "
                f"({100 * wall['difference'] / unknown_median:+.2f}% of the unknown median)   "
                f"CPU {cpu['difference']:+7.1f} [{cpu['ci95_low']:+.1f}, {cpu['ci95_high']:+.1f}]"
            )
    print(
        f"\nLoad average after: {load_after[0]:.2f}; {elapsed:.0f} s. An interval that contains 0 means no "
        "difference this run could tell from noise; the control row shows how far noise alone moves a median."
    )

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": "login_timing",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python bench/login_timing.py",
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release()},
        "load_average_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "hasher": hasher_name,
        "one_hash_cpu_ms": one_hash,
        "repeats": REPEATS,
        "warmup": WARMUP,
        "seconds": round(elapsed),
        "endpoints": summary,
    }
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    print(f"Results written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
