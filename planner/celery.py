"""The Celery app: queues, routes and limits declared once, here; each app declares its own beat schedule.

Tasks are acknowledged late and re-queued when a worker dies, so every task must be safe to run twice:
tasks take ids, check state and rely on unique constraints.
"""

import importlib
import os
from collections.abc import Iterable
from typing import Any

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "planner.settings")

app = Celery("planner")
app.config_from_object("django.conf:settings", namespace="CELERY")

QUEUES = ("default", "sync", "recommendations", "analytics", "notifications")
# Longest countdown or ETA a task may be given; the broker's visibility timeout must exceed it, or
# Redis hands a scheduled task to a second worker before the first one runs it.
MAX_COUNTDOWN_SECONDS = 6 * 3600

app.conf.update(
    task_queues=[Queue(name) for name in QUEUES],
    task_default_queue="default",
    # Routes by module: a new task lands on its app's queue without being listed here.
    task_routes={
        "apps.events.tasks.*": {"queue": "sync"},
        "apps.calendars.tasks.*": {"queue": "sync"},
        "apps.recommendations.tasks.*": {"queue": "recommendations"},
        "apps.analytics.tasks.*": {"queue": "analytics"},
        "apps.notifications.tasks.*": {"queue": "notifications"},
    },
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_expires=24 * 3600,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_time_limit=15 * 60,
    task_soft_time_limit=14 * 60,
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    broker_transport_options={"visibility_timeout": MAX_COUNTDOWN_SECONDS + 3600},
    timezone="UTC",
)


def collect_beat_schedule(app_names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Merges the BEAT_SCHEDULE that each app declares in its `schedules.py` (an app without one runs nothing
    on a timer). Entry names are global to beat, so a name declared by two apps is an error, not an override."""
    schedule: dict[str, dict[str, Any]] = {}
    for app_name in app_names:
        module_name = f"{app_name}.schedules"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        clashes = schedule.keys() & module.BEAT_SCHEDULE.keys()
        if clashes:
            raise ValueError(f"{module_name} declares beat entries another app already declares: {sorted(clashes)}")
        schedule.update(module.BEAT_SCHEDULE)
    return schedule


@app.on_after_configure.connect
def _install_app_schedules(sender: Celery, **kwargs: Any) -> None:
    # After configuration, so Django's settings (and INSTALLED_APPS) are readable; schedules.py modules import
    # nothing from Django, so no app registry is needed.
    from django.conf import settings

    sender.conf.beat_schedule = collect_beat_schedule(
        name for name in settings.INSTALLED_APPS if name.startswith("apps.")
    )


app.autodiscover_tasks()

# Task counts and durations, queue lengths and beat's heartbeat for Prometheus (docs/metrics.md).
from planner.metrics import processes as _metrics  # noqa: E402

_metrics.connect()
