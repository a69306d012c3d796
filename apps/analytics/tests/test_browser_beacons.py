"""The page beacons in real headless Chromium against the live server: a visit to Discover and a click on an event
reach the tracked-event table under the browser's anonymous id, and a browser with Global Privacy Control sends
nothing and gets no cookie."""

import re
from collections.abc import Callable

import pytest
import time_machine
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.analytics.models import TrackedEvent
from apps.users.tests.factories import UserFactory
from tests.live_server import LIVE_SERVER_ACTIVITY

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _anonymous_id(page: Page) -> str | None:
    cookies = {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}
    return cookies.get("wp_aid")


def _settle(page: Page, done: Callable[[], bool]) -> None:
    """Leaves the page (its batch goes) and waits until `done`: no beacon may still be in flight when the test's
    database is flushed."""
    page.goto("about:blank")
    # Up to 15 s: on a loaded machine a page's last batches (its beacons, then its web vitals) take seconds to land.
    for _ in range(150):
        if done():
            return
        page.wait_for_timeout(100)


def test_a_visit_and_a_click_reach_the_table(
    page: Page, live_server: LiveServer, clock: time_machine.Traveller
) -> None:
    call_command("seed_demo")
    page.goto(f"{live_server.url}/discover/")
    link = page.locator("#results .event-card a").first
    expect(link).to_be_visible()
    event_id = re.search(r"/events/(\d+)/", link.get_attribute("href") or "")[1]  # type: ignore[index]
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    link.click()  # leaving the page sends the batch
    page.wait_for_url(re.compile(r"/events/\d+/"))
    assert errors == []
    anonymous_id = _anonymous_id(page)
    assert anonymous_id

    def stored() -> set[tuple[str, str, str]]:
        rows = TrackedEvent.objects.filter(anonymous_id=anonymous_id)
        return set(rows.values_list("type", "object_type", "object_id"))

    # Discover's batch (sent as it was left) and the event page's are separate requests that may land in either
    # order: wait for all three rows, not for the last page's alone.
    expected = {
        ("page_view", "page", "/discover/"),
        ("click", "event", event_id),
        ("page_view", "page", f"/events/{event_id}/"),
    }
    _settle(page, lambda: expected <= stored())
    assert expected <= stored()
    assert TrackedEvent.objects.filter(anonymous_id=anonymous_id, user_id__isnull=False).count() == 0


def test_a_closed_page_has_its_batch_stored_once_the_live_server_is_quiet(
    browser: Browser, live_server: LiveServer
) -> None:
    """What the page fixture's teardown relies on (tests/live_server.py): closing the browser context sends the page's
    batch after close() has returned, and waiting until the live server is quiet has it stored before the test's
    database is flushed."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/discover/")
        anonymous_id = _anonymous_id(page)
        assert anonymous_id
        assert not TrackedEvent.objects.filter(anonymous_id=anonymous_id).exists()  # the batch goes as the page is left
    finally:
        context.close()
    LIVE_SERVER_ACTIVITY.wait_until_quiet()
    assert TrackedEvent.objects.filter(anonymous_id=anonymous_id, type="page_view", object_id="/discover/").exists()


def test_global_privacy_control_sends_nothing_and_sets_no_cookie(page: Page, live_server: LiveServer) -> None:
    page.add_init_script("Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true});")
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if "/api/v1/track" in request.url else None)
    page.goto(f"{live_server.url}/")
    page.goto(f"{live_server.url}/discover/")
    page.wait_for_timeout(300)
    assert sent == []
    assert _anonymous_id(page) is None
    # Nothing stored without an anonymous id either (what this cookieless page could cause). Rows carrying an id
    # would be another test's page, whose last web vitals the page fixture waits for (tests/live_server.py).
    assert not TrackedEvent.objects.exclude(type="signup").filter(anonymous_id="").exists()


def test_signing_in_links_the_anonymous_visit_and_later_beacons_carry_the_account(
    page: Page, live_server: LiveServer
) -> None:
    person = UserFactory()
    page.goto(f"{live_server.url}/discover/")  # anonymous: a page view under the new cookie
    page.goto(f"{live_server.url}/accounts/login/")
    anonymous_id = _anonymous_id(page)
    form = page.get_by_role("main")
    form.get_by_label("Email").fill(person.email)
    form.get_by_label("Password", exact=True).fill(person.raw_password)
    form.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"^(?!.*/accounts/login/).*$"))
    page.goto(f"{live_server.url}/discover/")  # signed in: fetch with keepalive and the CSRF header
    page.goto(f"{live_server.url}/")
    mine = TrackedEvent.objects.filter(user_id=person.pk, type="page_view")
    # The batches of the pages just left arrive in any order.
    _settle(page, lambda: mine.filter(object_id="/discover/").count() == 2 and mine.filter(object_id="/").exists())
    discover = TrackedEvent.objects.filter(type="page_view", anonymous_id=anonymous_id, object_id="/discover/")
    # The visit before signing in (linked at sign-in) and the one after it, both the account's now.
    assert list(discover.values_list("user_id", flat=True)) == [person.pk, person.pk]
    assert TrackedEvent.objects.filter(user_id=person.pk, type="login").count() == 1
