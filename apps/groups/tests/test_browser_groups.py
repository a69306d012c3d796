"""Groups in real headless Chromium: Ada creates a group and an invitation link; Bo, in a second browser, opens
the link, logs in, comes back to it and joins; Ada proposes a poll from the best windows; both vote (Ada's card
shows Bo's vote without a reload); Ada closes the poll; both accept the plan, and it is on Bo's My weekend.

Runs once at a phone width and once at a desktop width (the `page` fixture); screenshots of each step go to
test-results/screenshots/.
"""

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.calendars.models import Calendar, Plan
from apps.groups.models import Answer, Attendance, GroupPlan, Invite, Membership, Poll
from apps.users.models import Profile, User
from apps.users.tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Screenshot = Callable[[str], Path]
BERLIN = "Europe/Berlin"


def _person(name: str) -> User:
    user: User = UserFactory()
    Profile.objects.filter(user=user).update(display_name=name, timezone=BERLIN)
    Calendar.objects.filter(owner=user).update(timezone=BERLIN)
    return user


def _session_cookie(user: User, live_server: LiveServer) -> dict[str, str]:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            "url": live_server.url}  # fmt: skip


def _vote_yes(page: Page, poll: Poll, label: str) -> None:
    card = page.locator(f"#poll-{poll.pk}")
    card.get_by_role("button", name=f"Yes to {label}").click()
    expect(card.get_by_role("button", name=f"Yes to {label}")).to_have_attribute("aria-pressed", "true")


def _accept(page: Page, plan: GroupPlan) -> None:
    """Accepts the plan on a page that was just loaded at its #plan-N anchor. The click waits for the page's load
    (until then Chromium may scroll to the anchor again, moving the button), and returns once the server has answered
    the POST, so that a lost click fails here, by name, rather than as a page that never changed."""
    page.wait_for_load_state("load")
    answer_url = f"/groups/{plan.group_id}/plans/{plan.pk}/answer/"
    with page.expect_response(lambda response: response.request.method == "POST" and response.url.endswith(answer_url)):
        page.locator(f"#plan-{plan.pk}").get_by_role("button", name=re.compile("^Accept")).click()


def test_create_invite_join_poll_vote_close_accept(
    page: Page, browser: Browser, live_server: LiveServer, screenshot: Screenshot, before_the_weekend: object
) -> None:
    # The poll offers the whole of this weekend's Saturday and Sunday: the clock is on the Wednesday before it.
    ada, bo = _person("Ada"), _person("Bo")
    page.context.add_cookies([_session_cookie(ada, live_server)])

    # Ada creates a group from the Groups page (the main navigation leads there) and makes an invitation link.
    page.goto(f"{live_server.url}/weekend/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Groups").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Groups")
    page.get_by_label("Name").fill("Climbing crew")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Climbing crew")
    page.get_by_role("button", name="Create an invitation link").click()
    expect(page.get_by_role("status")).to_contain_text("A new invitation link is ready")
    link = page.get_by_label("Invitation link 1").input_value()
    invite = Invite.objects.get()
    assert link.endswith(f"/groups/join/{invite.token}/")
    screenshot("1-group")

    # Bo, in a browser of his own, opens the link, logs in and comes back to it, and joins.
    viewport: Any = page.viewport_size
    other = browser.new_context(viewport=viewport)
    other.set_default_timeout(10_000)
    try:
        bo_page = other.new_page()
        bo_page.goto(f"{live_server.url}/groups/join/{invite.token}/")
        expect(bo_page.get_by_role("heading", level=1)).to_have_text("Join “Climbing crew”")
        expect(bo_page.get_by_text("Ada invites you to plan weekends together.")).to_be_visible()
        bo_page.get_by_role("link", name="Log in to join").click()
        bo_page.get_by_label("Email").fill(bo.email)
        bo_page.get_by_label("Password", exact=True).fill(bo.raw_password)  # type: ignore[attr-defined]
        bo_page.get_by_role("main").get_by_role("button", name="Log in").click()
        expect(bo_page).to_have_url(re.compile(rf"/groups/join/{invite.token}/$"))
        bo_page.get_by_role("button", name="Join the group").click()
        expect(bo_page.get_by_role("heading", level=1)).to_have_text("Climbing crew")
        assert Membership.objects.filter(group=invite.group, user=bo).exists()

        # Ada proposes a poll from the two best windows.
        page.reload()
        members = page.get_by_role("region", name="Members", exact=True)
        expect(members).to_contain_text("Bo")
        expect(page.get_by_role("region", name="When we are free")).to_contain_text("Everyone free: Sat 08:00–23:00")
        page.get_by_label("Question").fill("Climb when?")
        page.get_by_label("Everyone free: Sat 08:00–23:00").check()
        page.get_by_label("Everyone free: Sun 08:00–23:00").check()
        page.get_by_role("button", name="Open the poll").click()
        expect(page.get_by_role("status")).to_contain_text("Poll opened")
        poll = Poll.objects.get()
        first = poll.options.all()[0].label
        _vote_yes(page, poll, first)
        screenshot("2-poll")

        # Bo votes; Ada's card shows it without a reload (htmx refreshes it every few seconds).
        bo_page.reload()
        _vote_yes(bo_page, poll, first)
        expect(page.locator(f"#poll-{poll.pk}")).to_contain_text("2 yes · 0 maybe · 0 no", timeout=15_000)
        expect(page.locator(f"#poll-{poll.pk}")).to_contain_text("Yes: Ada, Bo")

        # Ada closes the poll: the winner becomes a group plan; both accept it.
        page.locator(f"#poll-{poll.pk}").get_by_role("button", name=re.compile("^Close the poll")).click()
        expect(page.get_by_role("status")).to_contain_text("Poll closed: “Climb when?” it is.")
        plan = GroupPlan.objects.get()
        _accept(page, plan)
        expect(page.locator(f"#plan-{plan.pk}")).to_contain_text("You are going.")
        screenshot("3-plan")
        bo_page.reload()
        _accept(bo_page, plan)
        expect(bo_page.locator(f"#plan-{plan.pk}")).to_contain_text("You are going.")
        assert set(Attendance.objects.filter(group_plan=plan).values_list("answer", flat=True)) == {Answer.ACCEPTED}

        # The plan is on Bo's My weekend.
        bo_page.get_by_role("navigation", name="Main").get_by_role("link", name="My weekend").click()
        expect(bo_page.get_by_role("link", name="Climb when?").first).to_be_visible()
        assert Plan.objects.filter(calendar__owner=bo, title="Climb when?").count() == 1
        ada_shot = screenshot("4-ada")
        bo_page.screenshot(
            path=str(ada_shot.with_name(ada_shot.name.replace("4-ada", "5-bo-my-weekend"))), full_page=True
        )
    finally:
        other.close()


def test_heat_map_shows_free_hours_in_words_and_night_hours_on_request(
    page: Page, live_server: LiveServer, screenshot: Screenshot
) -> None:
    from apps.calendars.tests.factories import PlanFactory
    from apps.core.time import weekend_window
    from apps.groups.tests.poll_factories import make_group

    ada, bo = _person("Ada"), _person("Bo")
    saturday = weekend_window("this", BERLIN, now=timezone.now())[0].astimezone(ZoneInfo(BERLIN)).replace(tzinfo=None)
    PlanFactory(calendar=bo.calendars.get(is_default=True), title="Dentist", timezone=BERLIN,
                start=saturday.replace(hour=10), minutes=60)  # fmt: skip
    group = make_group(ada, bo)
    page.context.add_cookies([_session_cookie(ada, live_server)])
    page.goto(f"{live_server.url}/groups/{group.pk}/")

    grid = page.get_by_role("table")
    expect(grid.get_by_role("row", name=re.compile(r"^10:00"))).to_contain_text("1 of 2 free")
    expect(grid.get_by_role("row", name=re.compile(r"^11:00"))).to_contain_text("2 of 2 free")
    expect(grid.get_by_role("row", name=re.compile(r"^03:00"))).to_have_count(0)
    expect(page.get_by_text("Dentist")).to_have_count(0)
    # The table fits the phone's width or scrolls inside its own region, never the page.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot("1-heat-map")

    page.get_by_role("link", name="Show night hours (00:00–08:00)").click()
    expect(grid.get_by_role("row", name=re.compile(r"^03:00"))).to_contain_text("2 of 2 free")
    expect(page.get_by_role("link", name="Hide night hours")).to_be_visible()

    # Ada pauses her sharing: she is no longer counted.
    page.get_by_role("button", name="Pause sharing").click()
    expect(page.get_by_role("status")).to_contain_text("Sharing paused")
    expect(grid.get_by_role("row", name=re.compile(r"^11:00"))).to_contain_text("1 of 1 free")
    expect(grid.get_by_role("row", name=re.compile(r"^10:00"))).to_contain_text("0 of 1 free")
    screenshot("2-paused")
