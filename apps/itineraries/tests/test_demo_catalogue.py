"""The product path on PostgreSQL with the demo catalogue (`seed_demo`, a few hundred events a weekend at Berlin's
real venues): whatever the solver picks, the stops keep the day's hours, the travel between places with the
pace's slack, clear of the person's own plan and within the budget; a must-include that clashes with the plan is
reported; accepting refuses a fresh clash and creates nothing; a replan keeps the pinned stop."""

import io
import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from apps.calendars.models import Plan
from apps.core import geo
from apps.core.geo import LatLon
from apps.events.models import Event
from apps.itineraries import selectors, services
from apps.itineraries.models import Stop
from apps.itineraries.tests.factories import at, busy, person, saturday, weekend
from apps.recommendations.tests.factories import BERLIN_ZONE
from conftest import reference_now

pytestmark = pytest.mark.django_db

GAP = 15  # the balanced pace's slack between stops


def _minutes(a: LatLon, b: LatLon) -> float:
    return geo.cached_travel_time(a, b, "bike").seconds / 60


def _place(stop: Stop) -> LatLon:
    return LatLon(stop.event.lat, stop.event.lon)  # type: ignore[arg-type]


def test_the_demo_weekend_plans_within_every_rule(clock) -> None:  # type: ignore[no-untyped-def]
    call_command("seed_demo", date=saturday(), stdout=io.StringIO())  # the weekend the factories plan
    someone = person(interests=["music", "markets", "food-drink"], budget=60, travel_mode="bike")
    plan_place = LatLon(52.5075, 13.4537)  # Astra Kulturhaus, Friedrichshain
    own = busy(someone, 0, 15, minutes=120, title="Coffee with Ana", lat=plan_place.lat, lon=plan_place.lon)
    clashing = Event.objects.filter(
        canonical__isnull=True, start_utc__gte=own.start_utc, start_utc__lt=own.end_utc, lat__isnull=False
    ).first()
    assert clashing is not None, "the demo catalogue has events on Saturday afternoon"
    ask = selectors.ask_for(
        user=someone, values={"weekend": weekend(), "must_include": [clashing.pk]}, now=reference_now()
    )
    itinerary = services.itinerary_create(owner=someone, ask=ask)

    assert [item["event_id"] for item in itinerary.left_out] == [clashing.pk]
    stops = list(itinerary.stops.select_related("event").order_by("day", "position"))
    assert len(stops) >= 4, "two free days in a city of events"
    assert itinerary.total_price <= Decimal(60)
    days = {day: [s for s in stops if s.day == day] for day in {s.day for s in stops}}
    for day, today in days.items():
        index = (day - saturday()).days
        assert len(today) <= 4
        assert today[0].start >= at(index, 10)
        assert today[-1].end <= at(index, 23)
        for before, after in itertools.pairwise(today):
            assert (after.start - before.end).total_seconds() / 60 >= _minutes(_place(before), _place(after)) + GAP - 1
        for stop in today:
            if stop.end <= own.start_utc:
                assert (own.start_utc - stop.end).total_seconds() / 60 >= _minutes(_place(stop), plan_place) + GAP - 1
            else:
                gap = timedelta(minutes=_minutes(plan_place, _place(stop)) + GAP - 1)
                assert stop.start >= own.end_utc + gap

    # Replan keeps a pinned stop; a clash that appeared meanwhile makes accepting refuse, and nothing is created.
    pinned = stops[0]
    services.stop_pin(stop=pinned, pinned=True)
    services.itinerary_replan(itinerary=itinerary)
    kept = itinerary.stops.get(event=pinned.event)
    assert (kept.start, kept.end, kept.pinned) == (pinned.start, pinned.end, True)
    local = kept.start.astimezone(BERLIN_ZONE)
    busy(someone, (kept.day - saturday()).days, local.hour, local.minute, minutes=10, title="Surprise")
    plans = Plan.objects.count()
    with pytest.raises(services.AcceptConflict):
        services.itinerary_accept(itinerary=itinerary)
    assert Plan.objects.count() == plans
    assert not itinerary.stops.filter(plan__isnull=False).exists()
