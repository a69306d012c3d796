""" "For you" in real headless Chromium: a signed-in person sees their list with its reasons on the home page,
adds one to the weekend (told at once whether it clashes), says "Not for me" to another, which disappears in place
(htmx, focus on the status line) and is still gone after a reload; on Discover the list follows the weekend chosen.

Runs once at a phone width and once at a desktop width (the `page` fixture); screenshots of each step go to
test-results/screenshots/.
"""

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.analytics.models import TrackedEvent
from apps.recommendations.models import Feedback
from apps.recommendations.tests.factories import BERLIN_ZONE, event, person, place, weekend_moment
from apps.users.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Screenshot = Callable[[str], Path]


def _for_you(page: Page) -> Locator:
    return page.get_by_role("region", name=re.compile(r"^For you"))


def _items(page: Page) -> Locator:
    return _for_you(page).get_by_role("article")


def _session_cookie(user: User, live_server: LiveServer) -> dict[str, str]:
    """Log in without the form (the users app's browser tests cover it): a session cookie for `user`."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": live_server.url,
    }


def test_for_you_lists_reasons_and_not_for_me_removes_an_item(
    page: Page, live_server: LiveServer, screenshot: Screenshot
) -> None:
    event("Jazz night")
    event("Piano recital", start=weekend_moment() + timedelta(hours=1))
    event("Flea market", category="markets", venue=place("mauerpark"), start=weekend_moment() - timedelta(hours=6))
    event("Open-air film", category="film", is_free=True, price_min=None, start=weekend_moment() + timedelta(hours=3))
    event("Next week's gig", start=weekend_moment() + timedelta(days=7))
    someone = person(interests=["music", "markets"], budget=30, display_name="Ada")
    page.context.add_cookies([_session_cookie(someone, live_server)])

    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada")
    section = _for_you(page)
    expect(section.get_by_role("heading", level=2)).to_have_text("For you this weekend")
    expect(_items(page)).to_have_count(4)
    jazz = _items(page).filter(has=page.get_by_role("heading", name="Jazz night"))
    expect(jazz.get_by_role("list", name="Why we picked “Jazz night”")).to_contain_text("you like music")
    expect(jazz).to_contain_text("€15")
    sunday = weekend_moment().astimezone(BERLIN_ZONE)
    expect(jazz).to_contain_text(f"{sunday:%a} {sunday.day} {sunday:%b} · 15:00–17:00")
    expect(section.get_by_role("status")).to_have_count(0)
    screenshot("1-for-you")

    # Add one to the weekend: the answer comes at once, in place.
    market = _items(page).filter(has=page.get_by_role("heading", name="Flea market"))
    market.get_by_role("button", name="Add to my weekend: “Flea market”").click()
    expect(market.get_by_role("status")).to_have_text("Added to your weekend, no clashes.")

    # "Not for me": the item goes, the list stays on the same page, focus lands on the status line.
    page.evaluate("() => { window.__forYouMarker = 'same-page'; }")
    jazz.get_by_role("button", name="Not for me: “Jazz night”").click()
    status = _for_you(page).get_by_role("status")
    expect(status).to_have_text("Removed “Jazz night”. It will not come back.")
    expect(status).to_be_focused()
    expect(_for_you(page).get_by_role("heading", name="Jazz night")).to_have_count(0)
    expect(_for_you(page).get_by_role("heading", name="Piano recital")).to_be_visible()
    assert page.evaluate("() => window.__forYouMarker") == "same-page"
    assert Feedback.objects.filter(user=someone, action="dismiss").count() == 1
    screenshot("2-dismissed")

    # Still gone after a reload; the saved market is no longer suggested either.
    page.reload()
    expect(_for_you(page).get_by_role("heading", name="Piano recital")).to_be_visible()
    expect(_for_you(page).get_by_role("heading", name="Jazz night")).to_have_count(0)
    expect(_for_you(page).get_by_role("heading", name="Flea market")).to_have_count(0)

    # A click on an item carries the list's request id and the item's rank (impressions came from the server).
    request_id = _for_you(page).get_attribute("data-rec-request-id")
    piano = _for_you(page).get_by_role("link", name="Piano recital")
    rank = piano.locator("xpath=ancestor::li[@data-rec-rank]").get_attribute("data-rec-rank")
    piano.click()
    expect(page).to_have_url(re.compile(r"/events/\d+/$"))
    clicks = TrackedEvent.objects.filter(user_id=someone.pk, type="click")
    page.wait_for_function("() => document.readyState === 'complete'")
    for _ in range(50):
        if clicks.exists():
            break
        page.wait_for_timeout(100)
    click = clicks.get()
    assert (click.context["request_id"], click.context["rank"]) == (request_id, int(rank or 0))

    # Discover: the list follows the weekend chosen on the page.
    page.goto(f"{live_server.url}/discover/")
    expect(_for_you(page).get_by_role("heading", level=2)).to_have_text("For you this weekend")
    page.get_by_role("group", name="When").get_by_role("radio", name="Next weekend").check()
    expect(_for_you(page).get_by_role("heading", level=2)).to_have_text("For you next weekend")
    expect(_items(page)).to_have_count(1)
    expect(_items(page).first).to_contain_text("Next week's gig")
    screenshot("3-discover-next-weekend")
