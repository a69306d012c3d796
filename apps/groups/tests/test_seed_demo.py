"""`manage.py seed_groups_demo` (make run) on PostgreSQL: the demo account's group with two friends whose weekend
plans make busy hours on the group's availability; a second run changes nothing. The embedded default (SQLite)
runs it in tests/test_embedded_default.py."""

from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.calendars.models import Plan
from apps.core.time import weekend_window
from apps.groups.models import Group, Role
from apps.groups.selectors.availability import availability
from apps.users.models import User

pytestmark = pytest.mark.django_db


def _run() -> str:
    out = StringIO()
    call_command("seed_groups_demo", stdout=out)
    return out.getvalue()


def test_needs_the_demo_account() -> None:
    with pytest.raises(CommandError, match="create_demo_account"):
        _run()


def test_seeds_a_group_whose_weekend_has_busy_hours_once(clock: time_machine.Traveller) -> None:
    call_command("create_demo_account", stdout=StringIO())
    assert "Weekend crew with Alex, Sam" in _run()
    group = Group.objects.get(name="Weekend crew")
    roles = dict(group.memberships.values_list("user__email", "role"))
    assert roles == {
        "demo@weekendplanner.test": Role.OWNER,
        "alex@weekendplanner.test": Role.MEMBER,
        "sam@weekendplanner.test": Role.MEMBER,
    }
    assert not User.objects.get(email="sam@weekendplanner.test").has_usable_password()
    start, end = weekend_window("this", "Europe/Berlin", now=timezone.now())
    windows = availability(group=group, start=start, end=end, min_minutes=60)
    assert len(windows[0].free) == 3  # everyone free at some point
    assert any(len(window.free) == 2 for window in windows)  # and a friend busy at another (travel included)

    assert _run() == "Demo group: already there.\n"
    assert Group.objects.count() == 1
    assert Plan.objects.filter(calendar__owner__email__endswith="@weekendplanner.test").count() == 4
