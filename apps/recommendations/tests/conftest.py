from collections.abc import Iterator
from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.core.time import weekend_window
from apps.recommendations import catalogue, selectors
from apps.recommendations.tests.factories import BERLIN_ZONE


@pytest.fixture(autouse=True)
def _fresh_popularity() -> Iterator[None]:
    # Popularity is remembered per process for a few minutes, and the catalogue's copy until it changes (a test's
    # catalogue may have the same version as the last test's): each test starts from its own data.
    selectors.popularity_forget()
    catalogue.forget()
    yield
    selectors.popularity_forget()
    catalogue.forget()


@pytest.fixture(autouse=True)
def _weekend_ahead(clock: time_machine.Traveller | None) -> None:
    """These tests list the weekend under way, with events from Sunday 09:00 to 16:00 in Berlin
    (factories.weekend_moment). From Sunday 06:00 on, too little of that weekend is left to hold them (at a Sunday
    23:00 `TEST_NOW` every list is rightly empty), so the clock goes back to the Saturday morning of the same weekend.
    Lists late on a Sunday have their own test (test_api.py)."""
    if clock is None:
        return
    saturday_start, _ = weekend_window("this", "Europe/Berlin", now=timezone.now())
    saturday = saturday_start.astimezone(BERLIN_ZONE).date()
    sunday_morning = datetime.combine(saturday + timedelta(days=1), time(6), tzinfo=BERLIN_ZONE)
    if timezone.now() >= sunday_morning:
        clock.move_to(datetime.combine(saturday, time(10), tzinfo=BERLIN_ZONE))
