"""PostgreSQL, then Redis, stopped under a running gunicorn, for real: a throwaway PostgreSQL
(replica_cluster.single_server) and a throwaway redis-server, never the shared ones on 5432 and 6379; the project
migrated; gunicorn as the image runs it (docker/gunicorn.conf.py) with one worker, so that the same process lives
through each outage and its recovery. Each test starts what it stopped, whatever the order they run in.

PostgreSQL stopped: /health 200, /ready 503 naming the database, the API and the pages a 503 with Retry-After
instead of a 500. Redis stopped: /ready 503 naming the cache, and the pages and the API still serve (the cache
misses, the throttle lets requests through), with one warning each; a task published meanwhile (a new
subscription's first refresh) is retried, then reported in the log and the metrics, and left due for beat.
Either started again: /ready 200, no restart.
"""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from apps.core import outage
from apps.core.tests.replica_cluster import Server, single_server, wait_until
from conftest import PROJECT_ENV_PREFIXES
from scripts.support import processes
from scripts.support.gunicorn import IMAGE_CONFIG, gunicorn
from scripts.support.network import LOOPBACK, free_port

pytestmark = pytest.mark.real_clock

ROOT = Path(__file__).resolve().parents[3]
EMAIL, PASSWORD = "outage@example.com", "outage-test-password-1"
TIMEOUT = 60
SETUP = f"""
from apps.users.models import User
User.objects.create_user(email={EMAIL!r}, password={PASSWORD!r})
"""
DUE_SUBSCRIPTIONS = "from apps.calendars import selectors; print(selectors.subscriptions_due())"


class RedisServer:
    """A redis-server of its own on a free loopback port, in memory only; stopped and started again on that port."""

    def __init__(self, directory: Path) -> None:
        self.port, self.directory = free_port(), directory
        self.child: processes.Child | None = None

    def url(self, database: int = 0) -> str:
        return f"redis://{LOOPBACK}:{self.port}/{database}"

    def start(self) -> None:
        command = [processes.tool("redis-server"), "--bind", LOOPBACK, "--port", str(self.port), "--save", ""]
        self.child = processes.start([*command, "--appendonly", "no"], log=self.directory / "redis.log")
        wait_until(self._answers, "redis-server answers", timeout=30)

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()
            self.child = None

    def running(self) -> bool:
        return self.child is not None

    def _answers(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url(), socket_connect_timeout=1).ping())
        except redis.ConnectionError:
            return False


@dataclass
class Deployment:
    database: Server
    cache: RedisServer
    base: str
    server: processes.Child
    token: str
    env: dict[str, str]

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.base + path, timeout=TIMEOUT, **kwargs)


def _manage(env: dict[str, str], *args: str) -> str:
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
    return result.stdout


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    directory = tmp_path_factory.mktemp("outage")
    cache = RedisServer(directory)
    cache.start()
    with single_server() as database:
        env = {key: value for key, value in os.environ.items() if not key.startswith(PROJECT_ENV_PREFIXES)}
        env.update(
            DJANGO_SETTINGS_MODULE="planner.test_settings",
            DATABASE_URL=database.url(),
            REDIS_URL=cache.url(),
            DJANGO_DEBUG="false",  # as deployed: DEBUG shows its own error page instead of handler500's
        )
        _manage(env, "migrate", "--noinput")
        _manage(env, "shell", "-c", SETUP)
        multiprocess_dir = directory / "prometheus"
        multiprocess_dir.mkdir()
        server_env = {
            **{key: value for key, value in env.items() if not key.startswith(("GUNICORN_", "WEB_CONCURRENCY"))},
            "PROMETHEUS_MULTIPROC_DIR": str(multiprocess_dir),
        }
        try:
            # One worker, as the image runs it (docker/gunicorn.conf.py), ready once /ready answers.
            with gunicorn(
                server_env, log=directory / "gunicorn.log", config=IMAGE_CONFIG, ready_path="/ready"
            ) as server:
                answer = httpx.post(
                    f"{server.base_url}/api/v1/auth/token", json={"email": EMAIL, "password": PASSWORD}, timeout=TIMEOUT
                )
                assert answer.status_code == 200, answer.text
                access = answer.json()["access"]
                yield Deployment(database, cache, server.base_url, server.child, access, env)
                print(server.child.output())  # shown with a failure
        finally:
            cache.stop()


def _fresh() -> str:
    """A question no cache holds an answer to (anonymous catalogue answers are cached in Redis and in memory)."""
    return uuid.uuid4().hex


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text[:500]
    assert response.headers["Retry-After"] == str(outage.RETRY_AFTER_SECONDS)


def test_a_stopped_database_is_a_503_and_its_return_needs_no_restart(deployment: Deployment) -> None:
    bearer = {"Authorization": f"Bearer {deployment.token}"}
    assert deployment.get("/ready").status_code == 200
    assert deployment.get("/api/v1/events", params={"q": _fresh()}).status_code == 200
    assert deployment.get("/api/v1/me", headers=bearer).status_code == 200
    assert deployment.get("/discover/", params={"q": _fresh()}).status_code == 200

    deployment.database.stop()
    try:
        assert deployment.get("/health").status_code == 200
        ready = deployment.get("/ready")
        assert ready.status_code == 503
        assert "database" in ready.json()["failed"], ready.text

        for _ in range(2):  # the first request finds the connection dead, the next one cannot open a new one
            events = deployment.get("/api/v1/events", params={"q": _fresh()})
            _assert_unavailable(events)
            assert events.json()["error"]["code"] == "unavailable"
        me = deployment.get("/api/v1/me", headers=bearer)
        _assert_unavailable(me)
        assert me.json()["error"]["code"] == "unavailable"
        page = deployment.get("/discover/", params={"q": _fresh()})
        _assert_unavailable(page)
        assert "Back in a moment" in page.text
    finally:
        deployment.database.start()

    wait_until(lambda: deployment.get("/ready").status_code == 200, "/ready is 200 again", timeout=30)
    assert deployment.get("/api/v1/events", params={"q": _fresh()}).status_code == 200
    assert deployment.get("/api/v1/me", headers=bearer).json()["email"] == EMAIL
    assert deployment.get("/discover/", params={"q": _fresh()}).status_code == 200
    deployment.server.check_running()
    log = deployment.server.output(last_chars=10_000_000)
    assert log.count("Booting worker") == 1, "the one worker served before, during and after: nothing restarted"
    assert log.count('"event": "database_unavailable"') == 1, "logged once for the outage, not per request"


def test_a_stopped_redis_leaves_pages_and_the_api_serving(deployment: Deployment) -> None:
    bearer = {"Authorization": f"Bearer {deployment.token}"}
    assert deployment.get("/ready").status_code == 200

    deployment.cache.stop()
    try:
        assert deployment.get("/health").status_code == 200
        ready = deployment.get("/ready")
        assert ready.status_code == 503
        assert "cache" in ready.json()["failed"], ready.text
        for _ in range(2):
            assert deployment.get("/api/v1/events", params={"q": _fresh()}).status_code == 200
            assert deployment.get("/discover/", params={"q": _fresh()}).status_code == 200
            me = deployment.get("/api/v1/me", headers=bearer)  # the throttle cannot count: it lets it through
            assert me.status_code == 200, me.text
            assert me.json()["email"] == EMAIL
        assert deployment.get("/").status_code == 200

        # The first refresh of a new subscription is published after the commit: the broker is on this Redis.
        calendar_id = deployment.get("/api/v1/calendars", headers=bearer).json()["results"][0]["id"]
        subscribed = httpx.post(
            f"{deployment.base}/api/v1/calendars/{calendar_id}/subscriptions",
            json={"url": f"https://calendars.example.invalid/{_fresh()}.ics"},  # taken unresolved, fetched later
            headers=bearer,
            timeout=TIMEOUT,
        )
        assert subscribed.status_code == 201, subscribed.text
        # Bounded retries (about 1.5 s), not the result backend's 20 s of reconnecting that a plain delay() waits.
        assert subscribed.elapsed.total_seconds() < 15
        metrics = deployment.get("/metrics").text
        task = "apps.calendars.tasks.sync_subscription"
        assert f'planner_celery_task_publish_failures_total{{task="{task}"}} 1.0' in metrics
    finally:
        deployment.cache.start()

    wait_until(lambda: deployment.get("/ready").status_code == 200, "/ready is 200 again", timeout=30)
    assert deployment.get("/api/v1/events", params={"q": _fresh()}).status_code == 200
    deployment.server.check_running()
    log = deployment.server.output(last_chars=10_000_000)
    assert log.count("Booting worker") == 1, "nothing restarted"
    assert log.count('"event": "cache_unavailable"') == 1, "one warning for the cache, not one per call"
    assert log.count('"event": "throttle_unavailable"') == 1, "one warning for the throttle, not one per request"
    assert "Exception ignored" not in log
    failed = [line for line in log.splitlines() if '"event": "task_publish_failed"' in line]
    assert len(failed) == 1, failed
    assert f'"args": [{subscribed.json()["id"]}]' in failed[0]
    assert log.count('"event": "task_publish_retrying"') == 3
    # Never fetched, so due: beat's next tick publishes it now that the broker is back.
    due = _manage(deployment.env, "shell", "-c", DUE_SUBSCRIPTIONS)
    assert str(subscribed.json()["id"]) in due
