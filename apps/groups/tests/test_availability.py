"""Availability by example: the window rules (pure), then what the selector reads from members' calendars."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache

from apps.calendars import services as calendar_services
from apps.calendars.tests.factories import CalendarFactory, PlanFactory
from apps.core import geo
from apps.groups.availability import Window, windows
from apps.groups.models import Membership
from apps.groups.selectors.availability import MAX_TRAVEL, availability
from apps.groups.tests.factories import GroupFactory, MembershipFactory
from apps.users.tests.factories import UserFactory

SAT = datetime(2026, 12, 5, tzinfo=UTC)  # Saturday 00:00 UTC (01:00 in Berlin)


def at(hour: float) -> datetime:
    return SAT + timedelta(hours=hour)


# --- The pure sweep ------------------------------------------------------------------------------------------


def test_windows_are_maximal_runs_of_one_free_set_in_the_documented_order():
    busy = {1: [(at(10), at(12))], 2: [(at(11), at(14))], 3: []}
    found = windows(busy, start=at(8), end=at(20), min_minutes=60)
    assert found == [
        Window(at(14), at(20), (1, 2, 3), 0),  # everyone: longest first
        Window(at(8), at(10), (1, 2, 3), 0),
        Window(at(12), at(14), (1, 3), 1),  # then fewer free
        Window(at(10), at(11), (2, 3), 1),
        Window(at(11), at(12), (3,), 2),  # exactly 60 minutes: kept
    ]
    shorter = windows(busy, start=at(8), end=at(20), min_minutes=61)
    assert Window(at(11), at(12), (3,), 2) not in shorter
    assert len(shorter) == 3


def test_overlapping_and_touching_intervals_of_one_member_make_no_boundary():
    busy = {1: [(at(9), at(11)), (at(10), at(12)), (at(12), at(13))], 2: []}
    found = windows(busy, start=at(8), end=at(16), min_minutes=30)
    assert found == [
        Window(at(13), at(16), (1, 2), 0),
        Window(at(8), at(9), (1, 2), 0),
        Window(at(9), at(13), (2,), 1),
    ]


def test_nobody_free_is_left_out_and_intervals_are_clipped_to_the_window():
    busy = {1: [(at(-5), at(30))], 2: [(at(0), at(10))]}
    assert windows(busy, start=at(0), end=at(24), min_minutes=1) == [Window(at(10), at(24), (2,), 1)]
    assert windows({}, start=at(0), end=at(24), min_minutes=1) == []


def test_equal_free_counts_and_lengths_order_by_start():
    busy = {1: [(at(2), at(3)), (at(5), at(6))]}
    found = windows(busy, start=at(0), end=at(8), min_minutes=60)
    assert [w.start for w in found] == [at(0), at(3), at(6)]  # 2 h each
    assert [w.end - w.start for w in found] == [timedelta(hours=2)] * 3


# --- From the calendars ---------------------------------------------------------------------------------------


@pytest.fixture
def pair(db):  # type: ignore[no-untyped-def]
    a, b = UserFactory(), UserFactory()
    group = GroupFactory(owner=a)
    MembershipFactory(group=group, user=b)
    return group, a, b


def plan(user, **fields):  # type: ignore[no-untyped-def]
    calendar = calendar_services.calendar_ensure_default(owner=user)
    return PlanFactory(calendar=calendar, **fields)


def test_busy_comes_from_every_calendar_and_cancelled_occurrences_are_free(pair):
    group, a, b = pair
    # Berlin wall clock: Saturday 10:00-12:00 local is 09:00-11:00 UTC.
    weekly = plan(a, start=datetime(2026, 11, 28, 10, 0), minutes=120, rrule="FREQ=WEEKLY;COUNT=4")
    PlanFactory(calendar=CalendarFactory(owner=b), start=datetime(2026, 12, 5, 15, 0), minutes=60, status="tentative")
    found = availability(group=group, start=at(0), end=at(24), min_minutes=30)
    assert Window(at(9), at(11), (b.pk,), 1) in found
    assert Window(at(14), at(15), (a.pk,), 1) in found

    calendar_services.occurrence_change(plan=weekly, recurrence_id="2026-12-05T10:00:00", cancelled=True)
    found = availability(group=group, start=at(0), end=at(24), min_minutes=30)
    assert all(a.pk in w.free for w in found if w.start <= at(9) < w.end)


def test_an_all_day_plan_is_busy_for_its_local_day(pair):
    group, a, _ = pair
    plan(a, all_day=True, start=datetime(2026, 12, 5), days=1, timezone="America/New_York")
    found = availability(group=group, start=at(0), end=at(48), min_minutes=30)
    # 5 December in New York: 05:00 UTC on the 5th to 05:00 UTC on the 6th.
    assert [(w.start, w.end) for w in found if len(w.free) == 1] == [(at(5), at(29))]


def test_a_member_who_paused_sharing_is_neither_free_nor_busy(pair):
    group, a, b = pair
    plan(a, start=datetime(2026, 12, 5, 10, 0), minutes=60)
    Membership.objects.filter(group=group, user=a).update(sharing_paused=True)
    assert availability(group=group, start=at(0), end=at(24), min_minutes=30) == [Window(at(0), at(24), (b.pk,), 0)]


def test_min_minutes_drops_short_windows(pair):
    group, a, _ = pair
    plan(a, start=datetime(2026, 12, 5, 10, 0), minutes=60)  # 09:00-10:00 UTC
    plan(a, start=datetime(2026, 12, 5, 11, 30), minutes=60)  # 10:30-11:30 UTC: a 30-minute gap
    everyone = [w for w in availability(group=group, start=at(0), end=at(24), min_minutes=30) if len(w.free) == 2]
    assert Window(at(10), at(10.5), tuple(sorted(w for w in everyone[0].free)), 0) in everyone
    fewer = availability(group=group, start=at(0), end=at(24), min_minutes=31)
    assert all(w.end - w.start >= timedelta(minutes=31) for w in fewer)
    assert not any(w.start == at(10) for w in fewer)


def test_travel_from_the_meeting_point_or_home_widens_a_placed_plan(pair):
    group, a, _ = pair
    meeting, place = geo.LatLon(52.52, 13.40), geo.LatLon(52.40, 13.06)
    profile = a.profile
    profile.travel_mode, profile.home_lat, profile.home_lon = "drive", 52.60, 13.50
    profile.save()
    plan(a, start=datetime(2026, 12, 5, 14, 0), minutes=60, lat=place.lat, lon=place.lon, location="Potsdam")

    def busy_span() -> tuple[datetime, datetime]:
        (window,) = [w for w in availability(group=group, start=at(0), end=at(24), min_minutes=1) if len(w.free) == 1]
        return window.start, window.end

    there = geo.estimate_travel_time(geo.LatLon(52.60, 13.50), place, "drive").seconds
    back = geo.estimate_travel_time(place, geo.LatLon(52.60, 13.50), "drive").seconds
    assert busy_span() == (at(13) - timedelta(seconds=there), at(14) + timedelta(seconds=back))  # from home

    group.meeting_lat, group.meeting_lon = meeting
    group.save()
    there = geo.estimate_travel_time(meeting, place, "drive").seconds
    back = geo.estimate_travel_time(place, meeting, "drive").seconds
    assert there > 0
    assert busy_span() == (at(13) - timedelta(seconds=there), at(14) + timedelta(seconds=back))  # the group's


def test_travel_is_capped_and_reaches_plans_outside_the_window(pair):
    group, a, _ = pair
    group.meeting_lat, group.meeting_lon = 52.52, 13.40  # Berlin
    group.save()
    # A plan in New York that ends just before the window: the trip back still keeps its member busy, MAX_TRAVEL.
    plan(a, start=datetime(2026, 12, 4, 18, 0), minutes=60, timezone="America/New_York", lat=40.71, lon=-74.0)
    ends = datetime(2026, 12, 5, 0, 0, tzinfo=UTC)  # 19:00 New York
    found = availability(group=group, start=ends, end=ends + timedelta(days=1), min_minutes=1)
    assert [(w.start, w.end) for w in found if len(w.free) == 1] == [(ends, ends + MAX_TRAVEL)]


def test_a_plan_without_a_place_or_a_member_without_a_meeting_point_adds_no_travel(pair):
    group, a, _ = pair
    plan(a, start=datetime(2026, 12, 5, 14, 0), minutes=60, lat=52.40, lon=13.06)  # no group point, no home
    plan(a, start=datetime(2026, 12, 5, 18, 0), minutes=60)
    found = availability(group=group, start=at(0), end=at(24), min_minutes=1)
    assert sorted((w.start, w.end) for w in found if len(w.free) == 1) == [(at(13), at(14)), (at(17), at(18))]


def test_a_bigger_group_orders_most_free_first(db):
    people = [UserFactory() for _ in range(4)]
    group = GroupFactory(owner=people[0])
    for person in people[1:]:
        MembershipFactory(group=group, user=person)
    for index, person in enumerate(people[:3]):
        plan(person, start=datetime(2026, 12, 5, 10 + index, 0), minutes=60)
    found = availability(group=group, start=at(0), end=at(24), min_minutes=60)
    counts = [len(w.free) for w in found]
    assert counts == sorted(counts, reverse=True)
    assert found[0].free == tuple(sorted(p.pk for p in people))
    assert all(w.busy_count == 4 - len(w.free) for w in found)


def test_the_busy_cache_follows_every_change(pair):
    """Each change below alters the answer; a cached answer must never outlive it (compared with a fresh one)."""
    group, a, b = pair

    def check() -> list[Window]:
        served = availability(group=group, start=at(0), end=at(24), min_minutes=1)
        cache.clear()
        fresh = availability(group=group, start=at(0), end=at(24), min_minutes=1)
        assert served == fresh
        return served

    answers = [check()]
    weekly = plan(a, start=datetime(2026, 11, 28, 10, 0), minutes=120, rrule="FREQ=WEEKLY;COUNT=4")
    answers.append(check())
    calendar_services.occurrence_change(plan=weekly, recurrence_id="2026-12-05T10:00:00",
                                        changes={"start_local": datetime(2026, 12, 5, 12, 0),
                                                 "end_local": datetime(2026, 12, 5, 13, 0)})  # fmt: skip
    answers.append(check())
    calendar_services.occurrence_change(plan=weekly, recurrence_id="2026-12-05T10:00:00", cancelled=True)
    answers.append(check())
    single = plan(b, start=datetime(2026, 12, 5, 15, 0), minutes=60, lat=52.40, lon=13.06)
    answers.append(check())
    profile = b.profile
    profile.home_lat, profile.home_lon = 52.52, 13.40
    profile.save()
    answers.append(check())  # travel from home now
    profile.travel_mode = "walk"
    profile.save()
    answers.append(check())
    group.meeting_lat, group.meeting_lon = 52.45, 13.30
    group.save()
    answers.append(check())
    calendar_services.plan_delete(plan=single)
    answers.append(check())
    Membership.objects.filter(group=group, user=a).update(sharing_paused=True)
    answers.append(check())
    assert all(before != after for before, after in itertools.pairwise(answers))


def test_after_one_members_change_only_their_plans_are_read_again(pair, monkeypatch):
    """The cache is per member: the others' busy intervals are served from it, and the answer equals a fresh one."""
    from apps.groups.selectors import availability as selector

    group, a, b = pair
    plan(a, start=datetime(2026, 12, 5, 10, 0), minutes=60)
    plan(b, start=datetime(2026, 12, 5, 14, 0), minutes=60)
    cache.clear()
    availability(group=group, start=at(0), end=at(24), min_minutes=1)
    read_for: list[set[int]] = []
    read = selector._occurrences

    def spy(calendars, start, end):  # type: ignore[no-untyped-def]
        read_for.append(set(calendars.values()))
        return read(calendars, start, end)

    monkeypatch.setattr(selector, "_occurrences", spy)
    availability(group=group, start=at(0), end=at(24), min_minutes=1)
    assert read_for == []  # nothing changed: nobody read
    moved = plan(b, start=datetime(2026, 12, 5, 18, 0), minutes=60)
    served = availability(group=group, start=at(0), end=at(24), min_minutes=1)
    assert read_for == [{b.pk}]
    calendar_services.plan_delete(plan=moved)
    cache.clear()
    plan(b, start=datetime(2026, 12, 5, 18, 0), minutes=60)
    assert served == availability(group=group, start=at(0), end=at(24), min_minutes=1)  # every member read afresh
    assert read_for[-1] == {a.pk, b.pk}
