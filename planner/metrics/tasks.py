"""Task counts and durations, kept by Celery's task signals in whichever process runs the task.

A prefork worker runs tasks in pool processes, so these are multiprocess metrics (PROMETHEUS_MULTIPROC_DIR):
the main process's scrape page sums the files every pool process wrote, those of replaced processes too.
"""

import time
from typing import Any

from celery import Task
from celery.signals import task_failure, task_postrun, task_prerun, task_retry
from celery.states import SUCCESS
from prometheus_client import Counter, Histogram

TASKS = Counter(
    "planner_celery_tasks_total",
    "Celery tasks finished, by outcome: succeeded, failed (raised, timed out, lost its process) or retried.",
    ["task", "queue", "state"],
)
TASK_DURATION = Histogram(
    "planner_celery_task_duration_seconds",
    "Wall time of one run of a task in a pool process (retried and failed runs included).",
    ["task", "queue"],
    # From bookkeeping tasks (milliseconds) to a full sync just under the 14-minute soft limit.
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900, float("inf")),
)

UNKNOWN_QUEUE = "unknown"

_started: dict[str, float] = {}


def queue_of(task: Task[Any, Any]) -> str:
    """The queue the running task came from; its routed queue when the message is not at hand."""
    delivery_info = getattr(task.request, "delivery_info", None) or {}
    # Celery publishes to a named queue through the anonymous direct exchange: routing key = queue name.
    routing_key = delivery_info.get("routing_key")
    if routing_key:
        return str(routing_key)
    try:
        return str(task.app.amqp.router.route({}, task.name)["queue"].name)
    except Exception:  # noqa: BLE001 - a label must never fail the task it describes
        return UNKNOWN_QUEUE


def _on_prerun(*, task_id: str, **_: object) -> None:
    _started[task_id] = time.perf_counter()


def _on_postrun(*, task_id: str, task: Task[Any, Any], state: str | None = None, **_: object) -> None:
    started = _started.pop(task_id, None)
    queue = queue_of(task)
    if started is not None:
        TASK_DURATION.labels(task=task.name, queue=queue).observe(time.perf_counter() - started)
    if state == SUCCESS:
        TASKS.labels(task=task.name, queue=queue, state="succeeded").inc()


def _on_failure(*, sender: Task[Any, Any], **_: object) -> None:
    # Sent in the pool process when the task raised, and in the main process for a hard time limit or a
    # lost pool process, where postrun never comes: failures are counted here, not in postrun.
    TASKS.labels(task=sender.name, queue=queue_of(sender), state="failed").inc()


def _on_retry(*, sender: Task[Any, Any], **_: object) -> None:
    TASKS.labels(task=sender.name, queue=queue_of(sender), state="retried").inc()


def connect() -> None:
    task_prerun.connect(_on_prerun, weak=False, dispatch_uid="planner.metrics.prerun")
    task_postrun.connect(_on_postrun, weak=False, dispatch_uid="planner.metrics.postrun")
    task_failure.connect(_on_failure, weak=False, dispatch_uid="planner.metrics.failure")
    task_retry.connect(_on_retry, weak=False, dispatch_uid="planner.metrics.retry")
