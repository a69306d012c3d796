"""Fixtures shared by every app's tests. The suite runs on real PostgreSQL and Redis (planner.test_settings)."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parent
ARTIFACTS = ROOT / "test-results"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    # Rate-limit counters and cached values must not leak from one test into the next.
    cache.clear()
    yield
    cache.clear()


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
def auth_client(user) -> APIClient:  # type: ignore[no-untyped-def]
    """An API client carrying a real access JWT for `user`."""
    from apps.users import services

    pair = services.token_obtain(request=None, email=user.email, password=user.raw_password)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.access}")
    return client


# --- Browser tests: Debian's chromium driven by Playwright -----------------------------------------------


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

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


@pytest.fixture(params=list(VIEWPORTS))
def page(request, browser):  # type: ignore[no-untyped-def]
    """A fresh browser context per test, once at a phone width and once at a desktop width."""
    context = browser.new_context(viewport=VIEWPORTS[request.param])
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.viewport_name = request.param
    yield page
    context.close()


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
