"""Wires the metrics into Celery: task signals everywhere, a /metrics server in the worker's and beat's main
process. Nothing is served by web processes, eager tasks or the test suite: worker_ready and beat_init are
only sent by `celery worker` and `celery beat`."""

from typing import Any

import structlog
from celery.signals import beat_init, worker_ready

from apps.core.metrics import multiprocess_dir
from planner.metrics import tasks
from planner.metrics.queues import QueueLengthCollector
from planner.metrics.server import serve_metrics

logger = structlog.get_logger(__name__)


def _on_worker_ready(sender: Any, **_: object) -> None:
    # Sent in the main process once the pool is up and the consumer listens: the HTTP thread is not
    # inherited by pool processes forked at start.
    app = sender.app
    if not multiprocess_dir() and sender.pool.num_processes > 1:
        logger.warning("metrics_multiprocess_dir_unset", detail="task metrics of pool processes are not served")
    queues = list(app.amqp.queues.consume_from)
    serve_metrics(role="worker", extra=[QueueLengthCollector(app, queues)])


def _on_beat_init(**_: object) -> None:
    serve_metrics(role="beat")


def connect() -> None:
    tasks.connect()
    worker_ready.connect(_on_worker_ready, weak=False, dispatch_uid="planner.metrics.worker_ready")
    beat_init.connect(_on_beat_init, weak=False, dispatch_uid="planner.metrics.beat_init")
