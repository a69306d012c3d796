"""The plan page's HTML (in-process): the drawing of each day's route without map tiles; with tiles configured,
Leaflet (our own static copy from django-leaflet) and the route's points for it; someone else's plan is a 404."""

import json
from datetime import datetime

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from apps.itineraries import selectors, services
from apps.itineraries.tests.factories import at, event, person, weekend
from apps.recommendations.tests.factories import BERLIN_ZONE
from conftest import reference_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def planned(clock):  # type: ignore[no-untyped-def]
    event("Jazz brunch", start=at(0, 11))
    event("Evening concert", start=at(0, 19))
    someone = person(interests=["music"], budget=50)
    itinerary = services.itinerary_create(
        owner=someone, ask=selectors.ask_for(user=someone, values={"weekend": weekend()}, now=reference_now())
    )
    client = Client()
    client.force_login(someone)
    return client, itinerary


def test_without_tiles_each_day_is_a_plain_drawing(planned) -> None:
    client, itinerary = planned
    page = client.get(f"/weekend/plan/{itinerary.pk}/").content.decode()
    assert page.count('class="route-drawing"') == 1
    assert "leaflet.js" not in page
    assert "data-tiles" not in page


@override_settings(MAP_TILES_URL="https://{s}.tiles.example.org/{z}/{x}/{y}.png", MAP_TILES_ATTRIBUTION="© Example")
def test_with_tiles_the_page_loads_leaflet_and_the_route(planned) -> None:
    client, itinerary = planned
    response = client.get(f"/weekend/plan/{itinerary.pk}/")
    page = response.content.decode()
    assert "/static/leaflet/leaflet.js" in page
    assert "/static/js/route-map.js" in page
    assert 'data-tiles="https://{s}.tiles.example.org/{z}/{x}/{y}.png"' in page
    points = json.loads(response.context["days"][0].map_points)
    assert points[0][2] == "Home"
    assert [p[2] for p in points[1:]] == [s.event.title for s in itinerary.stops.order_by("position")]


def test_someone_elses_plan_is_a_404(planned) -> None:
    _, itinerary = planned
    other = Client()
    other.force_login(person())
    assert other.get(f"/weekend/plan/{itinerary.pk}/").status_code == 404
    assert other.post(f"/weekend/plan/{itinerary.pk}/accept/").status_code == 404
    assert other.post(f"/weekend/plan/{itinerary.pk}/replan/").status_code == 404
    stop = itinerary.stops.first()
    assert other.post(f"/weekend/plan/{itinerary.pk}/stops/{stop.pk}/remove/").status_code == 404
    assert itinerary.stops.filter(pk=stop.pk).exists()


@pytest.mark.parametrize(
    ("moment", "which", "lands_on"),
    [
        (datetime(2026, 6, 17, 12, 0, tzinfo=BERLIN_ZONE), "this", "/weekend/"),  # a Wednesday: the coming weekend
        (datetime(2026, 6, 21, 2, 0, tzinfo=BERLIN_ZONE), "next", "/weekend/?weekend=next"),  # its Sunday night
    ],
)
def test_accepting_a_plan_lands_on_the_weekend_it_is_for(clock, moment, which, lands_on) -> None:  # type: ignore[no-untyped-def]
    clock.move_to(moment)
    assert weekend() == which
    event("Jazz brunch", start=at(0, 11))
    someone = person(interests=["music"], budget=50)
    itinerary = services.itinerary_create(
        owner=someone, ask=selectors.ask_for(user=someone, values={"weekend": which}, now=timezone.now())
    )
    client = Client()
    client.force_login(someone)
    response = client.post(f"/weekend/plan/{itinerary.pk}/accept/")
    assert (response.status_code, response["Location"]) == (302, lands_on)
