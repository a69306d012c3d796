"""`make test`'s pytest in two processes side by side: the longest tests that stand alone (SIDE) and the rest.

The Ansible-against-moto tests (tests/infra) take a third of a serial run and need neither the test database nor
the other tests; the Schemathesis contract test is the longest single test (about 6.5 minutes in CI) and needs only
its own server. Most of the rest waits on servers, browsers and workers. Side by side, the two processes use the
machine's two CPUs and end within minutes of each other (in CI on 816eda6: the rest 31.4 min with the contract test
in it, tests/infra 21.6 min). The side process gets Redis databases of its own (conftest.py empties the cache around
every test, and the suite's Celery broker is the database after its cache's: planner.settings) and its own database
name, so neither can see the other's state. Its output is saved under test-results/ and printed after the main
run's; the exit status is the first failure's.

Run: DJANGO_SETTINGS_MODULE=... DATABASE_URL=... REDIS_URL=... .venv/bin/python scripts/run_test_suites.py
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIDE = ("tests/infra", "tests/api/test_schema_contract.py")
SIDE_LOG = ROOT / "test-results" / "pytest-side.log"
REDIS_DATABASES = 16  # Redis's default number of logical databases


def side_redis_database(url: str) -> str:
    """redis://host:port/N -> redis://host:port/N+2 (wrapping): N is the suite's cache and N+1 its Celery broker, so
    the side process's cache (N+2) and broker (N+3) are neither. Redis reads a URL without a database as /0."""
    base, _, database = url.rstrip("/").rpartition("/")
    if not database.isdigit() or base.endswith(":/"):  # "redis://host:6379": the last part is the host
        base, database = url.rstrip("/"), "0"
    return f"{base}/{(int(database) + 2) % REDIS_DATABASES}"


def suffixed_database(url: str, suffix: str) -> str:
    """postgres://.../name?options -> postgres://.../name<suffix>?options."""
    address, question, options = url.partition("?")
    return f"{address}{suffix}{question}{options}"


def main() -> int:
    pytest = str(Path(sys.executable).parent / "pytest")
    side_env = dict(
        os.environ,
        REDIS_URL=side_redis_database(os.environ["REDIS_URL"]),
        DATABASE_URL=suffixed_database(os.environ["DATABASE_URL"], "_side"),
    )
    named = " and ".join(SIDE)
    SIDE_LOG.parent.mkdir(parents=True, exist_ok=True)
    with SIDE_LOG.open("w") as log:
        side = subprocess.Popen([pytest, *SIDE], cwd=ROOT, env=side_env, stdout=log, stderr=subprocess.STDOUT)
        try:
            main_status = subprocess.call([pytest, *(f"--ignore={path}" for path in SIDE)], cwd=ROOT)
            side_status = side.wait()
        except KeyboardInterrupt:
            side.terminate()
            side.wait()
            raise
    print(f"\n===== {named}, run beside the suite above (saved in {SIDE_LOG.relative_to(ROOT)}) =====", flush=True)
    sys.stdout.write(SIDE_LOG.read_text())
    print(f"===== pytest: the suite exited {main_status}, {named} exited {side_status} =====", flush=True)
    return main_status or side_status


if __name__ == "__main__":
    sys.exit(main())
