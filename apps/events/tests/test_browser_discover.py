"""Discover and the event page in real headless Chromium, on the demo catalogue: filters update the list in
place (htmx) and live in the URL, a reload keeps them, and an event's page says when, where, what it costs
and where it is listed.

Runs once at a phone width and once at a desktop width (the `page` fixture); screenshots of each step go to
test-results/screenshots/.
"""

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.users.models import Profile
from apps.users.tests.factories import UserFactory

# The dates here (weekends, sync ages, the demo catalogue) come from the frozen clock: conftest's clock fixture.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clock")]

Screenshot = Callable[[str], Path]


def _cards(page: Page) -> Locator:
    return page.locator("#results .event-card")


def _filters(page: Page) -> Locator:
    return page.get_by_role("search", name="Filter events")


def _mark_document(page: Page) -> None:
    """A flag on the window: still there after a filter change means the page was not reloaded."""
    page.evaluate("() => { window.__discoverMarker = 'same-page'; }")


def _expect_same_document(page: Page) -> None:
    assert page.evaluate("() => window.__discoverMarker") == "same-page"


def _change(page: Page, action: Callable[[], None]) -> None:
    """Do `action` and wait until htmx has fetched the new list and swapped it in."""
    with page.expect_response(lambda r: "/discover/" in r.url and r.request.headers.get("hx-request") == "true"):
        action()
    page.wait_for_function("() => !document.querySelector('#results.htmx-request')")


def test_discover_filters_update_in_place_and_open_an_event(
    page: Page, live_server: LiveServer, screenshot: Screenshot
) -> None:
    call_command("seed_demo")

    page.goto(f"{live_server.url}/discover/")
    expect(page).to_have_title("Discover · Weekend Planner")
    expect(page.get_by_role("heading", level=1)).to_have_text("Discover")
    expect(page.get_by_role("main")).to_contain_text("set your home")
    status = page.get_by_role("status")
    expect(status).to_contain_text("within 25 km of the city centre")
    screenshot("1-discover")

    # Next weekend: the demo city always has one, whatever today is.
    filters = _filters(page)
    _mark_document(page)
    _change(page, filters.get_by_role("group", name="When").get_by_role("radio", name="Next weekend").check)
    expect(page).to_have_url(re.compile(r"/discover/\?.*weekend=next"))
    expect(status).to_contain_text("Next weekend")
    expect(_cards(page).first).to_be_visible()
    expect(_cards(page)).to_have_count(30)  # a full first page
    expect(page.get_by_role("navigation", name="Pages of events")).to_contain_text("Page 1 of")

    # A category chip.
    _change(page, filters.get_by_role("group", name="Categories").get_by_role("checkbox", name="Markets").check)
    expect(page).to_have_url(re.compile(r"category=markets"))
    expect(status).to_contain_text(re.compile(r"Next weekend .*: \d+ events? within 25 km"))
    expect(_cards(page).first).to_be_visible()
    assert set(_cards(page).locator(".badge").all_text_contents()) <= {"Markets", "Postponed", "Rescheduled"}

    # Free only.
    _change(page, filters.get_by_label("Free only").check)
    expect(page).to_have_url(re.compile(r"free=on"))
    expect(_cards(page).first).to_be_visible()
    expect(_cards(page).locator(".event-price").first).to_have_text("Free")
    assert set(_cards(page).locator(".event-price").all_text_contents()) == {"Free"}

    # Distance.
    _change(page, lambda: _select(filters.get_by_label("Distance"), "Within 5 km"))
    expect(page).to_have_url(re.compile(r"distance=5(&|$)"))
    expect(status).to_contain_text("within 5 km of the city centre")
    expect(_cards(page).first).to_be_visible()
    distances = _cards(page).locator(".event-distance").all_text_contents()
    assert distances
    assert all(_km(text) <= 5 for text in distances), distances
    count = _cards(page).count()
    _expect_same_document(page)  # every change above swapped the list, never reloaded the page
    screenshot("2-filtered")

    # The filters live in the URL: a reload shows the same choices and the same list.
    page.reload()
    filters = _filters(page)
    expect(filters.get_by_role("radio", name="Next weekend")).to_be_checked()
    expect(filters.get_by_role("checkbox", name="Markets")).to_be_checked()
    expect(filters.get_by_role("checkbox", name="Music")).not_to_be_checked()
    expect(filters.get_by_label("Free only")).to_be_checked()
    expect(filters.get_by_label("Distance")).to_have_value("5")
    expect(_cards(page)).to_have_count(count)

    # Open the first event.
    first = _cards(page).first
    title = first.get_by_role("heading", level=3).inner_text()
    first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/events/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    facts = page.get_by_role("region", name="When and where")
    expect(facts).to_contain_text(re.compile(r"(Saturday|Sunday) \d{1,2} \w+ \d{4}"))
    expect(facts).to_contain_text(re.compile(r"Europe/Berlin \(CES?T\)"))
    expect(facts).to_contain_text("Berlin")  # the address
    expect(facts.locator(".event-price")).to_have_text("Free")
    expect(facts.get_by_role("link", name="Show on OpenStreetMap")).to_have_attribute(
        "href", re.compile(r"^https://www\.openstreetmap\.org/\?mlat=52\.\d+&mlon=13\.\d+")
    )
    listings = page.get_by_role("region", name="Tickets and listings")
    expect(listings.get_by_role("link", name="Demo data")).to_have_attribute(
        "href", re.compile(r"^https://example\.org/berlin/")
    )
    screenshot("3-event")

    # Back to Discover.
    page.get_by_role("link", name="Back to Discover").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Discover")


def test_signed_in_person_sees_travel_times_from_home(
    page: Page, live_server: LiveServer, screenshot: Screenshot
) -> None:
    call_command("seed_demo")
    user = UserFactory()
    Profile.objects.filter(user=user).update(
        home_lat=52.5003, home_lon=13.4410, travel_mode="bike", max_distance_km=5, timezone="Europe/London"
    )
    page.context.add_cookies([_session_cookie(user, live_server)])

    page.goto(f"{live_server.url}/discover/?weekend=next")
    expect(page.get_by_role("status")).to_contain_text("within 5 km of home")
    expect(_filters(page).get_by_label("Distance")).to_have_value("5")
    first = _cards(page).first
    # Under a kilometre the distance is given in metres.
    expect(first.locator(".event-distance")).to_contain_text(
        re.compile(r"\d+(\.\d)? k?m from home · about \d+ min by bike")
    )
    # The person lives in London: the event's own zone is named.
    expect(first.locator(".event-card-when")).to_contain_text("Berlin time")

    # Search by text, typed: the list follows without a submit.
    _mark_document(page)
    _change(page, lambda: _filters(page).get_by_label("Search").fill("flea"))
    expect(page).to_have_url(re.compile(r"q=flea"))
    expect(_cards(page).first).to_be_visible()
    titles = _cards(page).get_by_role("heading", level=3).all_text_contents()
    assert titles
    assert all("Flea" in title for title in titles), titles
    _expect_same_document(page)
    screenshot("1-discover-from-home")

    _cards(page).filter(has_not_text="Time to be announced").first.get_by_role("link").click()
    facts = page.get_by_role("region", name="When and where")
    expect(facts).to_contain_text(re.compile(r"about \d+ min by bike from home"))
    expect(facts).to_contain_text(re.compile(r"in your time zone \(Europe/London\)"))
    screenshot("2-event-from-home")


def _select(select: Locator, label: str) -> None:
    select.select_option(label=label)


def _km(text: str) -> float:
    match = re.match(r"([\d.]+) (km|m)\b", text)
    assert match, text
    value = float(match.group(1))
    return value if match.group(2) == "km" else value / 1000


def _session_cookie(user: object, live_server: LiveServer) -> dict[str, str]:
    """Log in without the form (the users app's browser tests cover it): a session cookie for `user`."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": live_server.url,
    }


def test_leaving_the_search_box_does_not_ask_for_the_list_again(page: Page, live_server: LiveServer) -> None:
    """Typing asks for the list; the box's change event as it loses focus (to a click on a result) must not ask
    again: that second answer's history entry cancelled the click's navigation to the event page."""
    call_command("seed_demo")
    page.goto(f"{live_server.url}/discover/?weekend=next")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if r.headers.get("hx-request") == "true" else None)
    filters = _filters(page)
    _change(page, lambda: filters.get_by_label("Search").fill("flea"))
    page.get_by_role("heading", level=1).click()  # the box loses focus and fires its change event
    # Another field's change asks once; had leaving the box asked, that request would have gone before this one.
    _change(page, filters.get_by_label("Free only").check)
    assert len(asked) == 2, asked
    assert "free=on" in asked[-1]
