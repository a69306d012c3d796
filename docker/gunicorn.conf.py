"""Gunicorn settings for the web role (`gunicorn --config docker/gunicorn.conf.py planner.wsgi:application`).

Every value comes from the environment with a production default, so the chart tunes it without a new image.
"""

import os

from gunicorn.glogging import Logger
from prometheus_client import multiprocess


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


PORT = _int("PORT", 8000)
# 0.0.0.0 in the container (the kubelet and the ALB reach the pod IP); GUNICORN_BIND overrides the whole
# address, which is how tests bind 127.0.0.1.
bind = [os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{PORT}"]

workers = _int("WEB_CONCURRENCY", 2)
# gthread, because the sync worker ignores keep-alive and would close every ALB connection after one
# request; in the variant that, with one thread, serves on the event loop's own thread rather than handing each
# request to a pool thread (planner/gunicorn_worker.py: 14% less CPU a request, measured). One thread per process
# by default: a process holds one database connection per thread, and the chart's connection budget (connections
# per pod x maximum replicas) counts WEB_CONCURRENCY x threads.
worker_class = "planner.gunicorn_worker.EventLoopThreadWorker"
threads = _int("GUNICORN_THREADS", 1)
# The workers share one socket and take turns by how many connections each holds (planner/gunicorn_worker.py): the
# least loaded accepts the next one. With a socket each (SO_REUSEPORT, GUNICORN_REUSE_PORT=true) the kernel hashes
# connections to workers, 11 and 5 of 16 in some runs; with a shared socket and gunicorn's own accepting, whichever
# worker woke first took a burst of them (docs/benchmarks.md, "The serving model" and the eleventh pass).
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "false").lower() == "true"

# A request running longer than this is killed (the worker is replaced); below the ALB's 60 s idle timeout.
timeout = _int("GUNICORN_TIMEOUT", 30)
# On SIGTERM, requests in flight get this long to finish; the chart's terminationGracePeriodSeconds covers
# the preStop pause plus this.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 25)
# Longer than the ALB's idle timeout (60 s): the ALB always closes an idle connection first, so it never
# sends a request on a connection gunicorn is closing at the same moment (a 502).
keepalive = _int("GUNICORN_KEEPALIVE", 65)

# The worker heartbeat file is touched constantly: keep it in memory, not on the container's disk (and the
# root filesystem is read-only; /tmp is an emptyDir).
worker_tmp_dir = "/dev/shm" if os.access("/dev/shm", os.W_OK) else "/tmp"  # noqa: S108 - fallback for hosts

# No access log: RequestContextMiddleware writes one JSON line per request, with its request id. Gunicorn's
# own messages go through the project's JSON formatter too, so every line on stdout is JSON.
accesslog = None


class NoAccessLogLogger(Logger):
    """Gunicorn's logger without its access log. With `logconfig_dict` set, gunicorn builds every request's access
    line (atoms, headers) and hands it to a logger that drops it: 4% of a GET /api/v1/me in a py-spy profile."""

    def _compute_access_log_enabled(self) -> bool:
        return False


logger_class = NoAccessLogLogger
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "apps.core.logging.json_formatter"}},
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"},
    },
    # Gunicorn merges this over its defaults one key deep: a root without our handler would name its own.
    "root": {"handlers": ["stdout"], "level": loglevel.upper()},
    "loggers": {
        "gunicorn.error": {"handlers": ["stdout"], "level": loglevel.upper(), "propagate": False},
        "gunicorn.access": {"handlers": [], "propagate": False},
    },
}

# The app is imported in each worker, not in the master: a worker that fails to import is replaced, and
# prometheus_client in each worker writes its own multiprocess files (PROMETHEUS_MULTIPROC_DIR).
preload_app = False

# Gunicorn's runtime control socket (gunicornc) would be written under $HOME, read-only in the pod; the chart
# and the role scripts never use it.
control_socket_disable = True


def child_exit(server: object, worker: object) -> None:
    """A worker exited: drop its live gauges from the /metrics page; its counters stay summed in."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
