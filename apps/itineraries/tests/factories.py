"""Builders for itinerary tests: moments of the suite's weekend in Berlin, catalogue events and people (from the
recommendation tests' builders), and plans already on a person's calendar."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from django.utils import timezone

from apps.calendars import services as calendar_services
from apps.calendars.models import Plan
from apps.calendars.tests.factories import PlanFactory
from apps.core.time import weekend_window
from apps.recommendations.tests.factories import BERLIN, BERLIN_ZONE, event, person, place
from apps.users.models import User

__all__ = ["BERLIN", "at", "busy", "event", "person", "place", "saturday", "weekend"]


def weekend() -> Literal["this", "next"]:
    """The first weekend wholly ahead by the suite's clock: this one, or the next when this one is under way (at
    some of the moments `make test-dates` replays, Saturday is nearly over)."""
    start, _ = weekend_window("this", "Europe/Berlin", now=timezone.now())
    return "this" if start > timezone.now() else "next"


def saturday() -> date:
    """The Saturday of `weekend()`."""
    start, _ = weekend_window(weekend(), "Europe/Berlin", now=timezone.now())
    return start.astimezone(BERLIN_ZONE).date()


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """`day` 0 (Saturday) or 1 (Sunday) of that weekend, at a Berlin wall-clock time, in UTC."""
    local = datetime.combine(saturday() + timedelta(days=day), time(hour, minute), tzinfo=BERLIN_ZONE)
    return local.astimezone(UTC)


def busy(user: User, day: int, hour: int, minute: int = 0, *, minutes: int = 60, **fields: Any) -> Plan:
    """A plan of the person's own on their default calendar (a place given as lat/lon)."""
    calendar = calendar_services.calendar_ensure_default(owner=user)
    local = datetime.combine(saturday() + timedelta(days=day), time(hour, minute))
    plan: Plan = PlanFactory(calendar=calendar, start=local, minutes=minutes, **fields)
    return plan
