"""GET /api/v1/events at 100,000 events (`near` + `weekend` + `category`, 50 a page) under gunicorn as the image runs
it (docker/gunicorn.conf.py), measured with wrk.

Target (performance issue): >= 500 requests/s at 16 connections and p95 < 30 ms.

What a run does:
 1. fills its own database (BENCH_DATABASE_URL) with the events benchmark's 100,000 synthetic events through
    apps.events.services.events_upsert (kept between runs while the count matches), and ANALYZEs the tables;
 2. prints EXPLAIN (ANALYZE, BUFFERS) of the search query the API runs for one representative request: the plan
    for its values, and the plan PostgreSQL makes once for every value of the prepared statement;
 3. with --profile, runs the API view in-process (Django's test client) under cProfile, uncached and cached, and
    prints the top functions;
 4. starts gunicorn with docker/gunicorn.conf.py (plus the ready mark of scripts/support/gunicorn_ready.py) on a
    free loopback port, with PostgreSQL and Redis on this machine, and runs wrk three ways:
    - uncached: every request a new point (wrk's Lua picks random coordinates), so neither the Redis cache nor
      a conditional GET can answer it: the query, the serializer and the rendering run each time;
    - cached: 16 fixed queries, warmed first: the answers come from the Redis cache;
    - revalidated: the same 16 queries with the If-None-Match a browser or CDN would send: 304s.
 5. prints the table (requests/s, p50, p95, p99, gunicorn CPU per request, load) and writes
    bench/results/events_search_http.json.

The server runs planner.settings with DJANGO_DEBUG=false, the throttle raised (RATE_LIMIT_MAX=100000000; the limiter
still does its Redis round trips) and LOG_LEVEL=WARNING as the other HTTP bench does (BENCH_LOG_LEVEL=INFO for the
per-request JSON log line as production writes it).

Environment (all optional):
  BENCH_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/weekend_planner_bench_search
  BENCH_REDIS_URL     default redis://127.0.0.1:6379/10 (flushed before the runs; the broker would be db + 1)
  BENCH_EVENTS        default 100000
  BENCH_DURATION      seconds per wrk run (default 15)
  BENCH_WARMUP        seconds of warm-up before each run (default 3)
  BENCH_CONNECTIONS   default 16
  BENCH_WORKERS       WEB_CONCURRENCY for gunicorn (default: the image's default)
  BENCH_THREADS       GUNICORN_THREADS (default: the image's default)
  BENCH_LOG_LEVEL     the server's LOG_LEVEL (default WARNING)
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a file, which puts bench/, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import redis

from scripts.support import machine
from scripts.support.bench_django import setup_django
from scripts.support.network import LOOPBACK, free_port, ok, wait_for_url
from scripts.support.processes import Child, descendants, exit_on_termination_signals, start, tool

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "events_search_http.json"
GUNICORN_CONFIG = ROOT / "docker" / "gunicorn.conf.py"
READY_HOOK = ROOT / "scripts" / "support" / "gunicorn_ready.py"

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/weekend_planner_bench_search")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
TOTAL = int(os.environ.get("BENCH_EVENTS", "100000"))
DURATION_S = int(os.environ.get("BENCH_DURATION", "15"))
WARMUP_S = int(os.environ.get("BENCH_WARMUP", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
LOG_LEVEL = os.environ.get("BENCH_LOG_LEVEL", "WARNING").upper()
PAGE = 1000
CENTER = (52.52, 13.405)
CATEGORIES = ("music", "nightlife", "arts-theatre", "film", "food-drink", "sports", "outdoors", "family")
FIXED_QUERIES = 16
TARGET_RPS = 500.0
TARGET_P95_MS = 30.0


class BenchError(Exception):
    """The bench could not measure what it set out to; the message says why."""


# --- The catalogue --------------------------------------------------------------------------------------------


def fill_catalogue() -> None:
    """TOTAL events through the service a sync calls, unless the database already holds exactly that many."""
    from django.db import connection

    from apps.events import services
    from apps.events.models import Event

    if Event.objects.count() != TOTAL:
        from bench.events_ingest_search import make_items, reset_catalogue

        print(f"Filling the catalogue with {TOTAL:,} events through events_upsert ...", flush=True)
        items = make_items(TOTAL)
        reset_catalogue()
        source = services.source_create(provider="demo", name="bench-search")
        started = time.perf_counter()
        for offset in range(0, len(items), PAGE):
            services.events_upsert(source=source, items=items[offset : offset + PAGE])
        print(f"  {TOTAL:,} events in {time.perf_counter() - started:.0f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE events_event, events_venue")


def query(rng: random.Random) -> dict[str, str]:
    """One search as a person would make it: a point within ~15 km of the centre, next weekend, one category, 50 a
    page (the radius is the default 25 km, as on Discover). Next weekend, not this one: the catalogue starts today,
    so next weekend is always whole, where this one is partly over on a weekend day and its pages are shorter
    (21.9 results a page against about 34 on a Sunday afternoon): a run's figures would depend on the day."""
    lat = CENTER[0] + rng.uniform(-0.13, 0.13)
    lon = CENTER[1] + rng.uniform(-0.2, 0.2)
    return {
        "near": f"{lat:.4f},{lon:.4f}",
        "weekend": "next",
        "category": rng.choice(CATEGORIES),
        "page_size": "50",
    }


def explain(params: dict[str, str]) -> dict[str, str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the first page's query as the API view runs it: the plan for these values
    (their SQL with the values written in) and the plan PostgreSQL makes once for every value of the prepared
    statement (its generic plan), which a connection may settle on from its sixth search of that shape."""
    from django.db import connection
    from django.test import Client

    from apps.core.queries import generic_plan

    captured: list[tuple[str, list[Any]]] = []

    def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if 'FROM "events_event"' in sql and "LIMIT" in sql:
            captured.append((sql, list(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        response = Client().get("/api/v1/events", params)
    if response.status_code != 200:
        raise BenchError(f"GET /api/v1/events answered {response.status_code}: {response.content[:300]!r}")
    if not captured:
        raise BenchError("No search query was captured")
    sql, values = captured[-1]
    with connection.cursor() as cursor:
        written_in = cursor.mogrify(sql, values)  # psycopg's ClientCursor, as Django's default cursor is
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + written_in)
        custom = "\n".join(row[0] for row in cursor.fetchall())
    generic = "\n".join(generic_plan(connection, sql, values, options=["ANALYZE", "BUFFERS"]))
    return {"for these values": custom, "generic (prepared once per connection)": generic}


def profile(rng: random.Random, requests: int = 300) -> dict[str, str]:
    """The API view in-process under cProfile: uncached (new points), then cached (one query repeated)."""
    from django.core.cache import cache
    from django.test import Client

    client = Client()
    out = {}
    cached_params = query(rng)

    def new_point() -> dict[str, str]:
        return query(rng)

    def same_query() -> dict[str, str]:
        return cached_params

    for name, make in (("uncached", new_point), ("cached", same_query)):
        cache.clear()
        client.get("/api/v1/events", cached_params)  # warm: imports, connections, the cached entry
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(requests):
            response = client.get("/api/v1/events", make())
            if response.status_code != 200:
                raise BenchError(f"GET /api/v1/events answered {response.status_code}")
        profiler.disable()
        elapsed_ms = (time.perf_counter() - started) * 1000 / requests
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(30)
        out[name] = f"{elapsed_ms:.2f} ms a request in-process (with the profiler)\n" + text.getvalue()
    return out


# --- gunicorn and wrk --------------------------------------------------------------------------------------------


def server_env(prometheus_dir: str, ready_dir: str, port: int) -> dict[str, str]:
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
            "PROMETHEUS_MULTIPROC_DIR": prometheus_dir,
            "GUNICORN_BIND": f"{LOOPBACK}:{port}",
            "GUNICORN_READY_DIR": ready_dir,
            "PYTHONUNBUFFERED": "1",
        }
    )
    for name, variable in (("BENCH_WORKERS", "WEB_CONCURRENCY"), ("BENCH_THREADS", "GUNICORN_THREADS")):
        if os.environ.get(name):
            env[variable] = os.environ[name]
    return env


@dataclass
class Server:
    child: Child
    base_url: str

    def process_ids(self) -> list[int]:
        return [self.child.pid, *descendants(self.child.pid)]


@contextlib.contextmanager
def serving() -> Iterator[Server]:
    """gunicorn with the image's configuration file, once every worker has loaded the application."""
    with tempfile.TemporaryDirectory(prefix="bench-search-") as scratch:
        prometheus_dir, ready_dir = Path(scratch, "prometheus"), Path(scratch, "ready")
        prometheus_dir.mkdir()
        ready_dir.mkdir()
        # The image's config file with the ready mark added: gunicorn reads one --config.
        config = Path(scratch, "gunicorn.conf.py")
        config.write_text(f"exec(open({str(GUNICORN_CONFIG)!r}).read())\nexec(open({str(READY_HOOK)!r}).read())\n")
        port = free_port()
        env = server_env(str(prometheus_dir), str(ready_dir), port)
        workers = int(env.get("WEB_CONCURRENCY") or 2)
        log = ROOT / "bench" / "results" / "gunicorn-events-search.log"
        child = start([tool("gunicorn"), "--config", str(config), "planner.wsgi:application"], log=log, env=env)
        try:
            deadline = time.monotonic() + 120
            while len({int(p.name) for p in ready_dir.iterdir()} & set(descendants(child.pid))) < workers:
                child.check_running()
                if time.monotonic() > deadline:
                    raise BenchError(f"gunicorn did not come up:\n{child.output()}")
                time.sleep(0.2)
            server = Server(child=child, base_url=f"http://{LOOPBACK}:{port}")
            wait_for_url(server.base_url + "/health", timeout=30, accept=ok, child=child)
            yield server
        finally:
            child.stop(timeout=15)


# Random points per request, so that no answer is cached; next weekend, as query() says why; latency percentiles
# printed for the parser.
UNCACHED_LUA = """
local categories = {%(categories)s}
local counter = 0
setup = function(thread) thread:set("seed", math.random(1, 1000000)) end
init = function(args) math.randomseed(tonumber(seed) or 1) end
request = function()
  counter = counter + 1
  local lat = %(lat)f + (math.random() - 0.5) * 0.26
  local lon = %(lon)f + (math.random() - 0.5) * 0.4
  local path = string.format("/api/v1/events?near=%%.6f,%%.6f&weekend=next&category=%%s&page_size=50",
    lat, lon, categories[math.random(1, #categories)])
  return wrk.format("GET", path)
end
"""

FIXED_LUA = """
local paths = {%(paths)s}
local etags = {%(etags)s}
local counter = 0
setup = function(thread) thread:set("offset", math.random(0, #paths - 1)) end
request = function()
  counter = counter + 1
  local i = ((counter + (tonumber(offset) or 0)) %% #paths) + 1
  local headers = {}
  if etags[i] ~= "" then headers["If-None-Match"] = etags[i] end
  return wrk.format("GET", paths[i], headers)
end
"""

DONE_LUA = """
done = function(summary, latency, requests)
  for _, p in ipairs({50, 95, 99}) do
    io.write(string.format("bench-percentile %d %.3f\\n", p, latency:percentile(p) / 1000))
  end
  io.write(string.format("bench-status-errors %d\\n", summary.errors.status))
end
"""


@dataclass
class Run:
    name: str
    requests: int
    requests_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    status_errors: int
    gunicorn_cpu_ms_per_request: float
    load_1m_before: float
    load_1m_after: float


def run_wrk(server: Server, name: str, script: str, duration_s: int) -> Run:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script + DONE_LUA)
    try:
        command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{duration_s}s", "--timeout", "10s", "-s", lua.name]
        command.append(server.base_url + "/api/v1/events")
        load_before = os.getloadavg()[0]
        cpu_before = sum(machine.process_cpu_seconds(pid) for pid in server.process_ids())
        done = subprocess.run(command, capture_output=True, text=True, timeout=duration_s + 60, check=False)
        cpu_after = sum(machine.process_cpu_seconds(pid) for pid in server.process_ids())
    finally:
        os.unlink(lua.name)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", done.stdout, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in ", done.stdout, re.MULTILINE)
    percentiles = {int(p): float(ms) for p, ms in re.findall(r"^bench-percentile (\d+) ([\d.]+)$", done.stdout, re.M)}
    errors = re.search(r"^bench-status-errors (\d+)$", done.stdout, re.MULTILINE)
    if rps is None or total is None or len(percentiles) != 3 or errors is None:
        raise BenchError(f"Could not read wrk's output:\n{done.stdout}\n{done.stderr}")
    requests = int(total.group(1))
    return Run(
        name=name,
        requests=requests,
        requests_per_s=float(rps.group(1)),
        p50_ms=percentiles[50],
        p95_ms=percentiles[95],
        p99_ms=percentiles[99],
        status_errors=int(errors.group(1)),
        gunicorn_cpu_ms_per_request=(cpu_after - cpu_before) * 1000 / max(requests, 1),
        load_1m_before=load_before,
        load_1m_after=os.getloadavg()[0],
    )


def lua_strings(values: list[str]) -> str:
    return ", ".join(json.dumps(value) for value in values)


def measure(rng: random.Random) -> list[Run]:
    redis.Redis.from_url(REDIS_URL).flushdb()  # a cold cache: the runs below fill it themselves
    fixed = [query(rng) for _ in range(FIXED_QUERIES)]
    paths = ["/api/v1/events?" + "&".join(f"{k}={v}" for k, v in params.items()) for params in fixed]
    uncached = UNCACHED_LUA % {"categories": lua_strings(list(CATEGORIES)), "lat": CENTER[0], "lon": CENTER[1]}
    runs = []
    with serving() as server:
        print(f"gunicorn up on {server.base_url} ({GUNICORN_CONFIG.relative_to(ROOT)})", flush=True)
        etags = []
        for path in paths:
            response = httpx.get(server.base_url + path, timeout=30)
            if response.status_code != 200:
                raise BenchError(f"GET {path} answered {response.status_code}: {response.text[:300]}")
            etags.append(response.headers.get("ETag", ""))
        counts = [len(httpx.get(server.base_url + path, timeout=30).json()["results"]) for path in paths]
        print(f"Fixed queries: {sum(counts) / len(counts):.1f} results a page on average", flush=True)
        cases = [
            ("uncached (a new point each request)", uncached),
            (
                "cached (16 queries, from Redis)",
                FIXED_LUA % {"paths": lua_strings(paths), "etags": lua_strings([""] * len(paths))},
            ),
            (
                "revalidated (If-None-Match: 304)",
                FIXED_LUA % {"paths": lua_strings(paths), "etags": lua_strings(etags)},
            ),
        ]
        for name, script in cases:
            if WARMUP_S:
                run_wrk(server, name, script, WARMUP_S)
            run = run_wrk(server, name, script, DURATION_S)
            runs.append(run)
            print(
                f"  {name:<38} {run.requests_per_s:8.1f} req/s  p50 {run.p50_ms:6.2f}  p95 {run.p95_ms:6.2f}  "
                f"p99 {run.p99_ms:6.2f} ms  gunicorn {run.gunicorn_cpu_ms_per_request:.2f} ms CPU/req  "
                f"load {run.load_1m_before:.2f}->{run.load_1m_after:.2f}",
                flush=True,
            )
            if run.status_errors:
                raise BenchError(f"{run.status_errors} responses were not 2xx/3xx in {name}:\n{server.child.output()}")
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", action="store_true", help="cProfile the view in-process first")
    parser.add_argument("--no-http", action="store_true", help="only fill, EXPLAIN (and profile)")
    args = parser.parse_args()
    exit_on_termination_signals()
    uptime_before = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    setup_django(DATABASE_URL, keep=True, redis_url=REDIS_URL)
    fill_catalogue()
    rng = random.Random(23)
    sample = query(rng)
    plans = explain(sample)
    for which, plan in plans.items():
        print(f"\nEXPLAIN (ANALYZE, BUFFERS) for {sample}, the plan {which}:\n{plan}\n", flush=True)
    profiles = profile(rng) if args.profile else {}
    for name, text in profiles.items():
        print(f"--- profile, {name} ---\n{text}", flush=True)
    try:
        runs = [] if args.no_http else measure(rng)
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    uptime_after = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    print(f"\nuptime before: {uptime_before}\nuptime after:  {uptime_after}")
    for run in runs:
        met = run.requests_per_s >= TARGET_RPS and run.p95_ms < TARGET_P95_MS
        print(
            f"{run.name:<38} {run.requests_per_s:8.1f} req/s, p95 {run.p95_ms:.2f} ms "
            f"(target >= {TARGET_RPS:.0f} req/s and p95 < {TARGET_P95_MS:.0f} ms at {CONNECTIONS} connections: "
            f"{'met' if met else 'MISSED'})"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "events_search_http",
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": machine.describe(),
                "revision": machine.revision(),
                "events": TOTAL,
                "connections": CONNECTIONS,
                "duration_s": DURATION_S,
                "log_level": LOG_LEVEL,
                "uptime_before": uptime_before,
                "uptime_after": uptime_after,
                "explain": plans,
                "runs": [asdict(run) for run in runs],
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
