"""GET /api/v1/me (with a JWT) against GET /health, under gunicorn on 127.0.0.1, measured with wrk.

Targets (performance issue): /api/v1/me costs at most 1.5 ms of gunicorn CPU per request, serves at least 0.35 x
the requests/s of /health in the same run, and its p99 stays under 50 ms at 32 connections on a 2-core machine.
gunicorn runs docker/gunicorn.conf.py as the image does (its gthread worker, keep-alive, Prometheus in multiprocess
mode, the JSON logs at LOG_LEVEL=INFO as the chart sets it); the command line sets only the worker model under test.

What a run does:
 1. creates the database weekend_planner_bench when missing and migrates it;
 2. makes a bench user through apps.users.services (the project's own service, not raw SQL);
 3. for each gunicorn worker model: starts gunicorn on a free 127.0.0.1 port, waits until every worker
    has loaded the application (scripts/support/gunicorn_ready.py) and /health answers, takes a JWT through
    POST /api/v1/auth/token (once per run; that endpoint allows 10 a minute per IP), checks /api/v1/me
    with it, warms up, runs `wrk -t2 --latency` against /health and /api/v1/me at each connection count,
    and stops gunicorn, also when anything fails or the bench is interrupted;
 4. prints a table with the ratios and targets, and writes bench/results/http_me_vs_health.json.

Beside the two endpoints it measures the stack's floor (BENCH_FLOOR=0 leaves it out): GET /api/v1/me without a
token, answered 401 through every middleware and DRF's dispatch, with the log line written and the client counted
by the throttle in Redis (apps.core.api.views counts refused requests too), but no token to read and no query. Its
ratio to /health is about the most a signed-in endpoint can reach in this stack: what /api/v1/me does beyond it
(the token, the identity query, the view and its serializer) can only lower it.

Besides wrk's figures, each run records the CPU time per request of gunicorn, of the PostgreSQL backends
serving the bench database and of the Redis server, and how much of the machine went to processes that are
not part of the bench: on a shared 2-core machine that is what tells a real change from noise.

The server runs planner.settings with DJANGO_DEBUG=false, throttling raised (RATE_LIMIT_MAX=100000000,
the limiter still does its Redis round trip) and LOG_LEVEL=INFO (the per-request JSON line is written, to a
file here, as the chart runs it). DATABASE_URL and REDIS_URL from the caller's environment are
ignored on purpose (`make bench` passes the test suite's): the bench has its own database and Redis db.

Environment (all optional):
  BENCH_DURATION       seconds per wrk run (default 15; BENCH_DURATION=3 is a smoke test)
  BENCH_WARMUP         seconds of warm-up per endpoint and worker model (default 5)
  BENCH_CONNECTIONS    comma-separated connection counts (default 16,32)
  BENCH_WORKER_MODELS  gunicorn models CLASS:WORKERS[xTHREADS] (default eventloop:2x1,gthread:2x1,gthread:4x1,
                       gthread:2x4,sync:5; eventloop is the image's planner.gunicorn_worker.EventLoopThreadWorker);
                       with several, the one meeting the most targets, then serving the most
                       /api/v1/me requests/s, is reported as chosen
  BENCH_DATABASE_URL   default postgres://postgres@127.0.0.1:5432/weekend_planner_bench
  BENCH_REDIS_URL      default redis://127.0.0.1:6379/8
  BENCH_LOG_LEVEL      the server's LOG_LEVEL (default INFO, as the chart runs it)
  BENCH_FLOOR          1 (default) to measure the stack's floor too, 0 to leave it out
  BENCH_QUIET_WAIT     before each run, wait up to this many seconds (default 60; 0 = never) for the machine to
                       be at most 25% busy, so that other work on a shared machine disturbs the figures less
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis

# Run as a file, which puts bench/, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.support import machine
from scripts.support.databases import database_name, ensure_database
from scripts.support.gunicorn import IMAGE_CONFIG, Gunicorn, gunicorn
from scripts.support.network import NotAnswering
from scripts.support.processes import ChildExited, exit_on_termination_signals

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
RESULTS_FILE = RESULTS_DIR / "http_me_vs_health.json"

HEALTH_PATH = "/health"
ME_PATH = "/api/v1/me"
TOKEN_PATH = "/api/v1/auth/token"  # noqa: S105 - a URL path, not a secret
# The floor: /api/v1/me without a token, a 401 that reads no token and no database (module docstring). It needs a
# label of its own, since the path is /api/v1/me's.
FLOOR = "floor (401)"

TARGET_RATIO = 0.35
TARGET_ME_P99_MS = 50.0
TARGET_CONNECTIONS = 32
TARGET_ME_CPU_MS = 1.5  # gunicorn's CPU per /api/v1/me request

BENCH_EMAIL = "bench-user@weekendplanner.test"
WRK_THREADS = 2


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


DURATION_S = _env_int("BENCH_DURATION", 15)
WARMUP_S = _env_int("BENCH_WARMUP", 5)
CONNECTIONS = [int(c) for c in os.environ.get("BENCH_CONNECTIONS", "16,32").split(",") if c.strip()]
WORKER_MODELS_SPEC = os.environ.get("BENCH_WORKER_MODELS", "eventloop:2x1,gthread:2x1,gthread:4x1,gthread:2x4,sync:5")
# Short names for worker classes of our own, as gunicorn has for its (gunicorn takes the dotted path).
WORKER_CLASSES = {"eventloop": "planner.gunicorn_worker.EventLoopThreadWorker"}
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/weekend_planner_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
LOG_LEVEL = os.environ.get("BENCH_LOG_LEVEL", "INFO").upper()  # the chart's: one JSON line per request
QUIET_WAIT_S = _env_int("BENCH_QUIET_WAIT", 60)
MEASURE_FLOOR = _env_int("BENCH_FLOOR", 1) != 0
QUIET_BUSY_PCT = 25.0


class BenchError(Exception):
    """The bench could not measure what it set out to; the message says why."""


# --- Configuration of the server -------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerModel:
    worker_class: str
    workers: int
    threads: int

    @classmethod
    def parse(cls, spec: str) -> WorkerModel:
        match = re.fullmatch(r"\s*(\w+):(\d+)(?:x(\d+))?\s*", spec)
        if match is None:
            raise BenchError(f"Worker model {spec!r} is not CLASS:WORKERS[xTHREADS], e.g. sync:5 or gthread:2x4")
        worker_class, workers, threads = match.group(1), int(match.group(2)), int(match.group(3) or 1)
        if worker_class == "sync" and threads != 1:
            raise BenchError("gunicorn turns sync workers with threads into gthread: write gthread:WxT")
        return cls(worker_class, workers, threads)

    @property
    def name(self) -> str:
        suffix = f"x{self.threads}" if self.worker_class != "sync" else ""
        return f"{self.worker_class}:{self.workers}{suffix}"

    @property
    def description(self) -> str:
        if self.worker_class == "sync":
            return f"{self.workers} sync workers"
        return f"{self.workers} {self.worker_class} workers x {self.threads} threads"

    def gunicorn_args(self) -> list[str]:
        worker_class = WORKER_CLASSES.get(self.worker_class, self.worker_class)
        return ["--workers", str(self.workers), "--worker-class", worker_class, "--threads", str(self.threads)]


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "planner.settings",
            "DJANGO_ENV": "development",
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": REDIS_URL,
            "RATE_LIMIT_MAX": "100000000",
            "LOG_LEVEL": LOG_LEVEL,
            # One token serves every worker model of a long run; its lifetime does not change the cost.
            "JWT_ACCESS_MINUTES": "120",
            "PYTHONUNBUFFERED": "1",
        }
    )
    # Prometheus in multiprocess mode is set per server (serving(): a folder of its own), as the image runs it; an
    # empty value would still switch it on and write into the working directory.
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


# --- Database and bench user ----------------------------------------------------------------------------


def manage(*args: str, extra_env: dict[str, str] | None = None) -> str:
    env = server_env() | (extra_env or {})
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if done.returncode != 0:
        raise BenchError(f"manage.py {args[0]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


# Run inside `manage.py shell`: a fresh bench user each run, made and removed through the users services.
_BENCH_USER_CODE = """
import os
from apps.users import services
from apps.users.models import User

email = os.environ["BENCH_USER_EMAIL"]
old = User.objects.filter(email=email).first()
if old is not None:
    services.user_delete(user=old)
services.user_create(
    email=email,
    password=os.environ["BENCH_USER_PASSWORD"],
    display_name="Bench User",
    home_address="Alexanderplatz 1, Berlin",
    home_lat=52.5219,
    home_lon=13.4132,
    timezone="Europe/Berlin",
    interests=["music", "food-drink", "outdoors"],
    currency="EUR",
    max_distance_km=30,
)
print("recreated" if old is not None else "created")
"""


def make_bench_user() -> str:
    """Makes the bench user and returns its password, new for each run."""
    password = secrets.token_urlsafe(24)
    outcome = manage(
        "shell",
        "-c",
        _BENCH_USER_CODE,
        extra_env={"BENCH_USER_EMAIL": BENCH_EMAIL, "BENCH_USER_PASSWORD": password},
    )
    print(f"Bench user {BENCH_EMAIL}: {outcome.strip().splitlines()[-1]} through apps.users.services.user_create")
    return password


# --- gunicorn ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def serving(model: WorkerModel) -> Iterator[Gunicorn]:
    """gunicorn with this worker model, once every worker has loaded the application; stopped afterwards."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    log = RESULTS_DIR / f"gunicorn-{model.name.replace(':', '-')}.log"
    # docker/gunicorn.conf.py as the image runs it; the command line sets only the worker model under test.
    args = [*model.gunicorn_args(), "--graceful-timeout", "10"]
    metrics_dir = tempfile.mkdtemp(prefix="bench-prometheus-")
    env = server_env() | {"PROMETHEUS_MULTIPROC_DIR": metrics_dir}
    started = time.monotonic()
    try:
        with gunicorn(
            env, log=log, workers=model.workers, args=args, ready_path=HEALTH_PATH, config=IMAGE_CONFIG
        ) as server:
            print(
                f"gunicorn up on {server.base_url}, {model.workers} workers ready in {time.monotonic() - started:.1f} s"
            )
            yield server
    except (ChildExited, NotAnswering) as error:
        raise BenchError(str(error)) from None
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def obtain_token(server: Gunicorn, password: str) -> str:
    response = httpx.post(server.base_url + TOKEN_PATH, json={"email": BENCH_EMAIL, "password": password}, timeout=10)
    if response.status_code != 200 or "access" not in response.json():
        raise BenchError(f"POST {TOKEN_PATH} answered {response.status_code}: {response.text}")
    return str(response.json()["access"])


def check_me(server: Gunicorn, token: str) -> None:
    response = httpx.get(server.base_url + ME_PATH, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    if response.status_code != 200 or response.json().get("email") != BENCH_EMAIL:
        raise BenchError(f"GET {ME_PATH} with the token answered {response.status_code}: {response.text}")


def check_floor(server: Gunicorn) -> None:
    response = httpx.get(server.base_url + ME_PATH, timeout=10)
    if response.status_code != 401:
        raise BenchError(f"GET {ME_PATH} without a token answered {response.status_code}, not 401: {response.text}")


def database_backend_cpu() -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to the bench database (gunicorn's connections)."""
    with (
        contextlib.suppress(psycopg.Error),
        psycopg.connect(DATABASE_URL, autocommit=True, connect_timeout=5) as conn,
    ):
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
        return {int(row[0]): machine.process_cpu_seconds(int(row[0])) for row in rows}
    return {}


def redis_cpu_seconds() -> float | None:
    """CPU seconds so far of the Redis server; it is shared with anything else using it."""
    with contextlib.suppress(redis.RedisError, OSError):
        info = redis.Redis.from_url(REDIS_URL, socket_timeout=5).info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    return None


# --- wrk -----------------------------------------------------------------------------------------------------

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _to_ms(value: str, unit: str) -> float:
    return float(value) * _UNIT_MS[unit]


@dataclass
class WrkResult:
    endpoint: str
    connections: int
    duration_s: int
    requests: int
    requests_per_s: float
    latency_ms: dict[str, float]
    non_2xx_3xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)
    # CPU per request of gunicorn, of the PostgreSQL backends serving the bench database and of the Redis
    # server (shared: it includes whatever else uses it at the time).
    server_cpu_ms_per_request: float | None = None
    database_cpu_ms_per_request: float | None = None
    effective_workers: float | None = None
    redis_cpu_ms_per_request: float | None = None
    # Where the machine's CPU went during the run, in % of all its CPUs: gunicorn, wrk, every process that
    # is not part of the bench (other test runs on the machine), and time the hypervisor gave other guests.
    server_cpu_pct: float | None = None
    wrk_cpu_pct: float | None = None
    other_cpu_pct: float | None = None
    steal_pct: float | None = None
    load_avg_1m_before: float | None = None
    waited_for_quiet_s: float = 0.0

    @property
    def p50_ms(self) -> float:
        return self.latency_ms["50%"]

    @property
    def p99_ms(self) -> float:
        return self.latency_ms["99%"]


def parse_wrk(output: str, *, endpoint: str, connections: int, duration_s: int) -> WrkResult:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in ", output, re.MULTILINE)
    latencies = {
        f"{pct}%": _to_ms(value, unit)
        for pct, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.MULTILINE)
    }
    if rps is None or total is None or not {"50%", "99%"} <= latencies.keys():
        raise BenchError(f"Could not read wrk's output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    socket_errors = {}
    if errors is not None:
        socket_errors = dict(zip(("connect", "read", "write", "timeout"), map(int, errors.groups()), strict=True))
    return WrkResult(
        endpoint=endpoint,
        connections=connections,
        duration_s=duration_s,
        requests=int(total.group(1)),
        requests_per_s=float(rps.group(1)),
        latency_ms=latencies,
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=socket_errors,
    )


@dataclass(frozen=True)
class CpuSnapshot:
    """Whole-machine jiffies, and CPU seconds of gunicorn, of our children and of the bench's services."""

    jiffies: machine.CpuJiffies
    server_s: dict[int, float]  # per gunicorn process
    children_s: float  # wrk, once waited for
    database_s: dict[int, float]  # per PostgreSQL backend of the bench database
    redis_s: float | None

    @classmethod
    def take(cls, server: Gunicorn) -> CpuSnapshot:
        database_s = database_backend_cpu()
        redis_s = redis_cpu_seconds()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return cls(
            jiffies=machine.cpu_jiffies(),
            server_s={pid: machine.process_cpu_seconds(pid) for pid in server.process_ids()},
            children_s=children.ru_utime + children.ru_stime,
            database_s=database_s,
            redis_s=redis_s,
        )


def _account_cpu(result: WrkResult, before: CpuSnapshot, after: CpuSnapshot) -> None:
    per_process = {pid: cpu - before.server_s.get(pid, 0.0) for pid, cpu in after.server_s.items()}
    server_s = sum(per_process.values())
    # Keep-alive connections stay with the worker that accepted them: with few workers, one may hold most
    # of them while the others idle. Effective workers = gunicorn CPU / busiest process's CPU.
    busiest = max(per_process.values(), default=0.0)
    if busiest > 0:
        result.effective_workers = server_s / busiest
    database_s = sum(cpu - before.database_s.get(pid, 0.0) for pid, cpu in after.database_s.items())
    redis_s = after.redis_s - before.redis_s if after.redis_s is not None and before.redis_s is not None else 0.0
    if result.requests:
        result.server_cpu_ms_per_request = server_s * 1000 / result.requests
        result.database_cpu_ms_per_request = database_s * 1000 / result.requests
        result.redis_cpu_ms_per_request = redis_s * 1000 / result.requests
    total_jiffies = after.jiffies.total - before.jiffies.total
    if total_jiffies <= 0:
        return
    capacity_s = total_jiffies / machine.ticks_per_second()  # CPU seconds all CPUs had during the run
    busy_s = (after.jiffies.busy - before.jiffies.busy) / machine.ticks_per_second()
    wrk_s = after.children_s - before.children_s
    result.server_cpu_pct = 100 * server_s / capacity_s
    result.wrk_cpu_pct = 100 * wrk_s / capacity_s
    result.other_cpu_pct = max(0.0, 100 * (busy_s - server_s - wrk_s - database_s - redis_s) / capacity_s)
    result.steal_pct = 100 * (after.jiffies.steal - before.jiffies.steal) / total_jiffies


def run_wrk(
    server: Gunicorn,
    path: str,
    *,
    connections: int,
    duration_s: int,
    token: str | None,
    endpoint: str | None = None,
    expect_refused: bool = False,
) -> WrkResult:
    """wrk against `path`; every answer must be 2xx/3xx, or with `expect_refused` (the floor) none of them (wrk
    does not tell a 401 from a 500: check_floor() made sure of the status before the runs)."""
    command = [
        shutil.which("wrk") or "/usr/bin/wrk",
        f"-t{min(WRK_THREADS, connections)}",
        f"-c{connections}",
        f"-d{duration_s}s",
        "--timeout",
        "10s",
        "--latency",
    ]
    if token is not None:
        command += ["-H", f"Authorization: Bearer {token}"]
    command.append(server.base_url + path)
    waited_s = machine.wait_for_quiet(QUIET_WAIT_S, QUIET_BUSY_PCT)
    load_before = os.getloadavg()[0]
    before = CpuSnapshot.take(server)
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration_s + 60, check=False)
    after = CpuSnapshot.take(server)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result = parse_wrk(done.stdout, endpoint=endpoint or path, connections=connections, duration_s=duration_s)
    if expect_refused:
        if result.non_2xx_3xx != result.requests:
            raise BenchError(
                f"{result.requests - result.non_2xx_3xx} of {result.requests} tokenless requests to {path} were "
                f"answered 2xx/3xx: the floor would not be the 401 it means to measure:\n{done.stdout}"
            )
    elif result.non_2xx_3xx:
        raise BenchError(
            f"{result.non_2xx_3xx} of {result.requests} responses to {path} were not 2xx/3xx "
            f"(throttled? token rejected?):\n{done.stdout}\n{server.child.output()}"
        )
    if server.child.process.poll() is not None:
        raise BenchError(f"gunicorn died during the run:\n{server.child.output()}")
    _account_cpu(result, before, after)
    result.load_avg_1m_before = load_before
    result.waited_for_quiet_s = waited_s
    return result


# --- One worker model --------------------------------------------------------------------------------------


@dataclass
class ModelResult:
    model: WorkerModel
    runs: list[WrkResult]

    def run_for(self, path: str, connections: int) -> WrkResult:
        return next(r for r in self.runs if r.endpoint == path and r.connections == connections)

    def ratio(self, connections: int, endpoint: str = ME_PATH) -> float:
        health = self.run_for(HEALTH_PATH, connections).requests_per_s
        return self.run_for(endpoint, connections).requests_per_s / health if health else 0.0

    def has_floor(self) -> bool:
        return any(r.endpoint == FLOOR for r in self.runs)

    def me_p99_at_target(self) -> float:
        return self.run_for(ME_PATH, TARGET_CONNECTIONS if TARGET_CONNECTIONS in CONNECTIONS else CONNECTIONS[0]).p99_ms

    def meets_p99(self) -> bool:
        return self.me_p99_at_target() < TARGET_ME_P99_MS


def measure(model: WorkerModel, token_holder: dict[str, str], password: str) -> ModelResult:
    print(f"\n== {model.name} ({model.description}) ==", flush=True)
    with serving(model) as server:
        if "access" not in token_holder:
            token_holder["access"] = obtain_token(server, password)
            print(f"JWT obtained through POST {TOKEN_PATH}", flush=True)
        token = token_holder["access"]
        check_me(server, token)
        warm = max(CONNECTIONS)
        # (path, token, label, refused): /health, /api/v1/me with the token, and the floor without one.
        plan = [(HEALTH_PATH, None, HEALTH_PATH, False), (ME_PATH, token, ME_PATH, False)]
        if MEASURE_FLOOR:
            check_floor(server)
            plan.append((ME_PATH, None, FLOOR, True))
        for path, auth, label, refused in plan:
            if WARMUP_S > 0:
                run_wrk(
                    server,
                    path,
                    connections=warm,
                    duration_s=WARMUP_S,
                    token=auth,
                    endpoint=label,
                    expect_refused=refused,
                )
        runs: list[WrkResult] = []
        for connections in CONNECTIONS:
            for path, auth, label, refused in plan:
                result = run_wrk(
                    server,
                    path,
                    connections=connections,
                    duration_s=DURATION_S,
                    token=auth,
                    endpoint=label,
                    expect_refused=refused,
                )
                runs.append(result)
                waited = result.waited_for_quiet_s
                note = f"  (waited {waited:.0f} s for a quiet machine)" if waited >= 2 else ""
                print(f"  {_row(model.name, result)}{note}", flush=True)
    return ModelResult(model=model, runs=runs)


# --- Report ------------------------------------------------------------------------------------------------

_HEADER = (
    f"{'worker model':<12} {'endpoint':<11} {'conns':>5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
    f"{'CPU ms/req: gunicorn':>20} {'pg':>5} {'redis':>5} {'eff.workers':>11}  {'srv%':>4} {'wrk%':>4} "
    f"{'other%':>6} {'steal%':>6}"
)


def _num(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _row(model_name: str, r: WrkResult) -> str:
    return (
        f"{model_name:<12} {r.endpoint:<11} {r.connections:>5} {r.requests_per_s:>8.1f} {r.p50_ms:>8.2f} "
        f"{r.p99_ms:>8.2f} {_num(r.server_cpu_ms_per_request, '.2f'):>20} "
        f"{_num(r.database_cpu_ms_per_request, '.2f'):>5} {_num(r.redis_cpu_ms_per_request, '.2f'):>5} "
        f"{_num(r.effective_workers, '.1f'):>11}  "
        f"{_num(r.server_cpu_pct, '.0f'):>4} {_num(r.wrk_cpu_pct, '.0f'):>4} {_num(r.other_cpu_pct, '.0f'):>6} "
        f"{_num(r.steal_pct, '.0f'):>6}"
    )


def _verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def targets_met(m: ModelResult) -> int:
    target_conns = TARGET_CONNECTIONS if TARGET_CONNECTIONS in CONNECTIONS else CONNECTIONS[0]
    cpu = m.run_for(ME_PATH, target_conns).server_cpu_ms_per_request
    cpu_met = cpu is not None and cpu <= TARGET_ME_CPU_MS
    return sum(m.ratio(c) >= TARGET_RATIO for c in CONNECTIONS) + m.meets_p99() + cpu_met


def me_throughput(m: ModelResult) -> float:
    return sum(m.run_for(ME_PATH, c).requests_per_s for c in CONNECTIONS)


def choose(results: list[ModelResult]) -> ModelResult:
    """The model meeting the most targets; between equals, the most /api/v1/me requests/s over all connection
    counts (wrk is a closed loop: more throughput is also lower latency at the same connections)."""
    return max(results, key=lambda m: (targets_met(m), me_throughput(m)))


def report(results: list[ModelResult]) -> dict[str, Any]:
    chosen = choose(results)
    target_conns = TARGET_CONNECTIONS if TARGET_CONNECTIONS in CONNECTIONS else CONNECTIONS[0]
    print("\n" + "=" * len(_HEADER))
    print(f"GET /api/v1/me (JWT) vs GET /health: gunicorn on 127.0.0.1, wrk -t2 --latency, {DURATION_S} s per run")
    print(
        f"Server: planner.settings, DJANGO_DEBUG=false, RATE_LIMIT_MAX=100000000 (throttle raised, still counted in "
        f"Redis), LOG_LEVEL={LOG_LEVEL}" + (" (per-request JSON access log off)" if LOG_LEVEL != "INFO" else "")
    )
    info = machine.describe()
    measured = machine.revision()
    print(f"Machine: {info['nproc']} CPUs, {info['cpu_model']}; wrk shares these CPUs with gunicorn")
    print(f"Code: {measured}")
    print("=" * len(_HEADER))
    print(_HEADER)
    for model_result in results:
        for run in model_result.runs:
            print(_row(model_result.model.name, run))
    print()
    for model_result in results:
        ratios = ", ".join(f"{c} conns {model_result.ratio(c):.2f}" for c in CONNECTIONS)
        print(f"ratio me/health req/s, {model_result.model.name}: {ratios}")
        if model_result.has_floor():
            floors = ", ".join(f"{c} conns {model_result.ratio(c, FLOOR):.2f}" for c in CONNECTIONS)
            print(f"ratio floor/health req/s, {model_result.model.name}: {floors} (near a signed-in endpoint's most)")
    if len(results) > 1:
        print(
            f"\nWorker model chosen: {chosen.model.name} ({chosen.model.description}): it meets "
            f"{targets_met(chosen)} of {len(CONNECTIONS) + 2} targets and serves the most /api/v1/me req/s "
            f"(summed over {', '.join(map(str, CONNECTIONS))} connections) of the models meeting as many"
        )
    else:
        print(f"\nWorker model: {chosen.model.name} ({chosen.model.description})")
    targets = {}
    for c in CONNECTIONS:
        ratio = chosen.ratio(c)
        met = ratio >= TARGET_RATIO
        targets[f"ratio_at_{c}"] = {"value": round(ratio, 3), "target": f">= {TARGET_RATIO}", "met": met}
        print(f"Target ratio me/health >= {TARGET_RATIO} at {c} conns: {ratio:.2f}  {_verdict(met)}")
    p99 = chosen.me_p99_at_target()
    targets[f"me_p99_ms_at_{target_conns}"] = {
        "value": p99,
        "target": f"< {TARGET_ME_P99_MS}",
        "met": chosen.meets_p99(),
    }
    print(
        f"Target p99 of /api/v1/me < {TARGET_ME_P99_MS:.0f} ms at {target_conns} conns: {p99:.2f} ms  "
        f"{_verdict(chosen.meets_p99())}"
    )
    cpu = chosen.run_for(ME_PATH, target_conns).server_cpu_ms_per_request
    cpu_met = cpu is not None and cpu <= TARGET_ME_CPU_MS
    targets[f"me_gunicorn_cpu_ms_at_{target_conns}"] = {
        "value": cpu,
        "target": f"<= {TARGET_ME_CPU_MS}",
        "met": cpu_met,
    }
    print(
        f"Target gunicorn CPU per /api/v1/me <= {TARGET_ME_CPU_MS} ms at {target_conns} conns: "
        f"{_num(cpu, '.2f')} ms  {_verdict(cpu_met)}"
    )
    print(
        "Columns: CPU ms/req = CPU time per request of gunicorn (master and workers), of the PostgreSQL backends "
        "serving the bench database, and of the whole Redis server; eff.workers = gunicorn CPU / its busiest "
        "process's CPU (keep-alive connections stay on the worker that accepted them; 1.0 = one worker did all "
        "the work); srv%, wrk%, other% and steal% = share of all "
        "the machine's CPU during the run taken by gunicorn, by wrk, by processes that are not part of the bench "
        "(other test runs), and by the hypervisor. A high other% or steal% means noisy figures: run again when "
        "the machine is quiet."
    )
    return {
        "benchmark": "http_me_vs_health",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "revision": measured,
        "command": "python bench/http_me_vs_health.py",
        "duration_s": DURATION_S,
        "warmup_s": WARMUP_S,
        "wrk": {"threads": WRK_THREADS, "latency": True, "connections": CONNECTIONS},
        "server": {
            "settings": "planner.settings",
            "debug": False,
            "rate_limit_max": 100_000_000,
            "log_level": LOG_LEVEL,
            "database": database_name(DATABASE_URL),
            "redis": REDIS_URL,
        },
        "models": [
            {
                "model": m.model.name,
                "description": m.model.description,
                "runs": [asdict(r) for r in m.runs],
                "ratio_me_health": {str(c): round(m.ratio(c), 3) for c in CONNECTIONS},
                "ratio_floor_health": (
                    {str(c): round(m.ratio(c, FLOOR), 3) for c in CONNECTIONS} if m.has_floor() else None
                ),
            }
            for m in results
        ],
        "chosen_model": chosen.model.name,
        "choice_rule": "most targets met, then most /api/v1/me req/s summed over the connection counts",
        "targets": targets,
    }


# --- Main --------------------------------------------------------------------------------------------------


def main() -> int:
    exit_on_termination_signals()  # an interrupted run still stops gunicorn
    if shutil.which("wrk") is None and not Path("/usr/bin/wrk").exists():
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 2
    try:
        models = [WorkerModel.parse(spec) for spec in WORKER_MODELS_SPEC.split(",") if spec.strip()]
        if not models or not CONNECTIONS or DURATION_S <= 0:
            raise BenchError("Nothing to run: check BENCH_WORKER_MODELS, BENCH_CONNECTIONS and BENCH_DURATION")
        if ensure_database(DATABASE_URL):
            print(f"Created database {database_name(DATABASE_URL)}")
        manage("migrate", "--noinput")
        password = make_bench_user()
        token_holder: dict[str, str] = {}
        results = [measure(model, token_holder, password) for model in models]
        summary = report(results)
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nResults written to {RESULTS_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
