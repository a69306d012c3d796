"""The Celery app: queues, routes and limits declared once, here.

Tasks are acknowledged late and re-queued when a worker dies, so every task must be safe to run twice:
tasks take ids, check state and rely on unique constraints.
"""

import os

from celery import Celery
from celery.schedules import crontab
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "planner.settings")

app = Celery("planner")
app.config_from_object("django.conf:settings", namespace="CELERY")

QUEUES = ("default", "sync", "recommendations", "analytics")
# Longest countdown or ETA a task may be given; the broker's visibility timeout must exceed it, or
# Redis hands a scheduled task to a second worker before the first one runs it.
MAX_COUNTDOWN_SECONDS = 6 * 3600

app.conf.update(
    task_queues=[Queue(name) for name in QUEUES],
    task_default_queue="default",
    # Routes by module: a new task lands on its app's queue without being listed here.
    task_routes={
        "apps.events.tasks.*": {"queue": "sync"},
        "apps.calendars.tasks.sync_*": {"queue": "sync"},
        "apps.recommendations.tasks.*": {"queue": "recommendations"},
        "apps.analytics.tasks.*": {"queue": "analytics"},
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
    beat_schedule={
        # Each source has its own interval; this enqueues the ones that are due (see events.selectors).
        "schedule-due-syncs": {"task": "apps.events.tasks.schedule_due_syncs", "schedule": 60.0},
        # Each subscription has its own interval (60 min by default); this enqueues the ones that are due.
        "sync-due-subscriptions": {"task": "apps.calendars.tasks.sync_due_subscriptions", "schedule": 300.0},
        "flush-expired-refresh-tokens": {
            "task": "apps.users.tasks.flush_expired_refresh_tokens",
            "schedule": crontab(hour="3", minute="17"),
        },
    },
)

app.autodiscover_tasks()

# Task counts and durations, queue lengths and beat's heartbeat for Prometheus (docs/metrics.md).
from planner.metrics import processes as _metrics  # noqa: E402

_metrics.connect()
