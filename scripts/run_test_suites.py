"""`make test`'s pytest: the Ansible-against-moto tests (tests/infra) beside the rest of the suite, in two processes.

The infra tests take a third of a serial run and need neither the test database nor the other tests; most of the
rest waits on servers, browsers and workers. Side by side, the two use the machine's two CPUs. The infra process gets
Redis databases of its own (conftest.py empties the cache around every test, and the suite's Celery broker is the
database after its cache's: planner.settings) and its own database name (pytest-django would make one only for a
test that asks for it), so neither can see the other's state. Its output is saved under test-results/ and printed
after the main run's; the exit status is the first failure's.

Run: DJANGO_SETTINGS_MODULE=... DATABASE_URL=... REDIS_URL=... .venv/bin/python scripts/run_test_suites.py
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INFRA = "tests/infra"
INFRA_LOG = ROOT / "test-results" / "pytest-infra.log"
REDIS_DATABASES = 16  # Redis's default number of logical databases


def infra_redis_database(url: str) -> str:
    """redis://host:port/N -> redis://host:port/N+2 (wrapping): N is the suite's cache and N+1 its Celery broker, so
    the infra tests' cache (N+2) and broker (N+3) are neither. Redis reads a URL without a database as /0."""
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
    infra_env = dict(
        os.environ,
        REDIS_URL=infra_redis_database(os.environ["REDIS_URL"]),
        DATABASE_URL=suffixed_database(os.environ["DATABASE_URL"], "_infra"),
    )
    INFRA_LOG.parent.mkdir(parents=True, exist_ok=True)
    with INFRA_LOG.open("w") as log:
        infra = subprocess.Popen([pytest, INFRA], cwd=ROOT, env=infra_env, stdout=log, stderr=subprocess.STDOUT)
        try:
            main_status = subprocess.call([pytest, f"--ignore={INFRA}"], cwd=ROOT)
            infra_status = infra.wait()
        except KeyboardInterrupt:
            infra.terminate()
            infra.wait()
            raise
    print(f"\n===== {INFRA}, run beside the suite above (saved in {INFRA_LOG.relative_to(ROOT)}) =====", flush=True)
    sys.stdout.write(INFRA_LOG.read_text())
    print(f"===== pytest: the suite exited {main_status}, {INFRA} exited {infra_status} =====", flush=True)
    return main_status or infra_status


if __name__ == "__main__":
    sys.exit(main())
