"""Every page through axe-core in real headless Chromium, at a phone and a desktop width (the `page` fixture): no
serious or critical violation of WCAG 2.1 A and AA.

axe-core comes from npm, pinned in tests/accessibility/package-lock.json and installed by `make browser-deps`; the
test reads it from disk and runs it in the page through Playwright's evaluate (DevTools, not a script element, so
the Content-Security-Policy stays whole). Nothing is fetched at run time.
"""

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from apps.analytics.tests.factories import make_experiment, staff_user
from apps.analytics.tests.kpi_data import seed_two_weeks
from apps.calendars.models import Plan
from apps.calendars.tests.factories import PlanFactory
from apps.events.models import Event
from apps.itineraries.tests.factories import person, weekend
from apps.users.tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = {"serious", "critical"}

ANONYMOUS_PAGES = ["/", "/discover/", "/discover/?weekend=next&category=music", "/events/{event}/", "/accounts/login/",
                   "/accounts/signup/", "/accounts/password/reset/"]  # fmt: skip
SIGNED_IN_PAGES = ["/weekend/", "/weekend/plans/new/", "/weekend/plans/{plan}/edit/", "/weekend/plan/",
                   "/calendars/", "/for-you/",
                   "/profile/", "/profile/delete/", "/discover/"]  # fmt: skip

GROUP_PAGES = ["/groups/", "/groups/{group}/", "/groups/{group}/?night=1&weekend=next", "/groups/join/{token}/"]


def _group_with_everything(owner: Any) -> tuple[int, str]:
    """A group `owner` owns with a second member, an open poll, a group plan and an invitation link."""
    from datetime import timedelta

    from apps.groups.services import groups, invites, plans, polls

    group = groups.group_create(owner=owner, name="Climbing crew")
    other = UserFactory()
    invites.invite_join(token=invites.invite_create(group=group, by=owner).token, user=other)
    start = timezone.now() + timedelta(days=3)
    windows = [{"start": start, "end": start + timedelta(hours=2)}, {"start": start + timedelta(days=1),
               "end": start + timedelta(days=1, hours=2)}]  # fmt: skip
    polls.poll_create(group=group, by=owner, question="Climb when?", options=windows)
    plans.group_plan_create(
        group=group, by=owner, title="Bouldering", start_utc=start, end_utc=start + timedelta(hours=2)
    )
    return group.pk, invites.invite_create(group=group, by=other).token


def _violations(page: Page) -> list[dict[str, Any]]:
    if not AXE.exists():
        pytest.fail(
            f"{AXE} is missing: `make browser-deps` installs axe-core from tests/accessibility/package-lock.json"
        )
    page.evaluate(AXE.read_text())
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    return [v for v in result["violations"] if v["impact"] in FAILING_IMPACTS]


def _describe(path: str, violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = "; ".join(", ".join(node["target"]) for node in v["nodes"][:4])
        lines.append(f"{path}: {v['id']} ({v['impact']}): {v['help']} -> {targets}")
    return "\n".join(lines)


def _scan(page: Page, base: str, paths: list[str], **ids: int) -> str:
    found = []
    for path in paths:
        url = base + path.format(**ids)
        response = page.goto(url)
        assert response is not None, url
        assert response.status == 200, (url, response.status)
        violations = _violations(page)
        if violations:
            found.append(_describe(path, violations))
    return "\n".join(found)


def test_every_page_has_no_serious_or_critical_violation(page: Page, live_server: LiveServer) -> None:
    call_command("seed_demo")
    event = Event.objects.order_by("start_utc").first()
    assert event is not None
    user = UserFactory()
    plan = PlanFactory(calendar=user.calendars.get(is_default=True))
    assert isinstance(plan, Plan)

    problems = _scan(page, live_server.url, ANONYMOUS_PAGES, event=event.pk)
    client = Client()
    client.force_login(user)
    cookie = {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value}
    page.context.add_cookies([{**cookie, "url": live_server.url}])
    problems += "\n" + _scan(page, live_server.url, SIGNED_IN_PAGES, event=event.pk, plan=plan.pk)

    # Groups: my groups, a group with another member, an open poll, a plan and an invitation link, joining by it.
    group, token = _group_with_everything(user)
    problems += "\n" + _scan(page, live_server.url, GROUP_PAGES, group=group, token=token)

    # A weekend plan (itineraries): made from My weekend, as a person with interests and a home does.
    planner = person(interests=["music", "food-drink", "markets"], budget=100, travel_mode="bike")
    client.force_login(planner)
    page.context.add_cookies(
        [{**cookie, "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/weekend/?weekend={weekend()}")
    page.get_by_role("button", name="Plan my weekend").first.click()
    page.wait_for_url(re.compile(r"/weekend/plan/\d+/$"))
    problems += "\n" + _describe(page.url, _violations(page))

    # The page a request gets while the database cannot be reached (apps.core.outage), on the site's styles.
    page.goto(live_server.url)
    page.set_content(render_to_string("503.html"))
    problems += "\n" + _describe("503.html", _violations(page))

    # Staff: an experiment's results page, opened from the admin, and the analytics dashboard with two weeks of KPIs.
    make_experiment("ranker-v2", status="running")
    seed_two_weeks(timezone.now().date(), experiments=False)
    client.force_login(staff_user())
    page.context.add_cookies(
        [{**cookie, "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": live_server.url}]
    )
    staff_pages = [
        reverse("admin:analytics_experiment_results", args=["ranker-v2"]),
        reverse("staff_analytics:dashboard"),
    ]
    problems += "\n" + _scan(page, live_server.url, staff_pages)
    assert not problems.strip(), "axe found serious or critical violations:\n" + problems


def test_axe_finds_what_it_should_on_a_page_made_to_fail(page: Page) -> None:
    """The scan above can fail: an image without a text alternative and a button without a name are found."""
    page.goto("about:blank")
    page.set_content('<html lang="en"><body><main><h1>Bad</h1><img src="data:,"><button></button></main></body></html>')
    assert {"image-alt", "button-name"} <= {v["id"] for v in _violations(page)}


# --- The keyboard alone: Discover, an event, add it to my weekend, My weekend -------------------------------

# The focused element, or the card or chip that draws its focus ring (app.css: .event-card:has(a:focus-visible)).
FOCUS_RING = """() => {
  const element = document.activeElement;
  const ringed = [element, element.closest('.event-card, .choice')].filter(Boolean);
  return ringed.some(node => {
    const style = getComputedStyle(node);
    return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
  });
}"""


def _tab_to(page: Page, selector: str, what: str, *, limit: int = 120) -> None:
    """Presses Tab until the focus is on an element matching `selector`; then its focus must be visible."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            assert page.evaluate(FOCUS_RING), f"{what}: focused without a visible focus ring"
            return
    pytest.fail(f"{what}: not reached with Tab in {limit} presses")


def test_discover_to_my_weekend_with_the_keyboard_alone(
    page: Page, live_server: LiveServer, before_the_weekend: object
) -> None:
    # Discover shows this weekend's demo events: the clock is on the Wednesday before it, so they all lie ahead.
    call_command("seed_demo")
    user = UserFactory()
    client = Client()
    client.force_login(user)
    cookie = {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value}
    page.context.add_cookies([{**cookie, "url": live_server.url}])

    page.goto(f"{live_server.url}/discover/")
    _tab_to(page, ".event-card a", "the first event of Discover")
    title = page.evaluate("() => document.activeElement.textContent.trim()")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/events/*/")
    assert page.get_by_role("heading", level=1).inner_text() == title

    _tab_to(page, "#add-to-weekend button", "Add to my weekend")
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Add to my weekend"
    page.keyboard.press("Enter")
    page.get_by_role("region", name="Your weekend").get_by_role("status").wait_for()

    _tab_to(page, 'a[href="/weekend/"]', "the link to My weekend")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/weekend/")
    assert page.get_by_role("heading", level=1).inner_text() == "My weekend"
    assert page.get_by_role("article", name=title).count() == 1
