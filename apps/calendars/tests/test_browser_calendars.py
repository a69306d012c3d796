"""The Calendars page under the Content-Security-Policy in real headless Chromium: each calendar's colour comes
from a nonce-carrying <style> block (no style attributes), and the feed address's copy button from a static
script (no inline script). The `page` fixture fails the test on any policy violation.
"""

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.calendars import services
from apps.calendars.models import Calendar
from apps.users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Screenshot = Callable[[str], Path]


def test_calendar_colours_and_the_copy_button(page: Page, live_server: LiveServer, screenshot: Screenshot) -> None:
    person = UserFactory()
    calendar = Calendar.objects.get(owner=person, is_default=True)
    services.calendar_feed_regenerate(calendar=calendar)
    Calendar.objects.filter(pk=calendar.pk).update(color="#aa3355")
    page.context.grant_permissions(["clipboard-write"], origin=live_server.url)

    page.goto(f"{live_server.url}/accounts/login/")
    main = page.get_by_role("main")
    main.get_by_label("Email").fill(person.email)
    main.get_by_label("Password", exact=True).fill(DEFAULT_PASSWORD)
    main.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    page.goto(f"{live_server.url}/calendars/")
    card = page.locator(f"#calendar-{calendar.pk}")
    # The colour comes from the nonce-carrying <style> block, not a style attribute.
    expect(card).to_have_css("border-top-color", "rgb(170, 51, 85)")
    # Located by its data-copy attribute: the label says "Copied" for only two seconds.
    copy = card.locator("button[data-copy]")
    expect(copy).to_be_visible()  # hidden until static/js/copy.js runs
    expect(copy).to_have_accessible_name("Copy the feed address of My weekend")
    copy.click()
    expect(copy).to_contain_text("Copied")
    screenshot("calendars")
