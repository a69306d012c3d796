""" "Plan our weekend" from the group page: a member's click plans the group's itinerary and opens it; without a
meeting point or a home the page says what is missing; someone outside the group gets a 404."""

import pytest
from django.urls import reverse

from apps.groups.tests.poll_factories import make_group
from apps.itineraries.models import Itinerary
from apps.itineraries.tests.factories import at, event, person, weekend

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    ana = person(interests=["music"], budget=100)
    ben = person(interests=["markets"], budget=100)
    group = make_group(ana, ben)
    group.meeting_point, group.meeting_lat, group.meeting_lon = "Alexanderplatz", 52.52, 13.405
    group.save()
    event("Jazz brunch", start=at(0, 11), category="music")
    event("Flea market", start=at(0, 15), category="markets")
    return group, ana, ben


def test_a_member_plans_the_groups_weekend_and_lands_on_the_itinerary(client, pair) -> None:
    group, _, ben = pair
    client.force_login(ben)
    page = client.get(reverse("group", args=[group.pk]))
    assert "Plan our weekend" in page.content.decode()
    answer = client.post(reverse("group-weekend-plan", args=[group.pk]), {"weekend": weekend()})
    itinerary = Itinerary.objects.get(owner=ben)
    assert answer.status_code == 302
    assert answer["Location"] == reverse("itinerary", args=[itinerary.pk])
    assert tuple(itinerary.request["origin"]) == (52.52, 13.405)
    assert itinerary.stops.exists()


def test_without_a_meeting_point_or_a_home_the_page_says_what_is_missing(client, pair) -> None:
    group, ana, _ = pair
    group.meeting_point, group.meeting_lat, group.meeting_lon = "", None, None
    group.save()
    ana.profile.home_lat = ana.profile.home_lon = None
    ana.profile.save()
    client.force_login(ana)
    answer = client.post(reverse("group-weekend-plan", args=[group.pk]), {"weekend": weekend()}, follow=True)
    assert answer.status_code == 200
    assert "meeting point" in answer.content.decode()
    assert not Itinerary.objects.filter(owner=ana).exists()


def test_someone_outside_the_group_gets_a_404_and_nothing_is_planned(client, pair) -> None:
    group, _, _ = pair
    stranger = person(interests=["music"])
    client.force_login(stranger)
    assert client.post(reverse("group-weekend-plan", args=[group.pk]), {"weekend": "this"}).status_code == 404
    assert client.get(reverse("group-weekend-plan", args=[group.pk])).status_code in {404, 405}
    assert not Itinerary.objects.exists()
