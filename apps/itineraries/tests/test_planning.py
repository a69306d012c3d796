"""The product path on PostgreSQL: an itinerary respects the person's plans with the travel to and from them, the
day's hours, the pace and the budget; a must-include that cannot fit is reported; accepting is all or nothing and
refuses a fresh clash; replanning keeps pinned stops; swapping keeps the rest."""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.calendars.models import Plan
from apps.core import geo
from apps.core.geo import LatLon
from apps.itineraries import selectors, services
from apps.itineraries.models import Itinerary, Stop
from apps.itineraries.tests.factories import at, busy, event, person, place, weekend
from apps.recommendations.tests.factories import BERLIN_ZONE

pytestmark = pytest.mark.django_db

FAR = {"lat": 52.5450, "lon": 13.3550}  # about 4.5 km north-west of the centre


@pytest.fixture
def someone():  # type: ignore[no-untyped-def]
    return person(interests=["music", "markets", "film"], budget=60, travel_mode="bike")


@pytest.fixture
def catalogue():  # type: ignore[no-untyped-def]
    north = place("north", lat=FAR["lat"], lon=FAR["lon"])
    east = place("east", lat=52.5130, lon=13.4550)
    return {
        "brunch": event("Jazz brunch", start=at(0, 11), category="music"),
        "talk": event("Gallery talk", start=at(0, 12), end_utc=at(0, 13, 30), category="arts", venue=east),
        "market": event("Flea market", start=at(0, 10), end_utc=at(0, 18), category="markets", venue=north),
        "concert": event("Evening concert", start=at(0, 19), category="music", venue=east),
        "film": event("Sunday film", start=at(1, 16), category="film", is_free=True, price_min=None),
        "opera": event("Gala opera", start=at(1, 19), end_utc=at(1, 22), price_min=Decimal("200.00")),
        "late": event("Late set", start=at(1, 22, 30), category="music"),
    }


def _plan(user, **values):  # type: ignore[no-untyped-def]
    ask = selectors.ask_for(user=user, values={"weekend": weekend(), **values}, now=timezone.now())
    return services.itinerary_create(owner=user, ask=ask)


def _stops(itinerary: Itinerary) -> list[Stop]:
    return list(itinerary.stops.select_related("event").order_by("day", "position"))


def _minutes(a: LatLon, b: LatLon, mode: str) -> float:
    return geo.cached_travel_time(a, b, mode).seconds / 60


def test_stops_fit_the_day_the_plans_the_travel_and_the_budget(someone, catalogue) -> None:
    own = busy(someone, 1, 14, minutes=150, title="Lunch at grandma's", lat=FAR["lat"], lon=FAR["lon"])
    itinerary = _plan(someone)
    stops = _stops(itinerary)
    titles = {stop.event.title for stop in stops}
    assert stops, "a free weekend with events nearby gets a plan"
    assert "Gala opera" not in titles  # 200 EUR against a budget of 60
    assert "Late set" not in titles  # ends after 23:00
    assert not {"Jazz brunch", "Gallery talk"} <= titles  # they overlap
    assert itinerary.total_price <= Decimal(60)
    assert itinerary.total_price == sum(stop.price for stop in stops)
    plan_place = LatLon(FAR["lat"], FAR["lon"])
    for day in {stop.day for stop in stops}:
        today = [stop for stop in stops if stop.day == day]
        assert [stop.position for stop in today] == list(range(1, len(today) + 1))
        assert len(today) <= 4  # a balanced pace
        first = today[0]
        assert first.start >= at((day - at(0, 0).astimezone(BERLIN_ZONE).date()).days, 10)
        for before, after in itertools.pairwise(today):
            place_a, place_b = LatLon(before.event.lat, before.event.lon), LatLon(after.event.lat, after.event.lon)
            gap = (after.start - before.end).total_seconds() / 60
            assert gap >= _minutes(place_a, place_b, "bike") + 15 - 1  # travel plus the pace's slack
        for stop in today:
            assert stop.arrive <= stop.start <= stop.end <= stop.leave
            where = LatLon(stop.event.lat, stop.event.lon)
            # Never during the person's own plan, with the ride between the two places counted.
            if stop.end <= own.start_utc:
                assert (own.start_utc - stop.end).total_seconds() / 60 >= _minutes(where, plan_place, "bike") - 1
            else:
                assert stop.start >= own.end_utc + timedelta(minutes=_minutes(plan_place, where, "bike") - 1)
    assert "Sunday film" not in titles  # 16:00, while the person is at grandma's until 16:30
    market = next((stop for stop in stops if stop.event.title == "Flea market"), None)
    if market is not None:  # a long event is visited for two hours within its opening
        assert market.end - market.start == timedelta(hours=2)
    assert all(stop.reasons for stop in stops)


def test_a_must_include_that_cannot_fit_is_reported_with_the_reason(someone, catalogue) -> None:
    busy(someone, 1, 15, minutes=120, title="Dentist", lat=52.52, lon=13.405)
    itinerary = _plan(someone, must_include=[catalogue["film"].pk, catalogue["opera"].pk, catalogue["concert"].pk])
    reasons = {item["event_id"]: item["reason"] for item in itinerary.left_out}
    assert set(reasons) == {catalogue["film"].pk, catalogue["opera"].pk}
    assert "budget" in reasons[catalogue["opera"].pk]
    assert "fit" in reasons[catalogue["film"].pk]
    placed = _stops(itinerary)
    concert = next(stop for stop in placed if stop.event_id == catalogue["concert"].pk)
    assert concert.reasons[0] == "you asked for it"


def test_accept_is_all_or_nothing_and_refuses_a_fresh_clash(someone, catalogue) -> None:
    itinerary = _plan(someone)
    stops = _stops(itinerary)
    assert len(stops) >= 2
    target = stops[-1]
    local = target.start.astimezone(BERLIN_ZONE)
    day = (target.day - at(0, 0).astimezone(BERLIN_ZONE).date()).days
    surprise = busy(someone, day, local.hour, local.minute, minutes=30, title="Surprise visit")
    plans_before = Plan.objects.count()
    with pytest.raises(services.AcceptConflict) as refused:
        services.itinerary_accept(itinerary=itinerary)
    assert {side.plan_id for c in refused.value.conflicts for side in (c.first, c.second)} >= {surprise.pk}
    assert Plan.objects.count() == plans_before  # no stop was added
    assert not Stop.objects.filter(itinerary=itinerary, plan__isnull=False).exists()
    assert Itinerary.objects.get(pk=itinerary.pk).status == "draft"
    surprise.delete()
    services.itinerary_accept(itinerary=itinerary)
    accepted = _stops(Itinerary.objects.get(pk=itinerary.pk))
    assert all(stop.plan is not None and stop.plan.event_id == stop.event_id for stop in accepted)
    assert [(stop.plan.start_utc, stop.plan.end_utc) for stop in accepted] == [(s.start, s.end) for s in accepted]
    assert Plan.objects.count() == plans_before - 1 + len(accepted)
    assert Itinerary.objects.get(pk=itinerary.pk).status == "accepted"


def test_replan_keeps_pinned_and_accepted_stops(someone, catalogue) -> None:
    itinerary = _plan(someone, pace="relaxed")
    stops = _stops(itinerary)
    assert len(stops) >= 2
    pinned, accepted = stops[0], stops[-1]
    services.stop_pin(stop=pinned, pinned=True)
    services.itinerary_accept(itinerary=itinerary, stop_ids=[accepted.pk])
    catalogue_event = event("A new favourite", start=at(1, 12), category="music")
    services.itinerary_replan(itinerary=itinerary)
    again = {stop.pk: stop for stop in _stops(itinerary)}
    assert again[pinned.pk].start == pinned.start
    assert again[pinned.pk].pinned
    assert again[accepted.pk].plan_id is not None
    assert len({stop.event_id for stop in again.values()}) == len(again)
    assert catalogue_event.pk in {stop.event_id for stop in again.values()}


def test_swap_offers_what_fits_and_keeps_the_other_stops(someone, catalogue) -> None:
    event("Matinee quartet", start=at(0, 15), category="music")
    event("Afternoon choir", start=at(0, 16), category="music")
    itinerary = _plan(someone)
    stops = _stops(itinerary)
    saturday_stops = [stop for stop in stops if stop.day == at(0, 12).astimezone(BERLIN_ZONE).date()]
    stop = saturday_stops[0]
    problem, _ = selectors.swap_problem(stop=stop, now=timezone.now())
    options = selectors.alternatives(problem, day=stop.day)
    assert options
    assert stop.event_id not in {option.event.pk for option in options}
    assert not {option.event.pk for option in options} & {other.event_id for other in stops}
    chosen = options[0].event
    services.stop_swap(stop=stop, event_id=chosen.pk)
    after = _stops(itinerary)
    assert chosen.pk in {s.event_id for s in after}
    assert stop.event_id not in {s.event_id for s in after}
    kept = {(s.event_id, s.start) for s in stops if s.pk != stop.pk}
    assert kept <= {(s.event_id, s.start) for s in after}
    with pytest.raises(services.StopUnavailable):
        services.stop_swap(stop=_stops(itinerary)[0], event_id=catalogue["opera"].pk)  # over budget


def test_removing_a_stop_keeps_its_event_out_of_replans(someone, catalogue) -> None:
    itinerary = _plan(someone)
    gone = _stops(itinerary)[0]
    services.stop_remove(stop=gone)
    assert gone.event_id not in {s.event_id for s in _stops(itinerary)}
    services.itinerary_replan(itinerary=itinerary)
    assert gone.event_id not in {s.event_id for s in _stops(itinerary)}


def test_drafts_expire_after_a_week(someone, catalogue, clock) -> None:
    itinerary = _plan(someone)
    clock.shift(timedelta(days=7, minutes=1))
    assert not selectors.itineraries_of(owner=someone).filter(pk=itinerary.pk).exists()
    assert services.expire_drafts() == 1
    assert services.expire_drafts() == 0
