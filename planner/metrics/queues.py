"""Queue lengths read from the broker at scrape time, for the queues one worker consumes."""

from collections.abc import Iterable, Iterator
from typing import Any

import structlog
from celery import Celery
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

logger = structlog.get_logger(__name__)

QUEUE_LENGTH = "planner_celery_queue_length"


class QueueLengthCollector:
    """Messages waiting in each queue (not those a worker has already reserved).

    kombu's queue_declare() answers with the message count: on Redis that is the LLEN of the queue's list
    plus its priority lists (`<queue>\\x06\\x16<n>`, used when a task is sent with a priority), in one
    pipeline. Declaring a queue the worker already declared changes nothing.
    """

    def __init__(self, app: Celery, queues: Iterable[str]) -> None:
        self.app = app
        # Fixed when the worker starts: a consumer cancelled later still has its backlog reported.
        self.queues = sorted(set(queues))

    def collect(self) -> Iterator[Metric]:
        try:
            with self.app.connection_for_read() as connection:
                channel: Any = connection.default_channel  # kombu's stub channel lacks queue_declare
                lengths = {name: int(channel.queue_declare(queue=name).message_count) for name in self.queues}
        except Exception as exc:  # noqa: BLE001 - a broker outage must not take the task metrics down with it
            logger.warning("queue_length_unavailable", error=type(exc).__name__)
            return
        gauge = GaugeMetricFamily(QUEUE_LENGTH, "Messages waiting in the broker queue.", labels=["queue"])
        for name, length in lengths.items():
            gauge.add_metric([name], float(length))
        yield gauge
