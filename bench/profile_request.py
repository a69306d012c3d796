"""CPU per request of one endpoint through the WSGI application, in-process, as gunicorn calls it: production
settings, Redis, Prometheus in multiprocess mode, JSON logs at LOG_LEVEL (default INFO, written to /dev/null), a
signed-in bench user with a real JWT. Prints CPU ms per request (time.process_time, best of 3 runs) and, with
--profile, cProfile's top functions. What docs/benchmarks.md's "GET /api/v1/me under gunicorn" section profiled.

Run: .venv/bin/python bench/profile_request.py [/api/v1/me] [--profile] [--sort tottime|cumulative] [--top 40]
Database: BENCH_DATABASE_URL (default wp_bench_profile, created and migrated), Redis: BENCH_REDIS_URL (default db 12).
"""

import argparse
import cProfile
import io
import logging
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.support import bench_django

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wp_bench_profile")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
EMAIL = "profile-bench@weekendplanner.test"
PASSWORD = "a-long-bench-password-1"  # noqa: S105 - the bench's own throwaway account


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?", default="/api/v1/me")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="bench-profile-prometheus-"))
    os.environ.setdefault("LOG_LEVEL", "INFO")
    bench_django.setup_django(DATABASE_URL, keep=True, redis_url=REDIS_URL)
    from django.core.wsgi import get_wsgi_application

    from apps.users import services
    from apps.users.models import User

    app = get_wsgi_application()
    if not User.objects.filter(email=EMAIL).exists():
        services.user_create(email=EMAIL, password=PASSWORD)
    token = services.token_obtain(request=None, email=EMAIL, password=PASSWORD).access
    for handler in logging.getLogger().handlers:  # formatted as in production, written nowhere
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - for the life of the process

    def call() -> None:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "GET", "PATH_INFO": args.path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1:8000", "HTTP_AUTHORIZATION": f"Bearer {token}",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr,
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
        }  # fmt: skip
        statuses: list[str] = []

        def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            statuses.append(status)
            return lambda data: None

        body = app(environ, start_response)
        b"".join(body)
        if statuses[0][:1] not in "23":
            raise SystemExit(f"{args.path} answered {statuses[0]}")

    for _ in range(300):
        call()
    best = float("inf")
    for _ in range(3):
        began = time.process_time()
        for _ in range(args.requests):
            call()
        best = min(best, (time.process_time() - began) / args.requests * 1000)
    print(f"{args.path}: {best:.3f} CPU ms per request (best of 3 x {args.requests}), load {os.getloadavg()[0]:.1f}")
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.requests):
            call()
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())


if __name__ == "__main__":
    main()
