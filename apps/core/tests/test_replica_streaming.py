"""The read replica, for real: a throwaway primary and its streaming replica (replica_cluster), the project migrated
and seeded on the primary, and gunicorn (docker/gunicorn.conf.py) with DATABASE_URL at the primary and
DATABASE_REPLICA_URL at the replica.

Where a read went is proven by pausing the replica's replay (pg_wal_replay_pause): a change written on the primary
then exists only there, so a read that does not see it came from the replica, and one that does came from the
primary. Every test leaves replay running and the replica up, whatever the order the tests run in.
"""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.core.cache import cache

from apps.core.db_router import STICKY_COOKIE
from apps.core.replica_health import replica_lag_seconds
from apps.core.tests.replica_cluster import Cluster, primary_and_replica, wait_until
from conftest import PROJECT_ENV_PREFIXES
from scripts.support import processes
from scripts.support.network import free_port, wait_for_url

pytestmark = pytest.mark.real_clock

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "replica-test-password"
WRITER, READER, BROWSER = "writer@example.com", "reader@example.com", "browser@example.com"
STAFF = (WRITER, READER, BROWSER)
# Generous: the first request of a kind imports what it needs (the statistics of results take seconds).
TIMEOUT = 60
SETUP = f"""
from django.core.management import call_command
from apps.users.models import User
call_command("seed_demo")
for email in {STAFF!r}:
    User.objects.create_superuser(email=email, password={PASSWORD!r})
"""


@dataclass
class Deployment:
    cluster: Cluster
    base: str
    event_id: int
    tokens: dict[str, str]  # email -> access JWT

    def bearer(self, email: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[email]}"}


def _get(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(url, timeout=TIMEOUT, **kwargs)


def _post(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(url, timeout=TIMEOUT, **kwargs)


def _env(cluster: Cluster, **overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(PROJECT_ENV_PREFIXES)}
    env.update(
        DJANGO_SETTINGS_MODULE="planner.test_settings",
        DATABASE_URL=cluster.primary.url(),
        DATABASE_REPLICA_URL=cluster.replica.url(),
        REDIS_URL=settings.CACHES["default"]["LOCATION"],
        **overrides,
    )
    return env


def _manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"manage.py {args[0]}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    directory = tmp_path_factory.mktemp("replica")
    with primary_and_replica() as cluster:
        env = _env(
            cluster,
            # The checks of the replica's health every 0.2 s, so the tests see a stop at once; the allowed lag is
            # wide, so a replica paused on purpose still serves (the verdict on lag is tested in-process).
            DATABASE_REPLICA_CHECK_SECONDS="0.2",
            DATABASE_REPLICA_MAX_LAG_SECONDS="3600",
            DATABASE_REPLICA_STICKY_SECONDS="120",
        )
        # The migrate hook's environment has the replica too: migrations must still run on the primary only.
        _manage(env, "migrate", "--noinput")
        _manage(env, "shell", "-c", SETUP)
        multiprocess_dir = directory / "prometheus"
        multiprocess_dir.mkdir()
        port = free_port()
        server_env = {
            **{key: value for key, value in env.items() if not key.startswith(("GUNICORN_", "WEB_CONCURRENCY"))},
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "1",
            "PROMETHEUS_MULTIPROC_DIR": str(multiprocess_dir),
        }
        command = [processes.tool("gunicorn"), "--config", "docker/gunicorn.conf.py", "planner.wsgi:application"]
        server = processes.start(command, log=directory / "gunicorn.log", env=server_env)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for_url(f"{base}/health", timeout=60, child=server)
            with cluster.primary.connect() as conn:
                row = conn.execute("SELECT min(id) FROM events_event").fetchone()
            assert row is not None
            assert row[0] is not None, "seed_demo made no events"
            tokens = {}
            for email in STAFF:
                answer = _post(f"{base}/api/v1/auth/token", json={"email": email, "password": PASSWORD})
                assert answer.status_code == 200, answer.text
                tokens[email] = answer.json()["access"]
            wait_until(cluster.caught_up, "the replica has the seeded catalogue")
            yield Deployment(cluster=cluster, base=base, event_id=int(row[0]), tokens=tokens)
        finally:
            server.stop()
            print(server.output())  # shown with a failure


@pytest.fixture
def paused(deployment: Deployment) -> Iterator[Cluster]:
    """The replica receives WAL but replays none of it until the test ends."""
    cluster = deployment.cluster
    cluster.pause_replay()
    try:
        yield cluster
    finally:
        cluster.resume_replay()
        wait_until(cluster.caught_up, "the replica caught up")


def _rename_on_primary(deployment: Deployment) -> str:
    title = f"Renamed {uuid.uuid4().hex[:8]}"
    with deployment.cluster.primary.connect() as conn:
        conn.execute("UPDATE events_event SET title = %s WHERE id = %s", (title, deployment.event_id))
    # Anonymous catalogue answers are cached until the catalogue changes (apps.events.public_cache, retired by
    # events_changed after a sync); this UPDATE sends no signal, so retire them here as the signal would.
    cache.clear()
    return title


def _api_title(deployment: Deployment, client: httpx.Client | None = None) -> str:
    """The event's title as the API shows a signed-in person who has not written (a private answer, never one from
    the shared cache), through `client` when given (it keeps its cookies)."""
    url = f"{deployment.base}/api/v1/events/{deployment.event_id}"
    headers = deployment.bearer(READER)
    answer = client.get(url, headers=headers) if client else _get(url, headers=headers)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["title"])


def _anonymous_page(deployment: Deployment) -> str:
    answer = _get(f"{deployment.base}/events/{deployment.event_id}/")
    assert answer.status_code == 200, answer.text
    return str(answer.text)


def test_catalogue_reads_come_from_the_replica(deployment: Deployment, paused: Cluster) -> None:
    before = _api_title(deployment)
    title = _rename_on_primary(deployment)
    # Only the primary has the new title: the API, the search and the page still show what the replica replayed.
    assert _api_title(deployment) == before
    assert title not in _anonymous_page(deployment)
    search = _get(f"{deployment.base}/api/v1/events", params={"q": title}, headers=deployment.bearer(READER))
    assert search.status_code == 200
    assert search.json()["results"] == []
    paused.resume_replay()
    wait_until(lambda: _api_title(deployment) == title, "the replica's copy shows the new title")


def test_writes_go_to_the_primary_while_reads_of_others_stay_on_the_replica(
    deployment: Deployment, paused: Cluster
) -> None:
    writer, reader = WRITER, READER
    key = f"replica-{uuid.uuid4().hex[:8]}"
    design = {
        "key": key,
        "variants": [{"key": "control", "weight": 50}, {"key": "treatment", "weight": 50}],
        "primary_metric": {"event": "save"},
    }
    created = _post(f"{deployment.base}/api/v1/experiments", json=design, headers=deployment.bearer(writer))
    assert created.status_code == 201, created.text
    with paused.primary.connect() as primary, paused.replica.connect() as replica:
        query = "SELECT count(*) FROM analytics_experiment WHERE key = %s"
        assert primary.execute(query, (key,)).fetchone() == (1,)
        assert replica.execute(query, (key,)).fetchone() == (0,)
    results = f"{deployment.base}/api/v1/experiments/{key}/results"
    # Read-your-writes for an API client (a JWT, no cookies): the writer's results come from the primary...
    assert "set-cookie" in created.headers  # browsers get the cookie; this client does not send it back
    mine = _get(results, headers=deployment.bearer(writer))
    assert mine.status_code == 200, mine.text
    assert mine.json()["key"] == key
    # ...while another person's read of the same results is served by the replica, which has no such experiment.
    assert _get(results, headers=deployment.bearer(reader)).status_code == 404
    paused.resume_replay()
    wait_until(lambda: _get(results, headers=deployment.bearer(reader)).status_code == 200, "replayed")


def test_a_browser_that_has_just_written_reads_from_the_primary(deployment: Deployment, paused: Cluster) -> None:
    browser = httpx.Client(base_url=deployment.base, timeout=TIMEOUT)
    # A tracking beacon writes, but nothing anyone reads back at once: it sets no cookie.
    page_view = {"id": str(uuid.uuid4()), "type": "page_view", "at": datetime.now(UTC).isoformat()}
    beacon = browser.post("/api/v1/track", json={"events": [page_view | {"object_type": "page", "object_id": "/"}]})
    assert beacon.status_code < 400, beacon.text
    assert STICKY_COOKIE not in browser.cookies
    title = _rename_on_primary(deployment)
    assert _api_title(deployment, browser) != title
    # Signing in is a successful POST: from now on, for a few seconds, this browser reads the primary.
    signed_in = browser.post("/api/v1/auth/token", json={"email": BROWSER, "password": PASSWORD})
    assert signed_in.status_code == 200
    assert STICKY_COOKIE in browser.cookies
    assert _api_title(deployment, browser) == title
    # The same person without that cookie still reads the replica.
    assert _api_title(deployment) != title


def test_ready_reports_the_replica_lag(deployment: Deployment, paused: Cluster) -> None:
    _rename_on_primary(deployment)  # WAL the paused replica received but has not replayed

    def replica_behind() -> bool:
        with paused.replica.connect() as conn, conn.cursor() as cursor:
            return (replica_lag_seconds(cursor) or 0) > 0

    wait_until(replica_behind, "the replica received the WAL it does not replay")

    def lagging() -> bool:
        body = _get(f"{deployment.base}/ready").json()
        return bool(body["replica"]["lag_seconds"])

    wait_until(lagging, "/ready reports a lag")
    ready = _get(f"{deployment.base}/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"
    assert ready.json()["replica"]["status"] == "ok"  # within DATABASE_REPLICA_MAX_LAG_SECONDS of this server
    paused.resume_replay()
    wait_until(lambda: _get(f"{deployment.base}/ready").json()["replica"]["lag_seconds"] == 0, "no lag")


def test_reads_fall_back_to_the_primary_when_the_replica_stops(deployment: Deployment) -> None:
    replica = deployment.cluster.replica
    assert _get(f"{deployment.base}/ready").json()["replica"]["status"] == "ok"
    replica.stop()
    try:
        title = _rename_on_primary(deployment)  # the stopped replica cannot have it
        # The first read may still find the replica's old verdict and connection: it fails there and is retried
        # on the primary, so no read fails.
        assert _api_title(deployment) == title
        assert title in _anonymous_page(deployment)
        ready = _get(f"{deployment.base}/ready")
        assert ready.status_code == 200
        body = ready.json()
        assert body["status"] == "ok"
        assert body["replica"]["status"] == "down"
        assert body["replica"]["reason"].startswith(("unreachable", "read failed"))
    finally:
        replica.start()
    wait_until(lambda: _get(f"{deployment.base}/ready").json()["replica"]["status"] == "ok", "replica back")
