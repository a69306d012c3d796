"""The /metrics HTTP server of a Celery main process (worker or beat), on METRICS_ADDR:METRICS_PORT."""

import os
from collections.abc import Iterable

import structlog
from prometheus_client import start_http_server
from prometheus_client.registry import Collector

from apps.core.metrics import scrape_registry

logger = structlog.get_logger(__name__)

DEFAULT_ADDR = "127.0.0.1"  # the chart sets METRICS_ADDR=0.0.0.0 so Prometheus reaches the pod
DEFAULT_PORT = 9808


def metrics_address() -> tuple[str, int]:
    return os.environ.get("METRICS_ADDR") or DEFAULT_ADDR, int(os.environ.get("METRICS_PORT") or DEFAULT_PORT)


def serve_metrics(*, role: str, extra: Iterable[Collector] = ()) -> bool:
    """Serves this role's page in a daemon thread; False (and an error logged) when the port is taken."""
    addr, port = metrics_address()
    try:
        start_http_server(port, addr=addr, registry=scrape_registry(extra=extra))
    except OSError as exc:
        # The process itself is worth more than its metrics: keep running, and let the missing scrape
        # target (`up == 0`) tell the operator.
        logger.error("metrics_server_failed", role=role, addr=addr, port=port, error=str(exc))
        return False
    logger.info("metrics_server_started", role=role, addr=addr, port=port)
    return True
