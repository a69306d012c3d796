"""Plan my weekend in real headless Chromium: from My weekend one click plans the weekend; the plan shows each day's
stops with travel legs, prices, reasons and a drawing of the route; swapping a stop offers what fits and puts it in
its place; accepting puts the stops on the calendar, and My weekend shows them.

Runs once at a phone width and once at a desktop width (the `page` fixture); screenshots of each step go to
test-results/screenshots/.
"""

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.calendars.models import Plan
from apps.itineraries.models import Itinerary
from apps.itineraries.tests.factories import at, event, person, place, weekend
from apps.recommendations.tests.factories import BERLIN_ZONE
from apps.users.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Screenshot = Callable[[str], Path]


def _session_cookie(user: User, live_server: LiveServer) -> dict[str, str]:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            "url": live_server.url}  # fmt: skip


def test_plan_swap_accept_and_see_it_on_my_weekend(page: Page, live_server: LiveServer, screenshot: Screenshot) -> None:
    east = place("east", lat=52.5130, lon=13.4550)
    event("Jazz brunch", start=at(0, 11), category="music")
    event("Morning recital", start=at(0, 11, 30), category="music", venue=east)  # one of these two fits the morning
    event("Afternoon quartet", start=at(0, 15), category="music", venue=east)
    event("Matinee choir", start=at(0, 15, 30), category="music")
    event("Evening concert", start=at(0, 19), category="music", venue=east)
    event("Sunday film", start=at(1, 16), category="film", is_free=True, price_min=None)
    someone = person(interests=["music", "film"], budget=100, travel_mode="bike", display_name="Ada")
    page.context.add_cookies([_session_cookie(someone, live_server)])

    page.goto(f"{live_server.url}/weekend/?weekend={weekend()}")
    panel = page.get_by_role("region", name=re.compile(r"^Plan my (next )?weekend$"))
    panel.get_by_role("button", name="Plan my weekend").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your weekend plan")
    itinerary = Itinerary.objects.get(owner=someone)
    stops = list(itinerary.stops.select_related("event").order_by("day", "position"))
    assert stops
    saturday = page.get_by_role("region", name=re.compile(r"^Saturday"))
    expect(saturday.get_by_role("img", name=re.compile(r"^Route of Saturday"))).to_be_visible()
    first = stops[0]
    expect(page.locator(f"#stop-{first.pk}")).to_contain_text(first.event.title)
    expect(saturday).to_contain_text(re.compile(r"(min by bike|A few steps) from home"))
    expect(page.get_by_role("list", name=f"Why “{first.event.title}”")).to_be_visible()
    screenshot("1-plan")

    # Swap a Saturday stop: the alternatives fit its place; one click puts one there.
    saturday_stop = next(stop for stop in stops if stop.day == at(0, 12).astimezone(BERLIN_ZONE).date())
    page.locator(f"#stop-{saturday_stop.pk}").get_by_role("link", name=f"Swap “{saturday_stop.event.title}”").click()
    swap = page.get_by_role("region", name=f"Instead of “{saturday_stop.event.title}”")
    expect(swap).to_be_visible()
    choice = swap.get_by_role("listitem").first
    title = choice.locator("strong").inner_text()
    screenshot("2-swap")
    choice.get_by_role("button", name=f"Use this: “{title}”").click()
    expect(page.get_by_role("status")).to_contain_text("Swapped")
    expect(page.locator(".itinerary-stop-title", has_text=title)).to_have_count(1)
    expect(page.locator(".itinerary-stop-title", has_text=saturday_stop.event.title)).to_have_count(0)

    # Accept: the stops land on the calendar, and My weekend shows them.
    page.get_by_role("button", name="Add all to my weekend").click()
    expect(page).to_have_url(re.compile(r"/weekend/(\?weekend=next)?$"))
    expect(page.get_by_text("Added to your weekend.")).to_be_visible()
    expect(page.get_by_role("link", name=title).first).to_be_visible()
    assert Plan.objects.filter(calendar__owner=someone, event__title=title).count() == 1
    screenshot("3-my-weekend")
