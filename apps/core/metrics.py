"""What a process's /metrics page shows, in one place for web, worker and beat.

Gunicorn and Celery's prefork pool run several processes; with PROMETHEUS_MULTIPROC_DIR set (the image sets
it) every process writes its samples to files there, and a scrape reads them all back, so one page shows
the sum over the workers that served requests or ran tasks. Without it (runserver, the test suite), the
page is this process's own registry.

Metrics read at scrape time from a shared store (the database, the broker) are collectors added to the page
rather than samples kept in a process: apps register theirs for the web page with `register_web_collector` in
their AppConfig.ready(), so core never imports the apps above it.
"""

import os
from collections.abc import Iterable

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

_web_collectors: list[Collector] = []


def register_web_collector(collector: Collector) -> None:
    """Adds a collector to the web process's /metrics page (each scrape calls its collect())."""
    if collector not in _web_collectors:
        _web_collectors.append(collector)


def web_collectors() -> tuple[Collector, ...]:
    return tuple(_web_collectors)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROCESS_DIR_VARIABLE) or None


def scrape_registry(extra: Iterable[Collector] = ()) -> CollectorRegistry:
    """The samples of every process of this pod's role (or of this process alone), then the extra collectors.

    Collectors without names are allowed so that `?name[]=` filtering (prometheus_client's HTTP server)
    still reaches them."""
    registry = CollectorRegistry(support_collectors_without_names=True)
    directory = multiprocess_dir()
    if directory:
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]  # reads the files per scrape
    else:
        registry.register(REGISTRY)
    for collector in extra:
        registry.register(collector)
    return registry


def render_web_page() -> bytes:
    return generate_latest(scrape_registry(extra=web_collectors()))


__all__ = [
    "CONTENT_TYPE_LATEST",
    "multiprocess_dir",
    "register_web_collector",
    "render_web_page",
    "scrape_registry",
    "web_collectors",
]
