"""CPU per call of the parts every signed-in API request is made of, beside what the layer underneath costs bare.

No single part of GET /api/v1/me is the third of it that the ratio to /health still needs taken out
(docs/benchmarks.md, the fourth to twelfth passes of the performance issue). This prints what each part costs
in-process on the machine at hand, and what the library below it costs alone, so that a next attempt starts from
microseconds rather than a profile's percentages:

- the identity query (apps.users.identity.user_with_profile: Django's cursor, django-prometheus's wrapper, psycopg's
  prepared statement, the two model instances); the same statement on a bare psycopg cursor; libpq's `SELECT 1`
  (the round trip and nothing else);
- the throttle's count (apps.core.api.throttling: INCR and EXPIRE NX pipelined through redis-py); a lone INCR
  through redis-py; the same INCR written to a bare socket;
- the access log line as RequestContextMiddleware writes it (structlog, the standard library's handler, redaction,
  JSON), to /dev/null.

Each figure is the median of 7 rounds of BENCH_CALLS calls (time.process_time), the parts taking turns round by
round so that a busy moment of the machine spreads over all of them.

Run: .venv/bin/python bench/request_parts.py
Database: BENCH_DATABASE_URL (default wp_bench_parts, created and migrated), Redis: BENCH_REDIS_URL (default db 12).
"""

import logging
import os
import socket
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.support import bench_django

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wp_bench_parts")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
CALLS = int(os.environ.get("BENCH_CALLS", "2000"))
ROUNDS = 7
EMAIL = "parts-bench@weekendplanner.test"
PASSWORD = "a-long-bench-password-2"  # noqa: S105 - the bench's own throwaway account


def bare_redis_incr(url: str, key: str) -> Callable[[], None]:
    """INCR on a socket of its own: one write, one read, RESP by hand (no client library)."""
    parts = urlsplit(url)
    conn = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=5)
    db = (parts.path or "/0").lstrip("/") or "0"
    conn.sendall(f"*2\r\n$6\r\nSELECT\r\n${len(db)}\r\n{db}\r\n".encode())
    if not conn.recv(64).startswith(b"+OK"):
        raise SystemExit(f"Redis at {url} refused SELECT {db}")
    command = f"*2\r\n$4\r\nINCR\r\n${len(key)}\r\n{key}\r\n".encode()

    def call() -> None:
        conn.sendall(command)
        if not conn.recv(64).startswith(b":"):
            raise SystemExit("Redis did not answer INCR with an integer")

    return call


def main() -> None:
    bench_django.setup_django(DATABASE_URL, keep=True, redis_url=REDIS_URL, LOG_LEVEL="INFO")
    import psycopg
    import structlog
    from django.core.cache import cache
    from django.db import connection

    from apps.core.api import throttling
    from apps.users import identity, services
    from apps.users.models import User

    user = User.objects.filter(email=EMAIL).first() or services.user_create(email=EMAIL, password=PASSWORD)
    for handler in logging.getLogger().handlers:  # formatted as in production, written nowhere
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - for the life of the process
    identity.user_with_profile(user.pk)  # connects, and compiles the statement once
    compiled_sql = identity._compiled().sql
    raw = connection.connection
    redis_client = cache.client.get_client(write=True)  # type: ignore[attr-defined]  # django-redis's, as the throttle's
    key = "bench:request-parts"
    full_key = cache.make_key(key)
    access_log = structlog.get_logger("apps.request")
    structlog.contextvars.bind_contextvars(request_id="3f9c2e7a41b84d0c9a6e5b1f2d7c8e90", user_id=user.pk)

    def identity_query() -> None:
        if identity.user_with_profile(user.pk) is None:
            raise SystemExit("the bench user is gone")

    def psycopg_prepared() -> None:
        cursor = psycopg.Cursor(raw)  # binds on the server, no Django or Prometheus wrapper
        cursor.execute(compiled_sql, [user.pk], prepare=True)
        cursor.fetchone()
        cursor.close()

    def libpq_select_1() -> None:
        if raw.pgconn.exec_(b"SELECT 1").status != psycopg.pq.ExecStatus.TUPLES_OK:
            raise SystemExit("SELECT 1 failed")

    def throttle_count() -> None:
        throttling._count(key, timeout=61)

    def redis_py_incr() -> None:
        redis_client.incr(full_key)

    def log_line() -> None:
        access_log.info("request", method="GET", path="/api/v1/me", status=200, duration_ms=0.84, user_id=user.pk)

    parts: list[tuple[str, Callable[[], None]]] = [
        ("identity query (user_with_profile)", identity_query),
        ("  same SQL, bare psycopg prepared cursor", psycopg_prepared),
        ("  libpq SELECT 1 (the round trip alone)", libpq_select_1),
        ("throttle count (INCR + EXPIRE NX, redis-py pipeline)", throttle_count),
        ("  lone INCR through redis-py", redis_py_incr),
        ("  INCR on a bare socket", bare_redis_incr(REDIS_URL, full_key)),
        ("access log line (structlog, logging, redaction, JSON)", log_line),
    ]
    for _, call in parts:  # warm: connections made, statements prepared, caches filled
        for _ in range(200):
            call()
    rounds: dict[str, list[float]] = {name: [] for name, _ in parts}
    for _ in range(ROUNDS):
        for name, call in parts:
            began = time.process_time()
            for _ in range(CALLS):
                call()
            rounds[name].append((time.process_time() - began) / CALLS * 1e6)
    redis_client.delete(full_key)
    print(f"CPU per call, median of {ROUNDS} rounds of {CALLS} (time.process_time), load {os.getloadavg()[0]:.1f}")
    for name, _ in parts:
        print(f"  {name:<58} {statistics.median(rounds[name]):8.1f} µs")


if __name__ == "__main__":
    main()
