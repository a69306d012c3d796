"""Every process exports the metrics the chart's alerts and dashboard query, checked by scraping real processes.

Once per module: gunicorn with docker/gunicorn.conf.py and two workers (multiprocess mode), a prefork Celery
worker with two pool processes running real tasks, and `celery beat` with the HeartbeatScheduler, all on
the test database and Redis, each with its own PROMETHEUS_MULTIPROC_DIR. The scrapes are kept and the
processes stopped; the tests below read the scrapes.

EXPECTED lists what each process must export (sample names, as PromQL sees them); docs/metrics.md
describes them.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import yaml
from django.conf import settings
from django.db import connection
from django.utils import timezone
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from conftest import PROJECT_ENV_PREFIXES, ROOT
from scripts.support.databases import database_url
from scripts.support.network import NotAnswering, free_port, ok, wait_for_url
from scripts.support.processes import Child, ChildExited, start, stop_all

EXPECTED: dict[str, list[str]] = {
    "web": [
        # django-prometheus (the names the chart uses; see docs/metrics.md)
        "django_http_requests_total_by_method_total",
        "django_http_requests_latency_seconds_by_view_method_bucket",
        "django_http_requests_latency_seconds_by_view_method_sum",
        "django_http_requests_latency_seconds_by_view_method_count",
        "django_http_responses_total_by_status_view_method_total",
        "django_db_new_connections_total",
        "django_db_execute_total",
        # apps.events.metrics, read from the database at scrape time
        "planner_source_last_synced_timestamp_seconds",
        "planner_source_sync_interval_seconds",
        # apps.analytics.metrics, the business gauges, read from the database at scrape time
        "planner_analytics_active_people_today",
        "planner_analytics_signups_today",
        "planner_analytics_tracked_events_today",
        "planner_analytics_rollup_lag_seconds",
    ],
    "worker": [
        "planner_celery_tasks_total",
        "planner_celery_task_duration_seconds_bucket",
        "planner_celery_task_duration_seconds_sum",
        "planner_celery_task_duration_seconds_count",
        "planner_celery_queue_length",
    ],
    "beat": ["planner_celery_beat_last_tick_timestamp_seconds"],
}

# Metrics the chart may query that none of our processes export, each with the exporter that does. The
# PrometheusRule must name that source in a comment (checked below).
OTHER_EXPORTERS: dict[str, str] = {
    "up": "Prometheus itself (one series per scrape target)",
    "ALERTS": "Prometheus itself (firing alerts)",
    "kube_": "kube-state-metrics",
    "container_": "cAdvisor in the kubelet",
    "kubelet_": "the kubelet",
    "node_": "node-exporter",
    "pg_": "the PostgreSQL exporter (postgres_exporter) watching RDS",
    "redis_": "the Redis exporter watching ElastiCache",
    "aws_": "the CloudWatch exporter (ALB, RDS, ElastiCache)",
    "prometheus_": "Prometheus itself",
}

CHART = ROOT / "infra" / "helm" / "weekend-planner"
HELM = ROOT / ".venv" / "bin" / "helm"
NAMESPACE = "weekend-planner-prod"

WEB_VIEW_REQUESTS = 'django_http_responses_total_by_status_view_method_total{method="GET",status="401",view="api-me"}'
SUCCEEDING_TASK = "apps.users.tasks.flush_expired_refresh_tokens"  # default queue; nothing to flush: returns 0
FAILING_TASK = "apps.events.tasks.sync_source"  # sync queue; an id no source has raises DoesNotExist
RETRYING_TASK = "tests.deploy.metrics_tasks.retry_once"  # default queue; retries once, then succeeds
IDLE_QUEUE = "analytics"  # the worker is told to stop consuming it, so what is sent there waits
WAITING_ON_IDLE_QUEUE = 3


# --- The exposition format ---------------------------------------------------------------------------------


@dataclass
class Scrape:
    text: str
    samples: dict[str, list[tuple[dict[str, str], float]]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> "Scrape":
        scrape = cls(text)
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                scrape.samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
        return scrape

    def names(self) -> set[str]:
        return set(self.samples)

    def value(self, name: str, **labels: str) -> float:
        matches = [
            value for found, value in self.samples.get(name, []) if all(found.get(k) == v for k, v in labels.items())
        ]
        assert len(matches) == 1, f"{name}{labels}: {len(matches)} series in\n{self.text}"
        return matches[0]

    def series(self, name: str) -> list[dict[str, str]]:
        return [labels for labels, _ in self.samples.get(name, [])]


def scrape(url: str) -> Scrape:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")  # the text exposition format
    return Scrape.parse(response.text)


def settle(check: Callable[[], bool], timeout: float = 30) -> None:
    """Waits until check() holds or the time is up; the tests then say what is missing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not check():
        time.sleep(0.3)


# --- Real processes ------------------------------------------------------------------------------------


class Processes:
    """The deployment's processes by name, each with its output in <directory>/<name>.log."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.children: dict[str, Child] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.children[name] = start(argv, log=self.directory / f"{name}.log", env=env)

    def wait_until_answers(self, name: str, url: str, timeout: float = 120) -> None:
        try:
            wait_for_url(url, timeout=timeout, accept=ok, child=self.children[name], interval=0.3)
        except (ChildExited, NotAnswering) as error:
            pytest.fail(f"{name}: {error}")

    def stop_all(self) -> None:
        stop_all(self.children.values(), timeout=30)
        self.children.clear()


def process_env(multiprocess_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of a process under test: this run's database and Redis, its own multiprocess dir."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith((*PROJECT_ENV_PREFIXES, "PROMETHEUS_", "METRICS_", "GUNICORN_", "WEB_CONCURRENCY"))
    }
    multiprocess_dir.mkdir(parents=True)
    env.update(
        DJANGO_SETTINGS_MODULE="planner.test_settings",
        DATABASE_URL=database_url(connection.settings_dict),
        REDIS_URL=settings.CACHES["default"]["LOCATION"],
        PROMETHEUS_MULTIPROC_DIR=str(multiprocess_dir),
        **overrides,
    )
    return env


# --- What the processes are shown ----------------------------------------------------------------------


@dataclass
class SourceRows:
    """The sources made for the test, and what the database says the gauges must show."""

    ids: list[int]
    expected_last_synced: dict[str, float]
    expected_interval: dict[str, float]
    scheduled_names: set[str]


def make_sources() -> SourceRows:
    from apps.events import services
    from apps.events.models import Source, SyncOutcome, SyncRun

    token = uuid.uuid4().hex[:8]
    now = timezone.now()
    synced = services.source_create(
        provider="ics",
        name=f"metrics-synced-{token}",
        options={"url": "https://example.test/a.ics"},
        interval_minutes=60,
    )
    never = services.source_create(
        provider="ics", name=f"metrics-never-{token}", options={"url": "https://example.test/b.ics"}
    )
    disabled = services.source_create(
        provider="ics", name=f"metrics-disabled-{token}", options={"url": "https://example.test/c.ics"}
    )
    Source.objects.filter(pk=disabled.pk).update(enabled=False)
    demo = services.source_create(provider="demo", name=f"metrics-demo-{token}")
    # A completed run 90 minutes ago, then a failed one: only the completed run counts as a sync.
    completed = SyncRun.objects.create(source=synced)
    SyncRun.objects.filter(pk=completed.pk).update(
        started_at=now - timedelta(minutes=95), finished_at=now - timedelta(minutes=90), outcome=SyncOutcome.COMPLETED
    )
    failed = SyncRun.objects.create(source=synced)
    SyncRun.objects.filter(pk=failed.pk).update(
        started_at=now - timedelta(minutes=20), finished_at=now - timedelta(minutes=19), outcome=SyncOutcome.FAILED
    )
    never.refresh_from_db()
    return SourceRows(
        ids=[synced.pk, never.pk, disabled.pk, demo.pk],
        expected_last_synced={
            synced.name: (now - timedelta(minutes=90)).timestamp(),
            never.name: never.created_at.timestamp(),
        },
        expected_interval={synced.name: 3600.0, never.name: 360 * 60.0},
        scheduled_names=set(
            Source.objects.filter(enabled=True).exclude(provider="demo").values_list("name", flat=True)
        ),
    )


@dataclass
class Deployment:
    web: Scrape
    worker: Scrape
    beat: Scrape
    sources: SourceRows
    web_requests: int
    web_requests_by_pid: dict[int, float]
    beat_started_at: float
    scraped_at: float

    def union(self) -> set[str]:
        return self.web.names() | self.worker.names() | self.beat.names()


def requests_per_worker(multiprocess_dir: Path) -> dict[int, float]:
    """api-me 401 responses counted in each gunicorn worker's own counter file."""
    counts: dict[int, float] = {}
    for path in multiprocess_dir.glob("counter_*.db"):
        pid = int(path.stem.split("_")[1])
        for metric in MultiProcessCollector.merge([str(path)], accumulate=False):
            for sample in metric.samples:
                if (
                    sample.name == "django_http_responses_total_by_status_view_method_total"
                    and sample.labels.get("view") == "api-me"
                ):
                    counts[pid] = counts.get(pid, 0) + sample.value
    return counts


def exercise_web(base: str, multiprocess_dir: Path) -> tuple[int, dict[int, float]]:
    """Parallel requests on fresh connections until both gunicorn workers served some."""
    sent = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(20):
            statuses = list(pool.map(lambda _: httpx.get(f"{base}/api/v1/me", timeout=30).status_code, range(16)))
            assert set(statuses) == {401}
            sent += len(statuses)
            by_pid = requests_per_worker(multiprocess_dir)
            if len([count for count in by_pid.values() if count > 0]) >= 2:
                return sent, by_pid
    pytest.fail(f"one gunicorn worker served all {sent} requests: {requests_per_worker(multiprocess_dir)}")


def exercise_worker(hostname: str) -> None:
    from planner.celery import app

    replies = app.control.cancel_consumer(IDLE_QUEUE, destination=[hostname], reply=True, timeout=10)
    assert replies, f"{hostname} did not answer cancel_consumer"
    assert app.send_task(SUCCEEDING_TASK).get(timeout=60) == 0
    assert app.send_task(SUCCEEDING_TASK).get(timeout=60) == 0
    failing = app.send_task(FAILING_TASK, args=[2_000_000_000])
    failing.get(timeout=60, propagate=False)
    assert failing.state == "FAILURE"
    assert app.send_task(RETRYING_TASK).get(timeout=60) == "retried once"
    for _ in range(WAITING_ON_IDLE_QUEUE):
        app.send_task(SUCCEEDING_TASK, queue=IDLE_QUEUE)


# pytest-django creates the test database only for runs that hold a test marked to use it; the processes
# under test read and write that database, so the mark is needed even though the tests only scrape.
pytestmark = pytest.mark.django_db


def beat_broker_url() -> str:
    """The Redis database after the worker's broker (wrapping at Redis's 16), for beat's messages alone."""
    parts = urlsplit(settings.CELERY_BROKER_URL)
    return urlunsplit(parts._replace(path=f"/{(int(parts.path.strip('/') or 0) + 1) % 16}"))


BEAT_BROKER_URL = beat_broker_url()


def purge_broker_queues() -> None:
    from planner.celery import QUEUES, app

    for url in (settings.CELERY_BROKER_URL, BEAT_BROKER_URL):
        with app.connection_for_write(url) as conn:
            for queue in QUEUES:
                conn.default_channel.queue_purge(queue)


@pytest.fixture(scope="module")
def deployment(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Deployment]:  # type: ignore[no-untyped-def]
    from apps.events.models import Source

    directory = tmp_path_factory.mktemp("metrics")
    processes = Processes(directory)
    bin_dir = Path(sys.executable).parent
    with django_db_blocker.unblock():
        sources = make_sources()
    # Messages left on the broker by earlier tests would be run, and counted, by the worker under test.
    purge_broker_queues()
    try:
        try:
            web_port, worker_port, beat_port = free_port(), free_port(), free_port()
            hostname = f"metrics-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
            processes.start(
                "web",
                [str(bin_dir / "gunicorn"), "--config", "docker/gunicorn.conf.py", "planner.wsgi:application"],
                process_env(directory / "web-prom", GUNICORN_BIND=f"127.0.0.1:{web_port}", WEB_CONCURRENCY="2"),
            )
            processes.start(
                "worker",
                [
                    str(bin_dir / "celery"), "-A", "planner", "worker", "--pool", "prefork", "--concurrency", "2",
                    "--queues", f"default,sync,{IDLE_QUEUE}", "--hostname", hostname,
                    "--include", "tests.deploy.metrics_tasks",
                    "--without-mingle", "--without-gossip", "--loglevel", "INFO",
                ],
                process_env(directory / "worker-prom", METRICS_PORT=str(worker_port)),
            )  # fmt: skip
            beat_started_at = time.time()
            processes.start(
                "beat",
                [
                    str(bin_dir / "celery"), "-A", "planner", "beat", "--scheduler", "planner.beat:HeartbeatScheduler",
                    "--schedule", str(directory / "celerybeat-schedule"), "--loglevel", "INFO",
                ],
                # Beat publishes to a broker of its own: the tasks it schedules (source syncs every minute) must not
                # reach the worker under test, whose counts the tests assert exactly.
                process_env(directory / "beat-prom", METRICS_PORT=str(beat_port), CELERY_BROKER_URL=BEAT_BROKER_URL),
            )  # fmt: skip
            web = f"http://127.0.0.1:{web_port}"
            worker_metrics = f"http://127.0.0.1:{worker_port}/metrics"
            beat_metrics = f"http://127.0.0.1:{beat_port}/metrics"
            processes.wait_until_answers("web", f"{web}/health")
            processes.wait_until_answers("worker", worker_metrics)
            processes.wait_until_answers("beat", beat_metrics)

            web_requests, by_pid = exercise_web(web, directory / "web-prom")
            assert httpx.get(f"{web}/ready", timeout=30).status_code == 200
            exercise_worker(hostname)

            def worker_counted_everything() -> bool:
                page = scrape(worker_metrics)
                counts = page.samples.get("planner_celery_tasks_total", [])
                return sum(value for _, value in counts) >= 5 and bool(page.samples.get("planner_celery_queue_length"))

            # Counters move in postrun, just after the result the test waited for is stored.
            settle(worker_counted_everything)
            deployment = Deployment(
                web=scrape(f"{web}/metrics"),
                worker=scrape(worker_metrics),
                beat=scrape(beat_metrics),
                sources=sources,
                web_requests=web_requests,
                web_requests_by_pid=by_pid,
                beat_started_at=beat_started_at,
                scraped_at=time.time(),
            )
        finally:
            processes.stop_all()
            purge_broker_queues()
        yield deployment
    finally:
        with django_db_blocker.unblock():
            Source.objects.filter(pk__in=sources.ids).delete()


# --- Web -----------------------------------------------------------------------------------------------


def test_web_exports_its_metrics_summed_over_both_gunicorn_workers(deployment: Deployment) -> None:
    web = deployment.web
    assert set(EXPECTED["web"]) <= web.names(), set(EXPECTED["web"]) - web.names()
    # Two workers served the requests, each counting in its own file; the page shows their sum.
    assert len(deployment.web_requests_by_pid) == 2
    assert all(count > 0 for count in deployment.web_requests_by_pid.values())
    assert web.value("django_http_responses_total_by_status_view_method_total", view="api-me", status="401") == (
        deployment.web_requests
    )
    assert sum(deployment.web_requests_by_pid.values()) == deployment.web_requests
    assert web.value("django_http_requests_latency_seconds_by_view_method_count", view="api-me", method="GET") == (
        deployment.web_requests
    )
    # Celery and beat metrics belong to their own processes: no empty or zero copies on the web page.
    assert not web.names() & {"planner_celery_queue_length", "planner_celery_beat_last_tick_timestamp_seconds"}


def test_web_source_gauges_are_the_database_rows(deployment: Deployment) -> None:
    web, sources = deployment.web, deployment.sources
    labelled = {labels["source"] for labels in web.series("planner_source_last_synced_timestamp_seconds")}
    # One series per enabled, scheduled source: the disabled one and demo data are left out.
    assert labelled == sources.scheduled_names
    assert {labels["source"] for labels in web.series("planner_source_sync_interval_seconds")} == labelled
    for name, expected in sources.expected_last_synced.items():
        assert web.value("planner_source_last_synced_timestamp_seconds", source=name) == pytest.approx(
            expected, abs=1e-3
        )
    for name, expected in sources.expected_interval.items():
        assert web.value("planner_source_sync_interval_seconds", source=name) == expected


# --- Worker --------------------------------------------------------------------------------------------


def test_worker_counts_tasks_by_outcome_and_queue(deployment: Deployment) -> None:
    worker = deployment.worker
    assert set(EXPECTED["worker"]) <= worker.names(), set(EXPECTED["worker"]) - worker.names()
    total = "planner_celery_tasks_total"
    assert worker.value(total, task=SUCCEEDING_TASK, queue="default", state="succeeded") == 2
    assert worker.value(total, task=FAILING_TASK, queue="sync", state="failed") == 1
    assert worker.value(total, task=RETRYING_TASK, queue="default", state="retried") == 1
    assert worker.value(total, task=RETRYING_TASK, queue="default", state="succeeded") == 1
    assert {labels["state"] for labels in worker.series(total)} == {"succeeded", "failed", "retried"}


def test_worker_times_every_run_of_a_task(deployment: Deployment) -> None:
    worker = deployment.worker
    runs = "planner_celery_task_duration_seconds_count"
    assert worker.value(runs, task=SUCCEEDING_TASK, queue="default") == 2
    assert worker.value(runs, task=FAILING_TASK, queue="sync") == 1
    assert worker.value(runs, task=RETRYING_TASK, queue="default") == 2  # the retried run and the last one
    assert 0 < worker.value("planner_celery_task_duration_seconds_sum", task=SUCCEEDING_TASK, queue="default") < 60
    inf_bucket = worker.value("planner_celery_task_duration_seconds_bucket", task=FAILING_TASK, queue="sync", le="+Inf")
    assert inf_bucket == 1


def test_worker_reports_the_length_of_each_of_its_queues(deployment: Deployment) -> None:
    worker = deployment.worker
    assert {labels["queue"] for labels in worker.series("planner_celery_queue_length")} == {
        "default",
        "sync",
        IDLE_QUEUE,
    }
    assert worker.value("planner_celery_queue_length", queue=IDLE_QUEUE) == WAITING_ON_IDLE_QUEUE
    assert worker.value("planner_celery_queue_length", queue="default") == 0
    assert worker.value("planner_celery_queue_length", queue="sync") == 0
    assert not worker.names() & {
        "planner_source_last_synced_timestamp_seconds",
        "planner_celery_beat_last_tick_timestamp_seconds",
    }


# --- Beat ----------------------------------------------------------------------------------------------


def test_beat_heartbeat_is_recent(deployment: Deployment) -> None:
    beat = deployment.beat
    assert set(EXPECTED["beat"]) <= beat.names()
    tick = beat.value("planner_celery_beat_last_tick_timestamp_seconds")
    assert deployment.beat_started_at - 1 <= tick <= deployment.scraped_at
    assert deployment.scraped_at - tick < 60


# --- The chart queries only what is exported -----------------------------------------------------------

PROMQL_KEYWORDS = {
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "bool",
}


def promql_metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects: identifiers that are not functions, keywords, label names
    (inside {...} or by/without/on/ignoring (...)), strings or durations."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.$])[A-Za-z_:][A-Za-z0-9_:]*", expr):
        word = match.group(0)
        if word in PROMQL_KEYWORDS or expr[match.end() :].lstrip().startswith("("):
            continue
        names.add(word)
    return names


def test_promql_metric_names_are_read_like_prometheus_reads_them() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le) (rate(a_bucket{namespace="x",status=~"5.."}[5m]))) > 2 '
        'and on (queue) max(b_total offset 1h) by (queue) / ignoring(pod) c or absent(d{job="$job"}) '
        "unless time() - e > 1e3"
    )
    assert promql_metric_names(expr) == {"a_bucket", "b_total", "c", "d", "e"}


def rendered_monitoring() -> tuple[list[str], list[str], str]:
    """The alert expressions, the dashboard queries and the PrometheusRule's text, from `helm template` with
    the production values."""
    if not HELM.exists():
        pytest.fail(f"{HELM} is missing: `make helm` installs it")
    result = subprocess.run(
        [
            str(HELM), "template", "weekend-planner", str(CHART), "--namespace", NAMESPACE,
            "--values", str(CHART / "values-production.yaml"),
            # The marked stand-ins for the account's values, which deploy.yml fills (values-production.yaml has none).
            "--values", str(ROOT / "scripts" / "support" / "chart_account_standins.yaml"),
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    alerts: list[str] = []
    queries: list[str] = []
    rule_text = ""
    for document_text in re.split(r"^---\s*$", result.stdout, flags=re.MULTILINE):
        document = yaml.safe_load(document_text)
        if not isinstance(document, dict):
            continue
        if document.get("kind") == "PrometheusRule":
            rule_text += document_text
            alerts += [rule["expr"] for group in document["spec"]["groups"] for rule in group["rules"]]
        if document.get("kind") == "ConfigMap" and document["metadata"].get("labels", {}).get("grafana_dashboard"):
            for dashboard in document["data"].values():
                queries += list(_exprs(json.loads(dashboard)))
    return alerts, queries, rule_text


def _exprs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            elif key == "query" and isinstance(value, str) and node.get("type") == "query":
                yield from re.findall(r"label_values\(\s*([A-Za-z_:][\w:]*)", value)
            else:
                yield from _exprs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _exprs(value)


def other_exporter(name: str) -> str | None:
    for prefix, exporter in OTHER_EXPORTERS.items():
        if name == prefix or (prefix.endswith("_") and name.startswith(prefix)):
            return exporter
    return None


def test_alert_and_dashboard_metrics_are_exported(deployment: Deployment) -> None:
    alerts, queries, rule_text = rendered_monitoring()
    assert alerts, "the production values render no PrometheusRule alerts"
    assert queries, "the production values render no dashboard queries"
    alert_names = set().union(*(promql_metric_names(expr) for expr in alerts))
    query_names = set().union(*(promql_metric_names(expr) for expr in queries))

    ours = {name for name in alert_names | query_names if other_exporter(name) is None}
    exported = deployment.union()
    assert ours - exported == set(), f"queried by the chart but exported by none of our processes: {ours - exported}"

    # The alerts about our processes query what they export: source freshness, backlog, beat.
    for name in ("planner_source_last_synced_timestamp_seconds", "planner_celery_queue_length",
                 "planner_celery_beat_last_tick_timestamp_seconds"):  # fmt: skip
        assert name in alert_names, f"no alert queries {name}"

    # Alerts on another exporter's metric say where it comes from, next to the rule.
    comments = "\n".join(line for line in rule_text.splitlines() if line.lstrip().startswith("#"))
    for name in sorted(alert_names - ours):
        assert re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", comments), f"no comment names the source of {name}"
