"""The prologue every benchmark shares: its own PostgreSQL database, recreated, and Django set up on it with the
production settings module (local-memory cache unless a bench asks for Redis), migrated. Static files are served
from the source tree in benches, so collectstatic's missing directory is not worth a warning."""

import os
import warnings

from scripts.support.databases import ensure_database, recreate_database


def setup_django(database_url: str, *, keep: bool = False, redis_url: str | None = None, **environment: str) -> None:
    """`keep`: reuse the database when it exists (a bench that keeps its data between runs)."""
    (ensure_database if keep else recreate_database)(database_url)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "planner.settings",
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
            "DJANGO_DEBUG": "false",
            "RATE_LIMIT_MAX": "100000000",
            **environment,
        }
    )
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    else:
        os.environ.pop("REDIS_URL", None)  # local-memory cache: the bench is about PostgreSQL and Python
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
