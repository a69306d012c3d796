"""The staff analytics dashboard in real headless Chromium at a phone (375 × 800) and a desktop (1280 × 900) size:
every chart is drawn (lines with points, bars, the funnel's bars, each visible and inside the viewport), nothing
makes the page scroll sideways, and the date-range form changes the range shown. Screenshots of both widths are
saved under test-results/screenshots/."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.analytics.tests.factories import staff_user
from apps.analytics.tests.kpi_data import DAYS, seed_two_weeks

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

URL = "/staff/analytics/"
SIZES = {"phone": {"width": 375, "height": 800}, "desktop": {"width": 1280, "height": 900}}
CHARTS = ("actives", "signups", "ctr", "synced", "failures")

# What of the drawing lies outside the viewport's width, how many lines have no points or no size, and (to tell
# what to fix when the page scrolls sideways) the first elements that reach past its right edge.
OUTSIDE = """() => {
  const width = window.innerWidth;
  const beyond = e => { const r = e.getBoundingClientRect(); return r.left < -0.5 || r.right > width + 0.5; };
  const shapes = document.querySelectorAll('svg.chart, svg.chart polyline, svg.chart rect, svg.chart circle');
  const outside = [...shapes].filter(beyond).map(s => s.outerHTML.slice(0, 80));
  const empty = [...document.querySelectorAll('svg.chart polyline')].filter(
    s => !s.getAttribute('points').trim() || s.getBoundingClientRect().width === 0).length;
  const wide = [...document.querySelectorAll('body *')].filter(beyond)
    .map(e => `${e.tagName}.${e.className.baseVal ?? e.className}`).slice(0, 8);
  return {outside, empty, wide, scrollWidth: document.documentElement.scrollWidth, width};
}"""


def _staff_session(live_server: LiveServer) -> dict[str, str]:
    client = Client()
    client.force_login(staff_user())
    return {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            "url": live_server.url}  # fmt: skip


def test_the_dashboard_draws_its_charts_and_changes_its_range(
    page: Page, live_server: LiveServer, screenshot, clock
) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size(SIZES[page.viewport_name])
    today = timezone.now().date()
    seeded = seed_two_weeks(today)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.context.add_cookies([_staff_session(live_server)])

    page.goto(live_server.url + URL)

    expect(page.get_by_role("heading", level=1)).to_have_text("Analytics")
    expect(page.locator("[data-computed-at]")).to_contain_text("Computed at")
    for key in CHARTS:
        chart = page.locator(f'[data-chart="{key}"] svg.chart')
        expect(chart).to_be_visible()
        expect(chart).to_have_attribute("role", "img")
        box = chart.bounding_box()
        assert box is not None, (key, box)
        assert box["width"] > 250, (key, box)
        assert box["height"] > 100, (key, box)
    lines = page.locator("svg.chart-line polyline")
    assert lines.count() >= len(CHARTS) - 1 + 2  # the line charts, and the active people's three series
    for index in range(lines.count()):
        expect(lines.nth(index)).to_be_visible()
    bars = page.locator('[data-chart="signups"] rect.chart-bar')
    expect(bars).to_have_count(DAYS)
    expect(bars.last).to_be_visible()
    funnel = page.get_by_role("img", name=re.compile(r"^Funnel: Shown events: "))
    expect(funnel).to_be_visible()
    expect(funnel.locator("rect.funnel-bar")).to_have_count(4)
    drawn = page.evaluate(OUTSIDE)
    assert drawn["outside"] == [], drawn
    assert drawn["empty"] == 0, drawn
    assert drawn["scrollWidth"] <= drawn["width"], drawn  # nothing scrolls sideways
    # One row per sign-up week (from Monday) the seeded days touch: two when they end on a Sunday, three otherwise.
    weeks = {day - timedelta(days=day.weekday()) for day in (today - timedelta(days=n) for n in range(DAYS))}
    retention = page.get_by_role("region", name="Retention table, by sign-up week")
    expect(retention.locator("tbody tr")).to_have_count(len(weeks))
    expect(page.locator("tr[data-page='/weekend/'] .vital-poor").first).to_have_text("Poor")
    expect(page.get_by_role("link", name="ranker-v2")).to_be_visible()
    screenshot("default-range")

    # The range: only the last seeded day, through the form.
    page.get_by_label("From", exact=True).fill(seeded.last.isoformat())
    page.get_by_label("To", exact=True).fill(seeded.last.isoformat())
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(rf"\?start={seeded.last.isoformat()}&end={seeded.last.isoformat()}$"))
    expect(page.locator(".dash-header .lead")).to_contain_text(f"From {seeded.last.day} {seeded.last:%b %Y} to")
    expect(page.locator("svg.chart-funnel text.funnel-figure").first).to_have_text(str(DAYS))  # day n: n + 1 people
    expect(bars).to_have_count(1)
    drawn = page.evaluate(OUTSIDE)
    assert drawn["scrollWidth"] <= SIZES[page.viewport_name]["width"], drawn
    screenshot("one-day")

    # A range that is not one: said next to its field, and the page still fits.
    start = (today + timedelta(days=3)).isoformat()
    page.get_by_label("From", exact=True).fill(start)
    page.get_by_role("button", name="Show").click()
    # Measured once the answer has loaded, as the one-day range is. One loaded CI run found this page 386 px wide at
    # the phone's 375, which no run since has repeated: the assertion names what reached past the edge, if it does.
    page.wait_for_url(re.compile(rf"\?start={start}&end={seeded.last.isoformat()}$"))
    expect(page.get_by_role("alert")).to_contain_text("The last day is before the first.")
    expect(page.get_by_label("To", exact=True)).to_have_attribute("aria-invalid", "true")
    drawn = page.evaluate(OUTSIDE)
    assert drawn["scrollWidth"] <= SIZES[page.viewport_name]["width"], drawn
    assert errors == []
