"""An experiment's results page in real headless Chromium, as staff open it from the admin: the figures the
results service computes are the ones on the page, with no script errors (the `page` fixture runs it at a
desktop and a phone size)."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.analytics import formatting, selectors
from apps.analytics.tests.factories import convert, expose, make_experiment, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _staff_session(live_server: LiveServer) -> dict[str, str]:
    client = Client()
    client.force_login(staff_user())
    return {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            "url": live_server.url}  # fmt: skip


def test_staff_read_the_results_the_service_computes(page: Page, live_server: LiveServer) -> None:
    experiment = make_experiment("ranker-v2", status="running")
    variants = expose(experiment, [f"u{n}" for n in range(300)])
    convert([unit for unit, variant in variants.items() if variant == "treatment" and int(unit[1:]) % 3 == 0])
    results = selectors.experiment_results(experiment=experiment)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.context.add_cookies([_staff_session(live_server)])

    page.goto(live_server.url + reverse("admin:analytics_experiment_results", args=["ranker-v2"]))

    expect(page.get_by_role("heading", level=1)).to_contain_text("ranker-v2")
    primary = page.locator("table.results-table").first
    for variant in results.primary.variants:
        expected = formatting.row(variant)
        cells = primary.locator(f'tr[data-variant="{variant.key}"] td')
        expect(cells.nth(1)).to_have_text(expected.units)
        expect(cells.nth(2)).to_have_text(expected.conversions)
        expect(cells.nth(3)).to_have_text(expected.rate)
        expect(cells.nth(7)).to_have_text(expected.p_value)
    assert sum(variant.units for variant in results.primary.variants) == 300
    assert any(variant.conversions for variant in results.primary.variants)
    assert errors == []
