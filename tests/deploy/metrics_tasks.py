"""A task that retries once, for the metrics test only: the worker under test loads it with `--include`.

No production task retries on demand, and the `retried` state of planner_celery_tasks_total deserves a real
retry through the broker rather than a hand-sent signal.
"""

from celery import shared_task


@shared_task(bind=True, name="tests.deploy.metrics_tasks.retry_once", max_retries=1)
def retry_once(self):  # type: ignore[no-untyped-def]
    if self.request.retries == 0:
        raise self.retry(countdown=0)
    return "retried once"
