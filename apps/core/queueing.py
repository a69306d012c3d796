"""Publishing a task that nobody waits for, and saying so when the broker cannot take it.

With Redis down, a plain `task.delay()` first subscribes to the task's result in the Redis result backend and
retries that for about 20 s before raising a RuntimeError that says the application must be restarted; a web
request would hang that long. `enqueue` publishes without a result, retries the publication a bounded number of
times (PUBLISH_RETRY_POLICY, about 1.5 s when the broker refuses connections), and then reports it: a
`task_publish_failed` warning naming the task and its arguments, the counter
`planner_celery_task_publish_failures_total{task}`, and False for the caller, which knows what the loss means
(a periodic task that will find the work due again, or a person to tell)."""

from typing import Any

import structlog
from celery import Task
from kombu.exceptions import OperationalError as BrokerUnavailable
from prometheus_client import Counter

logger = structlog.get_logger(__name__)

# kombu's Connection.ensure arguments: tries at 0, 0.5 and 1 s after the first failure.
PUBLISH_RETRY_POLICY: dict[str, Any] = {"max_retries": 3, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}

PUBLISH_FAILURES = Counter(
    "planner_celery_task_publish_failures_total",
    "Tasks that could not be published after the retries (the broker was unreachable), by task name.",
    ["task"],
)


def enqueue(task: Task[Any, Any], *args: Any) -> bool:
    """Publishes `task(*args)` to its routed queue without storing a result. True once the broker took it; False
    (reported as above, never raised) when the retries ran out."""
    retries = 0

    def retrying(error: Exception, interval: float) -> None:
        nonlocal retries
        retries += 1
        logger.info("task_publish_retrying", task=task.name, retry=retries, error=str(error), wait=interval)

    policy = {**PUBLISH_RETRY_POLICY, "errback": retrying}
    try:
        task.apply_async(args, ignore_result=True, retry=True, retry_policy=policy)
    except BrokerUnavailable as error:
        PUBLISH_FAILURES.labels(task=task.name).inc()
        logger.warning("task_publish_failed", task=task.name, args=list(args), retries=retries, error=str(error))
        return False
    return True
