"""Fixtures shared by every app's tests. The suite runs on real PostgreSQL and Redis (planner.test_settings)."""

import os
import re
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.cache import cache
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from apps.core.time import weekend_window
from scripts.support import processes
from scripts.support.databases import database_url
from scripts.support.gunicorn import gunicorn_command
from scripts.support.network import NotAnswering, free_port, wait_for_url
from tests.live_server import LIVE_SERVER_ACTIVITY

ROOT = Path(__file__).resolve().parent
ARTIFACTS = ROOT / "test-results"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")

# Hypothesis draws the same examples on every run (pytest-randomly seeds everything else and prints its seed), and
# a slow machine never turns into a DeadlineExceeded.
hypothesis_settings.register_profile("planner", derandomize=True, deadline=None, print_blob=True)
hypothesis_settings.load_profile("planner")


# --- The clock --------------------------------------------------------------------------------------------
# Every test sees the clock start at REFERENCE_NOW (a Wednesday noon in Berlin, away from DST changes and month
# or year ends), so no test depends on the day the suite runs. `make test-dates` replays the suite with
# TEST_NOW at the moments where calendars go wrong. Tests that start other processes (servers, Celery workers,
# pg_dump, moto) keep the real clock, since those processes cannot share a moved one: they are marked
# real_clock, by hand or because they use one of PROCESS_FIXTURES.
REFERENCE_NOW = "2026-06-17T12:00:00+02:00"
PROCESS_FIXTURES = frozenset({"start_server", "celery_worker", "clean_env"})
# The chart, image, metrics and Ansible tests drive helm, gunicorn, Celery, moto and ansible-playbook.
REAL_CLOCK_DIRECTORIES = (ROOT / "tests" / "deploy", ROOT / "tests" / "infra")


def reference_now() -> datetime:
    return datetime.fromisoformat(os.environ.get("TEST_NOW") or REFERENCE_NOW)


@pytest.fixture(autouse=True)
def clock(request: pytest.FixtureRequest) -> Iterator[time_machine.Traveller | None]:
    """The clock at reference_now(), ticking from there (servers and browsers under test need time to pass).
    `clock.move_to(...)` and `clock.shift(...)` move it; threads of this process (live_server) see it too."""
    if request.node.get_closest_marker("real_clock"):
        yield None
        return
    with time_machine.travel(reference_now(), tick=True) as traveller:
        yield traveller


@pytest.fixture
def daytime(clock: time_machine.Traveller) -> time_machine.Traveller:
    """The clock at noon UTC of its own day, for tests of an email that must go out at once whatever TEST_NOW's hour:
    quiet hours (22:00-08:00 in the person's zone, UTC unless they chose one) hold other emails for the morning.
    Quiet hours have tests of their own (apps/notifications/tests/test_delivery_quiet_hours.py)."""
    clock.move_to(reference_now().astimezone(UTC).replace(hour=12, minute=0, second=0, microsecond=0))
    return clock


@pytest.fixture
def before_the_weekend(clock: time_machine.Traveller) -> time_machine.Traveller:
    """The clock at noon UTC on the Wednesday before the weekend under way or next at TEST_NOW (in UTC), for tests
    that plan the whole of "this weekend": late on a Sunday most of it is over, and pages rightly offer only what is
    left. The weekend itself, with any clock change in it, stays the one TEST_NOW picked."""
    saturday, _ = weekend_window("this", "UTC", now=reference_now())
    clock.move_to(saturday - timedelta(days=3) + timedelta(hours=12))
    return clock


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        in_process_directory = any(item.path.is_relative_to(directory) for directory in REAL_CLOCK_DIRECTORIES)
        if in_process_directory or PROCESS_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.real_clock)


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    # Rate-limit counters and cached values must not leak from one test into the next.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def smtp_server(settings):  # type: ignore[no-untyped-def]
    """A real SMTP server on a free port of 127.0.0.1 (tests/smtp.py), with Django's SMTP backend pointed at it
    for the test instead of the test settings' in-memory one. It also serves a Celery worker started with
    EMAIL_URL=smtp://127.0.0.1:<port>."""
    from tests.smtp import SMTPServer

    server = SMTPServer(free_port())
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = server.host, server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield server
    server.stop()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db: None):  # type: ignore[no-untyped-def]
    from apps.users.tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def other_user(db: None):  # type: ignore[no-untyped-def]
    from apps.users.tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def client_for() -> Callable[..., APIClient]:
    """client_for(user): an API client carrying a real access JWT for that user."""
    from apps.users import services

    def make(user) -> APIClient:  # type: ignore[no-untyped-def]
        pair = services.token_obtain(request=None, email=user.email, password=user.raw_password)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.access}")
        return client

    return make


@pytest.fixture
def auth_client(user, client_for) -> APIClient:  # type: ignore[no-untyped-def]
    """An API client carrying a real access JWT for `user`."""
    return client_for(user)


# --- Browser tests: Debian's chromium driven by Playwright -----------------------------------------------


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait as long as actions do (the page fixture's 10 s, and more): a form's POST, redirect and new
    # page can take seconds while CI runs the infrastructure tests beside this suite; 5 s, Playwright's default,
    # once failed there. A page that never shows the text still fails.
    expect.set_options(timeout=15_000)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser-deps` installs Debian's chromium")
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the tests are safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


# Every page reports what the Content-Security-Policy blocked to the test (a binding, not the page's own
# script, so the policy cannot stop the report); Chromium's console messages about the policies count too.
REPORT_POLICY_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__policyViolation(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"} on ${event.documentURI}`
    + ` (${event.sourceFile || "?"}:${event.lineNumber})${event.sample ? ": " + event.sample : ""}`);
});
"""
POLICY_CONSOLE_MESSAGE = re.compile(r"Content.Security.Policy|Permissions.Policy", re.IGNORECASE)


@pytest.fixture(params=list(VIEWPORTS))
def page(request, browser):  # type: ignore[no-untyped-def]
    """A fresh browser context per test, once at a phone width and once at a desktop width. The test fails
    when a page breaks the Content-Security-Policy or Chromium complains about the security headers."""
    context = browser.new_context(viewport=VIEWPORTS[request.param])
    context.set_default_timeout(10_000)
    violations: list[str] = []
    context.expose_binding("__policyViolation", lambda _source, text: violations.append(text))
    context.add_init_script(REPORT_POLICY_VIOLATIONS)
    page = context.new_page()
    page.on("console", lambda m: violations.append(m.text) if POLICY_CONSOLE_MESSAGE.search(m.text) else None)
    page.viewport_name = request.param
    yield page
    context.close()
    LIVE_SERVER_ACTIVITY.wait_until_quiet()  # the closed page's last beacons land before the database is flushed
    if violations:
        pytest.fail("Policy violations in the browser:\n" + "\n".join(dict.fromkeys(violations)))


@pytest.fixture
def screenshot(request, page):  # type: ignore[no-untyped-def]
    """screenshot("step") saves test-results/screenshots/<test>-<viewport>-<step>.png."""
    directory = ARTIFACTS / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    test_name = request.node.originalname

    def take(step: str) -> Path:
        path = directory / f"{test_name}-{page.viewport_name}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


# --- Servers in a subprocess, for what only a real process shows (settings at start-up, probes) ----------


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """start_server(env, argv=None, log=None) runs the project under gunicorn (or argv, with {port} filled in) on
    127.0.0.1 and returns its base URL once /health answers. Every server is stopped after the test. Its output
    goes to the file `log`, by default one in the test's tmp_path."""
    servers: list[processes.Child] = []

    def start(env: dict[str, str], argv: list[str] | None = None, log: Path | None = None) -> str:
        port = free_port()
        command = argv or gunicorn_command("127.0.0.1:{port}", "--workers", "1", "--timeout", "30")
        command = [part.replace("{port}", str(port)) for part in command]
        server = processes.start(command, log=log or tmp_path / f"server-{len(servers)}.log", env=env)
        servers.append(server)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for_url(f"{base}/health", timeout=60, child=server)
        except (processes.ChildExited, NotAnswering) as error:
            pytest.fail(str(error))
        return base

    yield start
    processes.stop_all(servers)


PROJECT_ENV_PREFIXES = ("DATABASE_URL", "REDIS_URL", "DJANGO_", "JWT_", "CELERY_", "RATE_LIMIT", "ALLOWED_HOSTS")


@pytest.fixture
def clean_env() -> Callable[..., dict[str, str]]:
    """clean_env(**overrides): a fresh process's environment, without this run's project settings."""

    def make(**overrides: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(PROJECT_ENV_PREFIXES)}
        env.update(overrides)
        return env

    return make


@pytest.fixture
def celery_worker(clean_env):  # type: ignore[no-untyped-def]
    """celery_worker("queue,...", **env) starts a real Celery worker on the test database and Redis, with further
    environment variables `env`; stopped after. Its output goes where the test's goes, so a failing test shows
    it. It runs in a process group of its own (the worker's pid), which a test may kill."""
    from django.conf import settings
    from django.db import connection

    workers: list[processes.Child] = []

    def start(queues: str, **overrides: str) -> subprocess.Popen[bytes]:
        env = clean_env(
            DJANGO_SETTINGS_MODULE="planner.test_settings",
            DATABASE_URL=database_url(connection.settings_dict),
            REDIS_URL=settings.CACHES["default"]["LOCATION"],
            # Each worker's metrics server gets a port of its own, so workers of one test never contend for it.
            METRICS_PORT=str(free_port()),
            **overrides,
        )
        command = [
            processes.tool("celery"), "-A", "planner", "worker", f"--queues={queues}",
            "--pool=solo", "--without-gossip", "--without-mingle", "--loglevel=WARNING",
        ]  # fmt: skip
        worker = processes.start(command, log=None, env=env)
        workers.append(worker)
        return worker.process

    yield start
    processes.stop_all(workers, timeout=30)
