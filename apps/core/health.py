"""Readiness checks: each returns None when healthy, or a short reason."""

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from apps.core import replica_health


def check_database() -> str | None:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported by class name
        return f"unreachable ({type(exc).__name__})"
    return None


def check_migrations() -> str | None:
    try:
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:  # noqa: BLE001
        return f"cannot read migration state ({type(exc).__name__})"
    if plan:
        return f"{len(plan)} migration(s) pending"
    return None


def check_cache() -> str | None:
    key = f"ready-probe:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", timeout=5)
        answered = cache.get(key) == "1"
        cache.delete(key)
    except Exception as exc:  # noqa: BLE001
        return f"unreachable ({type(exc).__name__})"
    return None if answered else "did not return what was stored"


READINESS_CHECKS = {
    "database": check_database,
    "migrations": check_migrations,
    "cache": check_cache,
}


def readiness_failures() -> dict[str, str]:
    failures: dict[str, str] = {}
    for name, check in READINESS_CHECKS.items():
        if name == "migrations" and "database" in failures:
            continue
        reason = check()
        if reason:
            failures[name] = reason
    return failures


def replica_report() -> dict[str, object] | None:
    """The read replica's state for /ready, or None without one. Never a failure: when the replica is down or lags
    the primary serves its reads (apps.core.db_router), so the pod stays ready and the report says why."""
    if replica_health.REPLICA_ALIAS not in settings.DATABASES:
        return None
    return replica_health.replica_health().as_dict()
