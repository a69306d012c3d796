"""`manage.py seed_recommendations_demo` (make run) on PostgreSQL: the demo account's profile and history, a simulated
population over the weekends before today, a model; a second run changes nothing. The embedded default (SQLite)
runs it in tests/test_embedded_default.py."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.analytics.models import TrackedEvent
from apps.events.models import Event
from apps.recommendations.models import ModelVersion
from apps.users.models import User

# The dates here (weekends, sync ages, the demo catalogue) come from the frozen clock: conftest's clock fixture.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def _run(*args: str) -> str:
    out = StringIO()
    call_command("seed_recommendations_demo", *args, stdout=out)
    return out.getvalue()


def test_needs_the_demo_account() -> None:
    with pytest.raises(CommandError, match="create_demo_account"):
        _run()


def test_seeds_the_demo_once() -> None:
    call_command("create_demo_account", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    first = _run("--people", "8")
    demo = User.objects.get(email="demo@weekendplanner.test")
    profile = demo.profile
    assert (profile.home_lat, profile.home_lon, profile.timezone) == (52.52, 13.405, "Europe/Berlin")
    assert profile.interests == ["music", "food-drink", "markets"]
    mine = TrackedEvent.objects.filter(user_id=demo.pk, type__in=["click", "save"])
    assert mine.count() == 8, first
    looked_at = [int(pk) for pk in mine.values_list("object_id", flat=True)]
    categories = set(Event.objects.filter(pk__in=looked_at).values_list("category", flat=True))
    assert categories <= {"music", "food-drink", "markets"}
    assert "Simulated population: 8 people" in first
    assert User.objects.filter(email__startswith="sim-").count() == 8
    assert ModelVersion.objects.count() == 1, first

    counts = (TrackedEvent.objects.count(), Event.objects.count(), User.objects.count())
    again = _run("--people", "8")
    assert again.count("already") == 4, again
    assert (TrackedEvent.objects.count(), Event.objects.count(), User.objects.count()) == counts
    assert ModelVersion.objects.count() == 1
