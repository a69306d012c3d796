"""The conflict engine on plain slots: no database, no network (travel times are given as functions)."""

import ast
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.calendars import conflicts as conflicts_module
from apps.calendars.conflicts import (
    Conflict,
    LatLon,
    Slot,
    SlotIndex,
    conflicts_for_candidate,
    find_conflicts,
    travel_minutes_for,
)
from apps.core import geo

BERLIN = ZoneInfo("Europe/Berlin")
MUSEUM = (52.5169, 13.4019)  # Museum Island
KREUZBERG = (52.4986, 13.4030)
TEMPELHOF = (52.4730, 13.4039)
SATURDAY = date(2025, 6, 7)


def at(hour: int, minute: int = 0, day: date = SATURDAY) -> datetime:
    """A wall-clock time in Berlin on `day`, as an aware UTC datetime (what expansion hands over)."""
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN).astimezone(UTC)


def slot(
    plan_id: int | None,
    title: str,
    start: datetime,
    end: datetime,
    place: tuple[float, float] | None = None,
    *,
    recurrence_id: str | None = None,
    all_day: bool = False,
    calendar_id: int | None = 1,
) -> Slot:
    return Slot(
        plan_id=plan_id,
        recurrence_id=recurrence_id,
        title=title,
        start_utc=start,
        end_utc=end,
        lat=place[0] if place else None,
        lon=place[1] if place else None,
        all_day=all_day,
        calendar_id=calendar_id,
    )


def fixed(minutes: float) -> Callable[[LatLon, LatLon], float]:
    return lambda origin, destination: minutes


def never(origin: LatLon, destination: LatLon) -> float:
    raise AssertionError(f"no travel time should be asked for ({origin} -> {destination})")


# --- Overlaps -----------------------------------------------------------------------------------------------


def test_overlap_names_both_plans_and_the_minutes() -> None:
    brunch = slot(1, "Brunch", at(10), at(11, 30))
    market = slot(2, "Flea market", at(11), at(13))

    (conflict,) = find_conflicts([market, brunch], travel_minutes=never)

    assert conflict.kind == "overlap"
    assert conflict.overlap_minutes == 30
    assert conflict.needed_minutes is None
    assert conflict.available_minutes is None
    assert (conflict.first.plan_id, conflict.first.title) == (1, "Brunch")
    assert (conflict.second.plan_id, conflict.second.title) == (2, "Flea market")
    assert conflict.first.reason == "overlaps Flea market"
    assert conflict.second.reason == "overlaps Brunch"


def test_a_plan_inside_another_overlaps_for_its_whole_length() -> None:
    day_trip = slot(1, "Day trip", at(9), at(18))
    call = slot(2, "Call", at(12), at(12, 45))

    (conflict,) = find_conflicts([day_trip, call], travel_minutes=never)

    assert conflict.overlap_minutes == 45


def test_back_to_back_at_the_same_place_is_not_a_conflict() -> None:
    tour = slot(1, "Museum tour", at(10), at(12), MUSEUM)
    cafe = slot(2, "Museum café", at(12), at(13), MUSEUM)

    assert find_conflicts([tour, cafe], travel_minutes=never) == []


def test_back_to_back_without_places_is_not_a_conflict() -> None:
    assert find_conflicts([slot(1, "A", at(10), at(11)), slot(2, "B", at(11), at(12))], travel_minutes=never) == []


def test_back_to_back_at_different_places_has_no_time_to_travel() -> None:
    tour = slot(1, "Museum", at(10), at(12), MUSEUM)
    lunch = slot(2, "Lunch", at(12), at(13), KREUZBERG)

    (conflict,) = find_conflicts([tour, lunch], travel_minutes=fixed(12))

    assert (conflict.kind, conflict.needed_minutes, conflict.available_minutes) == ("travel", 12, 0)


# --- Travel -------------------------------------------------------------------------------------------------


def test_travel_infeasible_gives_the_numbers_and_the_reason() -> None:
    museum = slot(1, "Museum", at(10), at(12), MUSEUM)
    brunch = slot(2, "Brunch", at(12, 10), at(13, 30), KREUZBERG)
    asked: list[tuple[LatLon, LatLon]] = []

    def travel(origin: LatLon, destination: LatLon) -> float:
        asked.append((origin, destination))
        return 25.0

    (conflict,) = find_conflicts([brunch, museum], travel_minutes=travel)

    assert asked == [(LatLon(*MUSEUM), LatLon(*KREUZBERG))]  # from the earlier plan to the later one
    assert conflict.kind == "travel"
    assert conflict.needed_minutes == 25
    assert conflict.available_minutes == 10
    assert conflict.overlap_minutes is None
    assert conflict.first.title == "Museum"
    assert conflict.second.title == "Brunch"
    assert conflict.second.reason == "needs 25 min from Museum, 10 min gap"
    assert conflict.first.reason == "needs 25 min to Brunch, 10 min gap"


def test_travel_minutes_round_needed_up_and_the_gap_down() -> None:
    museum = slot(1, "Museum", at(10), at(12), MUSEUM)
    brunch = slot(2, "Brunch", at(12, 10) + timedelta(seconds=30), at(13), KREUZBERG)

    (conflict,) = find_conflicts([museum, brunch], travel_minutes=fixed(24.2))

    assert (conflict.needed_minutes, conflict.available_minutes) == (25, 10)


@pytest.mark.parametrize("gap_minutes", [25, 26, 90])
def test_travel_feasible_when_the_gap_is_long_enough(gap_minutes: int) -> None:
    museum = slot(1, "Museum", at(10), at(12), MUSEUM)
    brunch = slot(2, "Brunch", at(12) + timedelta(minutes=gap_minutes), at(15), KREUZBERG)

    assert find_conflicts([museum, brunch], travel_minutes=fixed(25)) == []


def test_same_place_needs_no_travel() -> None:
    morning = slot(1, "Guided tour", at(10), at(11), MUSEUM)
    # A few metres off (another geocode of the same building) is still the same place.
    afternoon = slot(2, "Exhibition", at(11, 5), at(12), (MUSEUM[0] + 0.00001, MUSEUM[1] - 0.00001))

    assert find_conflicts([morning, afternoon], travel_minutes=never) == []


def test_no_location_means_no_travel_check() -> None:
    museum = slot(1, "Museum", at(10), at(12), MUSEUM)
    call = slot(2, "Call with Mum", at(12, 5), at(12, 30))
    brunch = slot(3, "Brunch", at(12, 35), at(13), KREUZBERG)

    # Museum -> call and call -> brunch: one side has no place, so nothing is asked and nothing conflicts.
    assert find_conflicts([museum, call, brunch], travel_minutes=never) == []


def test_travel_is_checked_from_the_plan_that_ends_last() -> None:
    festival = slot(1, "Street festival", at(10), at(14), TEMPELHOF)
    snack = slot(2, "Snack stand", at(10, 30), at(11), MUSEUM)  # inside the festival: an overlap
    concert = slot(3, "Concert", at(14, 5), at(16), KREUZBERG)
    asked: list[tuple[LatLon, LatLon]] = []

    def travel(origin: LatLon, destination: LatLon) -> float:
        asked.append((origin, destination))
        return 15.0

    found = find_conflicts([festival, snack, concert], travel_minutes=travel)

    assert [(c.kind, c.first.title, c.second.title) for c in found] == [
        ("overlap", "Street festival", "Snack stand"),
        ("travel", "Street festival", "Concert"),
    ]
    assert asked == [(LatLon(*TEMPELHOF), LatLon(*KREUZBERG))]
    assert (found[1].needed_minutes, found[1].available_minutes) == (15, 5)


# --- Recurring, calendars, all-day --------------------------------------------------------------------------


def weekly(
    plan_id: int, title: str, first: date, count: int, hour: int, minutes: int, place: tuple[float, float] | None = None
) -> list[Slot]:
    """A weekly series as expansion hands it over: local wall-clock times in Berlin, one slot per week."""
    slots = []
    for week in range(count):
        day = first + timedelta(weeks=week)
        start = at(hour, 0, day)
        recurrence_id = datetime.combine(day, time(hour)).strftime("%Y%m%dT%H%M%S")
        slots.append(
            slot(plan_id, title, start, start + timedelta(minutes=minutes), place, recurrence_id=recurrence_id)
        )
    return slots


def test_recurring_against_single_across_daylight_saving() -> None:
    # Every Saturday 10:00-11:00 in Berlin, from before the DST change (30 March 2025) to after it.
    yoga = weekly(1, "Yoga", date(2025, 3, 22), 4, 10, 60)
    assert [s.start_utc.hour for s in yoga] == [9, 9, 8, 8]  # 10:00 local stays 10:00 across DST
    brunch = slot(2, "Brunch", at(10, 30, date(2025, 4, 5)), at(12, 0, date(2025, 4, 5)))

    (conflict,) = find_conflicts([*yoga, brunch], travel_minutes=never)

    assert conflict.kind == "overlap"
    assert (conflict.first.plan_id, conflict.first.recurrence_id) == (1, "20250405T100000")
    assert (conflict.second.plan_id, conflict.second.recurrence_id) == (2, None)
    assert conflict.overlap_minutes == 30


def test_recurring_series_travel_against_a_single_plan() -> None:
    climbing = weekly(1, "Climbing", date(2025, 6, 7), 3, 9, 90, place=TEMPELHOF)
    brunch = slot(2, "Brunch", at(10, 40, date(2025, 6, 14)), at(12, 0, date(2025, 6, 14)), MUSEUM)

    (conflict,) = find_conflicts([*climbing, brunch], travel_minutes=fixed(20))

    assert conflict.kind == "travel"
    assert conflict.first.recurrence_id == "20250614T090000"
    assert (conflict.needed_minutes, conflict.available_minutes) == (20, 10)


def test_across_calendars_still_conflicts() -> None:
    work = slot(1, "Team offsite", at(9), at(17), calendar_id=1)
    family = slot(2, "Grandma's birthday", at(15), at(18), calendar_id=2)

    (conflict,) = find_conflicts([work, family], travel_minutes=never)

    assert (conflict.first.calendar_id, conflict.second.calendar_id) == (1, 2)
    assert conflict.overlap_minutes == 120


def test_all_day_does_not_conflict_with_timed_plans_by_default() -> None:
    festival_day = slot(1, "Fête de la Musique", at(0), at(0, day=SATURDAY + timedelta(days=1)), all_day=True)
    lunch = slot(2, "Lunch", at(12), at(13), KREUZBERG)
    concert = slot(3, "Concert", at(13, 5), at(15), MUSEUM)

    # The lunch -> concert journey is still checked; the festival day blocks nothing.
    found = find_conflicts([festival_day, lunch, concert], travel_minutes=fixed(20))
    assert [(c.kind, c.first.title, c.second.title) for c in found] == [("travel", "Lunch", "Concert")]


def test_all_day_overlaps_when_asked_but_never_counts_for_travel() -> None:
    festival_day = slot(1, "Festival", at(0), at(0, day=SATURDAY + timedelta(days=1)), TEMPELHOF, all_day=True)
    lunch = slot(2, "Lunch", at(12), at(13), KREUZBERG)

    found = find_conflicts([festival_day, lunch], travel_minutes=never, ignore_all_day=False)

    assert [(c.kind, c.first.title, c.second.title, c.overlap_minutes) for c in found] == [
        ("overlap", "Festival", "Lunch", 60)
    ]


# --- Candidates ---------------------------------------------------------------------------------------------


def test_candidate_gets_only_the_conflicts_it_causes() -> None:
    existing = [
        slot(1, "Brunch", at(10), at(11, 30), MUSEUM),
        slot(2, "Flea market", at(11), at(13), MUSEUM),  # already overlaps Brunch: not the candidate's concern
        slot(3, "Cinema", at(15), at(17), KREUZBERG),
    ]
    candidate = [slot(None, "Picnic", at(12, 30), at(14, 50), TEMPELHOF)]

    found = conflicts_for_candidate(candidate, existing, travel_minutes=fixed(20))

    assert [(c.kind, c.first.title, c.second.title) for c in found] == [
        ("overlap", "Flea market", "Picnic"),
        ("travel", "Picnic", "Cinema"),
    ]
    assert found[0].overlap_minutes == 30
    assert found[0].second.plan_id is None
    assert (found[1].needed_minutes, found[1].available_minutes) == (20, 10)
    assert found[1].second.reason == "needs 20 min from Picnic, 10 min gap"


def test_recurring_candidate_against_existing_single_plans() -> None:
    existing = [
        slot(1, "Brunch", at(10, 30, date(2025, 6, 14)), at(12, 0, date(2025, 6, 14)), MUSEUM),
        slot(2, "Swim", at(12, 0, date(2025, 6, 21)), at(13, 0, date(2025, 6, 21)), TEMPELHOF),
    ]
    candidate = weekly(9, "Yoga", date(2025, 6, 7), 4, 10, 60, place=TEMPELHOF)

    found = conflicts_for_candidate(candidate, existing, travel_minutes=fixed(15))

    assert [(c.kind, c.first.recurrence_id, c.second.plan_id) for c in found] == [
        ("overlap", "20250614T100000", 1)  # the swim on the 21st is at the same place, an hour later
    ]


def test_candidate_leads_to_a_zero_length_entry_at_its_end() -> None:
    existing = [slot(1, "Key handover", at(12), at(12), KREUZBERG), slot(2, "Cinema", at(15), at(17), MUSEUM)]
    candidate = [slot(None, "Picnic", at(10), at(12), TEMPELHOF)]

    found = conflicts_for_candidate(candidate, existing, travel_minutes=fixed(20))

    assert [(c.kind, c.first.title, c.second.title, c.available_minutes) for c in found] == [
        ("travel", "Picnic", "Key handover", 0)
    ]


def test_of_candidates_ending_together_the_later_one_leads_on() -> None:
    # A recurring candidate whose instances both end at 12:00 (one was moved): the person leaves from the
    # later one, so only that journey to the cinema is checked.
    candidate = [
        slot(9, "Run", at(10), at(12), TEMPELHOF, recurrence_id="a"),
        slot(9, "Run", at(11), at(12), MUSEUM, recurrence_id="b"),
    ]
    existing = [slot(1, "Cinema", at(12, 10), at(14), KREUZBERG)]
    asked: list[tuple[LatLon, LatLon]] = []

    def travel(origin: LatLon, destination: LatLon) -> float:
        asked.append((origin, destination))
        return 30.0

    found = conflicts_for_candidate(candidate, existing, travel_minutes=travel)

    assert [(c.kind, c.first.recurrence_id, c.second.title) for c in found] == [
        ("overlap", "a", "Run"),
        ("travel", "b", "Cinema"),
    ]
    assert asked == [(LatLon(*MUSEUM), LatLon(*KREUZBERG))]


def test_moving_a_plan_into_a_free_slot_causes_nothing() -> None:
    existing = [slot(1, "Brunch", at(10), at(11), MUSEUM), slot(2, "Cinema", at(15), at(17), KREUZBERG)]
    moved = [slot(3, "Picnic", at(12), at(14), TEMPELHOF)]

    assert conflicts_for_candidate(moved, existing, travel_minutes=fixed(30)) == []


def test_an_index_is_reusable_across_candidates() -> None:
    existing = [slot(n, f"Plan {n}", at(8 + n), at(9 + n), MUSEUM) for n in range(6)]
    index = SlotIndex(existing)
    assert len(index) == 6

    for candidate in ([slot(None, "X", at(9, 30), at(10, 30))], [slot(None, "Y", at(7), at(7, 30), KREUZBERG)]):
        assert conflicts_for_candidate(candidate, index, travel_minutes=fixed(45)) == conflicts_for_candidate(
            candidate, existing, travel_minutes=fixed(45)
        )


# --- Slots and serialisation --------------------------------------------------------------------------------


def test_slot_refuses_naive_or_backwards_times_and_half_places() -> None:
    with pytest.raises(ValueError, match="aware"):
        Slot(1, None, "A", datetime(2025, 6, 7, 10), datetime(2025, 6, 7, 11))
    with pytest.raises(ValueError, match="ends before"):
        slot(1, "A", at(11), at(10))
    with pytest.raises(ValueError, match="together"):
        Slot(1, None, "A", at(10), at(11), lat=52.5)


def test_slots_in_any_zone_compare_as_instants() -> None:
    in_utc = slot(1, "A", at(10), at(11))
    in_berlin = slot(2, "B", at(10, 30).astimezone(BERLIN), at(11, 30).astimezone(BERLIN))

    (conflict,) = find_conflicts([in_utc, in_berlin], travel_minutes=never)
    assert conflict.overlap_minutes == 30


def test_conflict_as_dict_is_json_ready() -> None:
    (conflict,) = find_conflicts(
        [slot(1, "Brunch", at(10), at(11)), slot(2, "Market", at(10, 30), at(12))], travel_minutes=never
    )

    assert conflict.as_dict() == {
        "kind": "overlap",
        "first": {
            "plan_id": 1,
            "recurrence_id": None,
            "title": "Brunch",
            "start_utc": "2025-06-07T08:00:00Z",
            "end_utc": "2025-06-07T09:00:00Z",
            "calendar_id": 1,
            "reason": "overlaps Market",
        },
        "second": {
            "plan_id": 2,
            "recurrence_id": None,
            "title": "Market",
            "start_utc": "2025-06-07T08:30:00Z",
            "end_utc": "2025-06-07T10:00:00Z",
            "calendar_id": 1,
            "reason": "overlaps Brunch",
        },
        "overlap_minutes": 30,
        "needed_minutes": None,
        "available_minutes": None,
    }


# --- The adapter onto apps.core.geo -------------------------------------------------------------------------


def test_travel_minutes_for_uses_the_cached_travel_time_once_per_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[LatLon, LatLon, str]] = []

    def cached_travel_time(origin: LatLon, destination: LatLon, mode: geo.TravelMode | str) -> geo.TravelTime:
        calls.append((origin, destination, str(mode)))
        return geo.TravelTime(seconds=1500, meters=6000, estimated=False)

    monkeypatch.setattr(geo, "cached_travel_time", cached_travel_time)
    travel = travel_minutes_for("transit")
    a, b = LatLon(*MUSEUM), LatLon(*KREUZBERG)

    assert travel(a, b) == 25.0
    assert travel(a, b) == 25.0
    assert travel(b, a) == 25.0
    assert calls == [(a, b, "transit"), (b, a, "transit")]


def test_travel_minutes_for_prefetches_every_journey_in_one_cache_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.cache import cache

    a, b, c = LatLon(*MUSEUM), LatLon(*KREUZBERG), LatLon(*TEMPELHOF)
    # Google answered a -> b earlier (cached as geo caches it); b -> c has only the offline estimate.
    cache.set(geo._pair_key(a, b, geo.TravelMode.TRANSIT), (1500, 6000), 60)
    reads: list[list[str]] = []
    real_get_many = geo._cache_get_many

    def get_many(keys: list[str]) -> dict[str, geo.Route]:
        reads.append(keys)
        return real_get_many(keys)

    monkeypatch.setattr(geo, "_cache_get_many", get_many)
    expected = {
        (a, b): geo.cached_travel_time(a, b, "transit").seconds / 60,
        (b, c): geo.cached_travel_time(b, c, "transit").seconds / 60,
    }
    assert expected[(a, b)] == 25.0

    def no_single_reads(*args: object) -> geo.TravelTime:
        raise AssertionError("prefetched pairs are not read one by one")

    monkeypatch.setattr(geo, "cached_travel_time", no_single_reads)
    travel = travel_minutes_for("transit")
    slots = [
        slot(1, "Museum", at(10), at(12), MUSEUM),
        slot(2, "Brunch", at(12, 10), at(13), KREUZBERG),
        slot(3, "Tempelhof", at(13, 5), at(15), TEMPELHOF),
    ]

    found = find_conflicts(slots, travel_minutes=travel)

    assert len(reads) == 1
    assert len(reads[0]) == 2
    assert {(c.first.title, c.second.title) for c in found} == {("Museum", "Brunch"), ("Brunch", "Tempelhof")}
    assert travel(a, b) == expected[(a, b)]
    assert travel(b, c) == expected[(b, c)]


def test_the_engine_hands_every_journey_to_prefetch_first() -> None:
    class Recording:
        def __init__(self) -> None:
            self.events: list[object] = []

        def prefetch(self, pairs: list[tuple[LatLon, LatLon]]) -> None:
            self.events.append(("prefetch", sorted(pairs)))

        def __call__(self, origin: LatLon, destination: LatLon) -> float:
            self.events.append("call")
            return 5.0

    existing = [slot(1, "Museum", at(10), at(12), MUSEUM), slot(2, "Cinema", at(15), at(17), KREUZBERG)]
    candidate = [slot(None, "Picnic", at(12, 30), at(14), TEMPELHOF)]
    travel = Recording()

    assert conflicts_for_candidate(candidate, existing, travel_minutes=travel) == []
    assert travel.events == [
        ("prefetch", sorted([(LatLon(*MUSEUM), LatLon(*TEMPELHOF)), (LatLon(*TEMPELHOF), LatLon(*KREUZBERG))])),
        "call",
        "call",
    ]


def test_travel_minutes_for_falls_back_to_the_offline_estimate() -> None:
    # Nothing cached and no network: the estimate from apps.core.geo.
    a, b = LatLon(*MUSEUM), LatLon(*TEMPELHOF)
    expected = geo.estimate_travel_time(a, b, geo.TravelMode.BIKE).seconds / 60

    assert travel_minutes_for("bike")(a, b) == pytest.approx(expected)


def test_travel_minutes_for_refuses_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="teleport"):
        travel_minutes_for("teleport")


def test_the_module_is_pure() -> None:
    # No models, no HTTP: of the project, it imports only the geography of apps.core (whose cached travel
    # times never touch the network). The tests here have no `db` fixture, so any query would fail them.
    tree = ast.parse(Path(conflicts_module.__file__ or "").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | {
        alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    assert {name for name in imported if name and name.startswith(("apps", "django", "httpx"))} == {
        "apps.core",
        "apps.core.geo",
    }


# --- Properties against brute force -------------------------------------------------------------------------

ORIGIN = datetime(2025, 6, 7, 6, tzinfo=UTC)
PLACES: list[tuple[float, float] | None] = [None, MUSEUM, KREUZBERG, TEMPELHOF]


def table_travel(origin: LatLon, destination: LatLon) -> float:
    """A deterministic, asymmetric travel table over the test places, in minutes."""
    i = PLACES.index((origin.lat, origin.lon))
    j = PLACES.index((destination.lat, destination.lon))
    return float(7 * i + 11 * j) - 0.5


@st.composite
def slot_lists(draw: st.DrawFn, plan_ids: range, max_size: int = 25, title: str = "P") -> list[Slot]:
    count = draw(st.integers(min_value=0, max_value=max_size))
    slots = []
    for n in range(count):
        # Quarter hours, so that back-to-back plans, equal ends and zero-length entries come up often.
        start = 15 * draw(st.integers(min_value=0, max_value=40))
        length = draw(st.sampled_from([0, 5, 15, 30, 45, 60, 90, 120, 240, 1440]))
        place = draw(st.sampled_from(PLACES))
        slots.append(
            slot(
                draw(st.sampled_from(plan_ids)),
                f"{title}{n}",
                ORIGIN + timedelta(minutes=start),
                ORIGIN + timedelta(minutes=start + length),
                place,
                recurrence_id=f"r{n}",  # every slot distinct, so the order of ties is defined
                all_day=draw(st.booleans()) if length == 1440 else False,
                calendar_id=draw(st.sampled_from([1, 2])),
            )
        )
    return slots


def brute_overlaps(slots: list[Slot], ignore_all_day: bool) -> set[tuple[str, str, int]]:
    kept = [s for s in slots if not (ignore_all_day and s.all_day)]
    pairs = set()
    for i, a in enumerate(kept):
        for b in kept[i + 1 :]:
            if a.start_utc < b.end_utc and b.start_utc < a.end_utc:
                minutes = (min(a.end_utc, b.end_utc) - max(a.start_utc, b.start_utc)).total_seconds() / 60
                first, second = sorted([a, b], key=lambda s: (s.start_utc, s.end_utc, s.plan_id, s.recurrence_id))
                pairs.add((first.title, second.title, max(1, round(minutes))))
    return pairs


def brute_travel(slots: list[Slot]) -> set[tuple[str, str, int, int]]:
    timed = sorted(
        (s for s in slots if not s.all_day), key=lambda s: (s.start_utc, s.end_utc, s.plan_id, s.recurrence_id)
    )
    pairs = set()
    for j, b in enumerate(timed):
        if j == 0:
            continue
        # Where the person comes from: the earlier slot ending last (the later one on a tie).
        p = max(range(j), key=lambda i: (timed[i].end_utc, i))
        a = timed[p]
        if a.end_utc > b.start_utc or a.place is None or b.place is None or a.place == b.place:
            continue
        gap = (b.start_utc - a.end_utc).total_seconds() / 60
        needed = table_travel(a.place, b.place)
        if gap < needed:
            pairs.add((a.title, b.title, int(needed) + 1, int(gap)))
    return pairs


def summary(found: list[Conflict], kind: str) -> set[tuple[object, ...]]:
    out: set[tuple[object, ...]] = set()
    for c in found:
        if c.kind != kind:
            continue
        numbers = (c.overlap_minutes,) if kind == "overlap" else (c.needed_minutes, c.available_minutes)
        out.add((c.first.title, c.second.title, *numbers))
    return out


@settings(max_examples=300, deadline=None)
@given(slots=slot_lists(range(1, 6)), ignore_all_day=st.booleans())
def test_find_conflicts_equals_brute_force(slots: list[Slot], ignore_all_day: bool) -> None:
    found = find_conflicts(slots, travel_minutes=table_travel, ignore_all_day=ignore_all_day)

    overlaps = [c for c in found if c.kind == "overlap"]
    assert len(overlaps) == len(summary(found, "overlap"))  # each pair once
    assert summary(found, "overlap") == brute_overlaps(slots, ignore_all_day)
    assert summary(found, "travel") == brute_travel(slots)
    # Deterministic, whatever order the slots come in.
    assert find_conflicts(slots[::-1], travel_minutes=table_travel, ignore_all_day=ignore_all_day) == found


@settings(max_examples=300, deadline=None)
@given(
    existing=slot_lists(range(1, 6)),
    candidate=slot_lists(range(100, 101), max_size=5, title="C"),
    ignore_all_day=st.booleans(),
)
def test_candidate_conflicts_equal_the_brute_force_subset(
    existing: list[Slot], candidate: list[Slot], ignore_all_day: bool
) -> None:
    found = conflicts_for_candidate(candidate, existing, travel_minutes=table_travel, ignore_all_day=ignore_all_day)

    def involves_candidate(c: Conflict) -> bool:
        return c.first.plan_id == 100 or c.second.plan_id == 100

    everything = find_conflicts([*existing, *candidate], travel_minutes=table_travel, ignore_all_day=ignore_all_day)
    assert found == [c for c in everything if involves_candidate(c)]
    candidate_titles = {s.title for s in candidate}
    assert summary(found, "overlap") == {
        pair
        for pair in brute_overlaps([*existing, *candidate], ignore_all_day)
        if pair[0] in candidate_titles or pair[1] in candidate_titles
    }
    assert summary(found, "travel") == {
        pair
        for pair in brute_travel([*existing, *candidate])
        if pair[0] in candidate_titles or pair[1] in candidate_titles
    }
