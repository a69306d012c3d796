"""The rollup's equality with the direct count, again on SQLite (the `make run` database): the same tests in a fresh
pytest process whose DATABASE_URL is a SQLite file, so nothing PostgreSQL-only slips into the rollup's queries."""

import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROLLUP_TESTS = Path(__file__).with_name("test_rollup.py")


def test_the_rollup_equals_the_direct_count_on_sqlite_too(clean_env, tmp_path):  # type: ignore[no-untyped-def]
    env = clean_env(
        DJANGO_SETTINGS_MODULE="planner.test_settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'rollup.sqlite3'}",
        REDIS_URL=settings.CACHES["default"]["LOCATION"],
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROLLUP_TESTS), "-q", "-p", "no:randomly"],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    assert " passed" in result.stdout, result.stdout[-2000:]
    assert "skipped" not in result.stdout, result.stdout[-2000:]
