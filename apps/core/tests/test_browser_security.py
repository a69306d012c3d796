"""Swagger UI and the admin, the pages with the most third-party JavaScript, under the Content-Security-Policy
in real headless Chromium.

The `page` fixture fails a test on any policy violation, so each test walks a page's scripts (Swagger UI's
start-up and its requests, the admin's widgets) and checks they still do their job.
"""

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long and unusual passphrase 42"

Screenshot = Callable[[str], Path]


def _log_in(page: Page, live_server: LiveServer, *, email: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    main = page.get_by_role("main")
    main.get_by_label("Email").fill(email)
    main.get_by_label("Password", exact=True).fill(PASSWORD)
    main.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_swagger_ui_renders_and_calls_the_api(page: Page, live_server: LiveServer, screenshot: Screenshot) -> None:
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Weekend Planner API")
    operation = page.locator(
        ".opblock", has=page.locator(".opblock-summary-path", has_text=re.compile(r"^/api/v1/categories$"))
    )
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    expect(operation.locator(".live-responses-table tr.response .response-col_status")).to_have_text("200")
    screenshot("swagger-ui")


@override_settings(STAFF_MFA_REQUIRED=False)
def test_admin_scripts_work(page: Page, live_server: LiveServer, screenshot: Screenshot) -> None:
    users = get_user_model().objects
    staff = users.create_superuser(email="staff@example.test", password=PASSWORD)
    _log_in(page, live_server, email=staff.email)
    page.goto(f"{live_server.url}/admin/")
    expect(page.locator("#site-name")).to_be_visible()

    # The change list's actions (actions.js): ticking "select all" shows how many are selected.
    users.create_user(email="one@example.test", password=PASSWORD)
    users.create_user(email="two@example.test", password=PASSWORD)
    page.goto(f"{live_server.url}/admin/users/user/")
    page.locator("#action-toggle").check()
    expect(page.locator(".action-counter")).to_contain_text("3 of 3 selected")

    # The add form's date and time shortcuts (DateTimeShortcuts.js) are added by script.
    page.goto(f"{live_server.url}/admin/events/event/add/")
    expect(page.locator(".datetimeshortcuts").first).to_be_visible()
    page.locator(".datetimeshortcuts").first.get_by_role("link", name="Today").click()
    expect(page.locator("input.vDateField").first).not_to_have_value("")
    screenshot("admin")
