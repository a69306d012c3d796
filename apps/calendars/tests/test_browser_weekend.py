"""My weekend in real headless Chromium: a person logs in through the form, opens a catalogue event on this
coming Saturday, adds it to their weekend and is told at once that it overlaps one of their own plans; My
weekend then shows both plans on the Saturday timeline with the clash marked and explained.

Runs once at a phone width and once at a desktop width (the `page` fixture); screenshots of each step go to
test-results/screenshots/.
"""

import re
from collections.abc import Callable
from datetime import UTC, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.calendars.models import Calendar, Plan
from apps.calendars.tests.factories import PlanFactory
from apps.core.time import weekend_window
from apps.events import services as event_services
from apps.events.models import Event
from apps.events.tests.factories import item, make_source, venue
from apps.users.models import Profile
from apps.users.tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Screenshot = Callable[[str], Path]
BERLIN = "Europe/Berlin"


def test_add_an_event_to_my_weekend_and_see_the_clash(
    page: Page, live_server: LiveServer, screenshot: Screenshot, clock: time_machine.Traveller
) -> None:
    user = UserFactory()
    Profile.objects.filter(user=user).update(timezone=BERLIN, travel_mode="bike", home_lat=52.5003, home_lon=13.4410)
    calendar = Calendar.objects.get(owner=user, is_default=True)
    calendar.timezone = BERLIN
    calendar.save()

    start, _ = weekend_window("this", BERLIN, now=timezone.now())
    saturday = start.astimezone(ZoneInfo(BERLIN))
    # The catalogue event, Saturday 19:00-21:00 Berlin time, at the Kulturbrauerei.
    event_services.events_upsert(
        source=make_source(),
        items=[
            item(
                "jazz",
                start=(saturday + timedelta(hours=19)).astimezone(UTC),
                title="Open-air jazz",
                venue=venue(lat=52.5390, lon=13.4130),
            )
        ],
    )
    event = Event.objects.get(title="Open-air jazz")
    # The person's own plan that evening, overlapping the concert. And a morning plan elsewhere in town.
    for title, hour, minutes, place in (
        ("Dinner with Sam", 20, 90, (52.5300, 13.4000)),
        ("Morning swim", 9, 60, (52.4880, 13.4240)),
    ):
        local = (saturday + timedelta(hours=hour)).replace(tzinfo=None)
        PlanFactory(
            calendar=calendar, title=title, timezone=BERLIN, start=local, minutes=minutes,
            location="Prenzlauer Berg", lat=place[0], lon=place[1],
        )  # fmt: skip

    # Log in through the form.
    page.goto(f"{live_server.url}/accounts/login/")
    main = page.get_by_role("main")
    main.get_by_label("Email").fill(user.email)
    main.get_by_label("Password", exact=True).fill(user.raw_password)
    main.get_by_role("button", name="Log in").click()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="My weekend")).to_be_visible()
    screenshot("1-logged-in")

    # The event page: add it to my weekend, and hear at once that it clashes, and why.
    page.goto(f"{live_server.url}/events/{event.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Open-air jazz")
    card = page.get_by_role("region", name="Your weekend")
    expect(card.get_by_role("button", name="Add to my weekend")).to_be_visible()
    screenshot("2-event")
    card.get_by_role("button", name="Add to my weekend").click()
    status = page.get_by_role("region", name="Your weekend").get_by_role("status")
    expect(status).to_have_text("Added to your weekend. It overlaps Dinner with Sam.")
    assert Plan.objects.filter(calendar=calendar, event=event).count() == 1
    screenshot("3-added-with-clash")

    # My weekend: both plans on the Saturday timeline, the clash marked on each with its reason.
    page.get_by_role("link", name="Open My weekend").click()
    expect(page).to_have_url(re.compile(r"/weekend/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My weekend")
    expect(nav.get_by_role("link", name="My weekend")).to_have_attribute("aria-current", "page")
    day = page.get_by_role("region", name=re.compile(r"^Saturday "))
    expect(day.get_by_role("heading", level=2)).to_have_text(re.compile(r"^Saturday \d{1,2} \w+$"))
    titles = day.locator(".plan-card-title")
    expect(titles).to_have_text(["Morning swim", "Open-air jazz", "Dinner with Sam"])
    jazz = day.get_by_role("article", name="Open-air jazz")
    dinner = day.get_by_role("article", name="Dinner with Sam")
    expect(jazz.get_by_role("list", name="Clashes")).to_have_text("Overlaps Dinner with Sam")
    expect(dinner.get_by_role("list", name="Clashes")).to_have_text("Overlaps Open-air jazz")
    expect(day.locator(".timeline-entry.has-conflict")).to_have_count(2)
    expect(day.get_by_role("article", name="Morning swim").get_by_role("list", name="Clashes")).to_have_count(0)
    expect(day.locator(".timeline-time").nth(1)).to_have_text("19:00–21:00")
    # The ride from the swim to the concert, between them on the timeline.
    expect(day.locator(".travel-leg")).to_have_text(re.compile(r"about \d+ min by bike"))
    expect(page.locator(".weekend-summary")).to_have_text("3 plans · 1 clash")
    expect(page.get_by_role("link", name="Download .ics of My weekend")).to_have_attribute(
        "href", f"/api/v1/calendars/{calendar.pk}/ics"
    )
    screenshot("4-my-weekend")

    # The list view says the same in rows.
    page.get_by_role("link", name="List").click()
    expect(page).to_have_url(re.compile(r"view=list"))
    expect(page.locator(".plan-row.has-conflict")).to_have_count(2)
    screenshot("5-my-weekend-list")

    # The plan form and the Calendars page, reached from here.
    page.get_by_role("link", name="Add a plan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a plan")
    expect(page.get_by_label("Calendar", exact=True)).to_have_value(str(calendar.pk))
    screenshot("6-plan-form")
    page.goto(f"{live_server.url}/calendars/")
    expect(page.get_by_label("Private feed address")).to_have_value(re.compile(r"/feeds/[\w-]+\.ics$"))
    screenshot("7-calendars")
