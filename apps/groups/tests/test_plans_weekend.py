""" "Plan our weekend" for a group: the stops fall in every sharing member's free time, are scored for all of them
and start from the group's meeting point; another person's group is a 404."""

import pytest
from django.utils import timezone

from apps.groups.models import Membership
from apps.groups.services import weekend as services
from apps.groups.tests.poll_factories import make_group
from apps.itineraries.tests.factories import at, busy, event, person, place, weekend
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MEETING = (52.5200, 13.4050)


@pytest.fixture
def trio():
    ana = person(interests=["music"], budget=100)
    ben = person(interests=["markets"], budget=100)
    cem = person(interests=["film"], budget=100)
    group = make_group(ana, ben, cem)
    group.meeting_point, (group.meeting_lat, group.meeting_lon) = "Alexanderplatz", MEETING
    group.save()
    return group, ana, ben, cem


@pytest.fixture
def catalogue():
    east = place("east", lat=52.5130, lon=13.4550)
    return {
        "brunch": event("Jazz brunch", start=at(0, 11), category="music"),
        "market": event("Flea market", start=at(0, 15), category="markets", venue=east),
        "film": event("Sunday film", start=at(1, 16), category="film", is_free=True, price_min=None),
        "concert": event("Evening concert", start=at(1, 19), category="music", venue=east),
    }


def _titles(itinerary):
    return {stop.event.title for stop in itinerary.stops.select_related("event")}


# The tests below plan `weekend()` (the reference week's, from TEST_NOW) as of `timezone.now()`: the `clock` fixture
# they name holds both at TEST_NOW.


def test_the_plan_avoids_every_members_busy_time_and_starts_at_the_meeting_point(trio, catalogue, clock):
    group, ana, ben, cem = trio
    busy(ben, 0, 10, minutes=180, title="Ben's dentist")  # Saturday 10:00-13:00: the brunch is out for all
    busy(cem, 1, 18, minutes=240, title="Cem's shift")  # Sunday 18:00-22:00: so is the concert
    itinerary = services.group_weekend_plan(group=group, by=ana, weekend=weekend(), now=timezone.now())
    titles = _titles(itinerary)
    assert titles
    assert "Jazz brunch" not in titles
    assert "Evening concert" not in titles
    assert titles <= {"Flea market", "Sunday film"}
    assert itinerary.owner == ana
    assert tuple(itinerary.request["origin"]) == MEETING
    for stop in itinerary.stops.all():
        assert stop.reasons[0].startswith("Suits ")
        assert stop.reasons[0].endswith("of the 3 of you")


def test_a_member_who_paused_sharing_does_not_block_the_others(trio, catalogue, clock):
    group, ana, ben, _ = trio
    busy(ben, 0, 10, minutes=180)
    Membership.objects.filter(group=group, user=ben).update(sharing_paused=True)
    itinerary = services.group_weekend_plan(group=group, by=ana, weekend=weekend(), now=timezone.now())
    assert "Jazz brunch" in _titles(itinerary)  # Ana likes music, and Ben's morning no longer counts
    assert all(stop.reasons[0].endswith("of the 2 of you") for stop in itinerary.stops.all())


def test_without_a_meeting_point_the_askers_home_is_the_start_and_without_either_it_is_a_400(
    trio, catalogue, client_for, clock
):
    group, ana, *_ = trio
    group.meeting_point, group.meeting_lat, group.meeting_lon = "", None, None
    group.save()
    itinerary = services.group_weekend_plan(group=group, by=ana, weekend=weekend(), now=timezone.now())
    assert tuple(itinerary.request["origin"]) == (ana.profile.home_lat, ana.profile.home_lon)
    ana.profile.home_lat = ana.profile.home_lon = None
    ana.profile.save()
    response = client_for(ana).post(f"/api/v1/groups/{group.pk}/weekend", {"weekend": weekend()}, format="json")
    assert response.status_code == 400
    assert "meeting_point" in response.json()["error"]["fields"]


def test_the_api_answers_members_with_the_draft_and_others_with_404(trio, catalogue, client_for, api_client):
    group, ana, ben, _ = trio
    url = f"/api/v1/groups/{group.pk}/weekend"
    response = client_for(ben).post(url, {"weekend": weekend()}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["url"] == f"/api/v1/itineraries/{body['itinerary_id']}"
    assert body["meeting_point"] == list(MEETING)
    assert {stop["title"] for stop in body["stops"]} <= {e.title for e in catalogue.values()}
    assert client_for(ben).get(body["url"]).status_code == 200
    assert client_for(ana).get(body["url"]).status_code == 404  # the asker's draft
    assert client_for(UserFactory()).post(url, {}, format="json").status_code == 404
    assert api_client.post(url, {}, format="json").status_code == 401
    bad = client_for(ana).post(url, {"weekend": "last"}, format="json")
    assert bad.status_code == 400
    assert "weekend" in bad.json()["error"]["fields"]
