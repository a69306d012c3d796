"""Every ranker's list respects the exclusions: the window, the distance, merged duplicates, cancelled events,
what is on the person's calendars and what they dismissed."""

from datetime import timedelta

import pytest

from apps.calendars import services as calendar_services
from apps.calendars.models import Calendar
from apps.core.geo import LatLon
from apps.core.time import weekend_window
from apps.events.models import EventStatus
from apps.recommendations import rankers, services
from apps.recommendations.tests.factories import event, person, place, weekend_moment

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():  # type: ignore[no-untyped-def]
    """Events of the reference weekend around a person's home in central Berlin, each kept or left out for one
    reason; returns (person, events to be listed, events left out by reason)."""
    someone = person(max_distance_km=10, interests=["music"])
    far_away = place("potsdam", lat=52.3906, lon=13.0645)  # about 25 km
    kept = [event(f"Kept {n}", start=weekend_moment() + timedelta(hours=n)) for n in range(3)]
    canonical = kept[0]
    left_out = {
        "far": event("Too far", venue=far_away),
        "before": event("Last weekend", start=weekend_moment() - timedelta(days=7)),
        "after": event("Next weekend", start=weekend_moment() + timedelta(days=7)),
        "cancelled": event("Called off", status=EventStatus.CANCELLED),
        "duplicate": event("Same concert elsewhere", canonical=canonical),
        "on_calendar": event("Already planned"),
        "dismissed": event("Not for me"),
    }
    calendar = Calendar.objects.get(owner=someone, is_default=True)
    calendar_services.plan_from_event(calendar=calendar, event=left_out["on_calendar"])
    services.feedback_record(user=someone, event_id=left_out["dismissed"].pk, action="dismiss")
    return someone, kept, left_out


@pytest.mark.parametrize("ranker", ["popularity", "content", "learned"])
def test_every_ranker_lists_only_the_candidates(catalogue, ranker) -> None:  # type: ignore[no-untyped-def]
    someone, kept, _ = catalogue
    start, end = weekend_window("this", "Europe/Berlin", now=weekend_moment() - timedelta(days=3))
    served = services.recommendations_serve(user=someone, start=start, end=end, tz="Europe/Berlin", ranker=ranker)
    assert {item.event.pk for item in served.results} == {e.pk for e in kept}
    assert [item.rank for item in served.results] == [1, 2, 3]


def test_the_rankers_are_registered_by_name() -> None:
    assert rankers.names() == ["content", "learned", "popularity"]


def test_a_dismissed_event_never_comes_back_even_after_more_like_this(catalogue) -> None:  # type: ignore[no-untyped-def]
    someone, _, left_out = catalogue
    services.feedback_record(user=someone, event_id=left_out["dismissed"].pk, action="more_like_this")
    start, end = weekend_window("this", "Europe/Berlin", now=weekend_moment() - timedelta(days=3))
    served = services.recommendations_serve(user=someone, start=start, end=end, tz="Europe/Berlin")
    assert left_out["dismissed"].pk not in {item.event.pk for item in served.results}


def test_near_replaces_the_home_and_anonymous_callers_get_popularity(catalogue) -> None:  # type: ignore[no-untyped-def]
    _, _, left_out = catalogue
    start, end = weekend_window("this", "Europe/Berlin", now=weekend_moment() - timedelta(days=3))
    potsdam = place("potsdam")
    served = services.recommendations_serve(
        user=None, start=start, end=end, near=LatLon(potsdam.lat, potsdam.lon), tz="Europe/Berlin"
    )
    assert served.ranker == "popularity"
    assert [item.event.pk for item in served.results] == [left_out["far"].pk]


def test_a_change_to_the_catalogue_shows_in_the_very_next_list(catalogue) -> None:  # type: ignore[no-untyped-def]
    someone, kept, _ = catalogue
    start, end = weekend_window("this", "Europe/Berlin", now=weekend_moment() - timedelta(days=3))
    first = services.recommendations_serve(user=someone, start=start, end=end, tz="Europe/Berlin")
    assert kept[1].pk in {item.event.pk for item in first.results}
    kept[1].status = EventStatus.CANCELLED
    kept[1].save()
    added = event("Announced today")
    second = services.recommendations_serve(user=someone, start=start, end=end, tz="Europe/Berlin")
    assert {item.event.pk for item in second.results} == {kept[0].pk, kept[2].pk, added.pk}


def test_a_window_beyond_the_in_memory_horizon_is_read_from_the_database(catalogue) -> None:  # type: ignore[no-untyped-def]
    someone, _, _ = catalogue
    far_saturday = weekend_moment() + timedelta(weeks=10)
    later = event("In the autumn", start=far_saturday)
    event("Too far, in the autumn", start=far_saturday, venue=place("potsdam"))
    start, end = weekend_window("this", "Europe/Berlin", now=far_saturday - timedelta(days=3))
    served = services.recommendations_serve(user=someone, start=start, end=end, tz="Europe/Berlin")
    assert [item.event.pk for item in served.results] == [later.pk]
    assert served.results[0].event.distance_km == 0.0
