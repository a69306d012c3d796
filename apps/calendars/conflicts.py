"""Conflicts among a person's occurrences: overlaps, and travel that cannot be made in the gap between plans.

Pure: no database, no network. The caller expands plans into `Slot`s (one per occurrence, across all the
person's calendars, cancelled occurrences dropped) and passes `travel_minutes(origin, destination)`;
`travel_minutes_for(mode)` builds one on `apps.core.geo.cached_travel_time`, which never waits on Google.

What counts as a conflict:
- Overlap: two slots overlap when each starts strictly before the other ends, so back-to-back plans (one
  ends at 12:00, the next starts at 12:00) do not conflict.
- Travel: take the timed slots in order of start; a slot's predecessor is the slot before it that ends
  last (where the person comes from; on a tie in end, the later of them). When the predecessor ends no later
  than the slot starts (otherwise they overlap, which is already a conflict) and the two are at different
  places, the gap between them must be at least the travel time. Slots without a place are never checked.
- All-day slots (a festival day) do not conflict with anything by default; with `ignore_all_day=False`
  they take part in overlaps, never in travel.

`find_conflicts` sweeps the slots sorted by start (O(n log n + conflicts)); `conflicts_for_candidate` answers
"what would this new or moved plan cause" with binary searches in a `SlotIndex` of the existing slots, and
returns exactly the conflicts of `find_conflicts(candidate + existing)` that involve a candidate slot.
"""

import heapq
import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from apps.core import geo
from apps.core.geo import LatLon

__all__ = [
    "CachedTravelMinutes",
    "Conflict",
    "ConflictKind",
    "ConflictSide",
    "LatLon",
    "Slot",
    "SlotIndex",
    "TravelMinutes",
    "conflicts_for_candidate",
    "find_conflicts",
    "travel_minutes_for",
]

ConflictKind = Literal["overlap", "travel"]
TravelMinutes = Callable[[LatLon, LatLon], float]

_PLACE_DECIMALS = 4  # ~11 m, as apps.core.geo rounds its cache keys: closer points are the same place
_EPSILON = 1e-9  # float noise must not turn 10.0 minutes into 11 when rounding up

# (start, end, plan_id, recurrence_id, calendar_id, title): a total order on slots, earliest first.
_SortKey = tuple[float, float, int, str, int, str]


@dataclass(frozen=True, slots=True)
class Slot:
    """One occurrence of a plan, as the conflict checks see it. Times are aware; `end_utc` is exclusive."""

    plan_id: int | None  # None for a plan not saved yet (a candidate)
    recurrence_id: str | None  # None for a single (non-recurring) plan
    title: str
    start_utc: datetime
    end_utc: datetime
    lat: float | None = None
    lon: float | None = None
    all_day: bool = False
    calendar_id: int | None = None
    # Derived once, for sorting and sweeping on plain numbers rather than aware datetimes.
    _start: float = field(init=False, repr=False, compare=False)
    _end: float = field(init=False, repr=False, compare=False)
    _key: _SortKey = field(init=False, repr=False, compare=False)
    _place: LatLon | None = field(init=False, repr=False, compare=False)
    _spot: tuple[float, float] | None = field(init=False, repr=False, compare=False)  # the place, rounded

    def __post_init__(self) -> None:
        if self.start_utc.utcoffset() is None or self.end_utc.utcoffset() is None:
            raise ValueError("Slot times must be timezone-aware")
        if self.end_utc < self.start_utc:
            raise ValueError("Slot ends before it starts")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("Slot lat and lon go together")
        start, end = self.start_utc.timestamp(), self.end_utc.timestamp()
        object.__setattr__(self, "_start", start)
        object.__setattr__(self, "_end", end)
        key = (
            start,
            end,
            -1 if self.plan_id is None else self.plan_id,
            self.recurrence_id or "",
            -1 if self.calendar_id is None else self.calendar_id,
            self.title,
        )
        object.__setattr__(self, "_key", key)
        if self.lat is None or self.lon is None:
            object.__setattr__(self, "_place", None)
            object.__setattr__(self, "_spot", None)
        else:
            object.__setattr__(self, "_place", LatLon(self.lat, self.lon))
            spot = (round(self.lat, _PLACE_DECIMALS), round(self.lon, _PLACE_DECIMALS))
            object.__setattr__(self, "_spot", spot)

    @property
    def place(self) -> LatLon | None:
        return self._place


# Conflicts are plain (not frozen) dataclasses: a wide window can hold thousands, and a frozen dataclass is
# several times slower to build.


@dataclass(slots=True)
class ConflictSide:
    """One of the two occurrences in a conflict, with what to tell the person about it."""

    plan_id: int | None
    recurrence_id: str | None
    title: str
    start_utc: datetime
    end_utc: datetime
    calendar_id: int | None
    reason: str  # "overlaps Brunch", "needs 25 min from Museum, 10 min gap"

    def as_dict(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "recurrence_id": self.recurrence_id,
            "title": self.title,
            "start_utc": _iso_utc(self.start_utc),
            "end_utc": _iso_utc(self.end_utc),
            "calendar_id": self.calendar_id,
            "reason": self.reason,
        }


@dataclass(slots=True)
class Conflict:
    """Two occurrences that do not fit together; `first` is the earlier one."""

    kind: ConflictKind
    first: ConflictSide
    second: ConflictSide
    overlap_minutes: int | None = None  # overlap: how long both run at once (rounded up)
    needed_minutes: int | None = None  # travel: from first to second (rounded up) ...
    available_minutes: int | None = None  # ... against the gap between them (rounded down)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (API conventions: `_utc` times end in Z)."""
        return {
            "kind": self.kind,
            "first": self.first.as_dict(),
            "second": self.second.as_dict(),
            "overlap_minutes": self.overlap_minutes,
            "needed_minutes": self.needed_minutes,
            "available_minutes": self.available_minutes,
        }


class CachedTravelMinutes:
    """Travel minutes for one travel mode from the cached travel times: the cache, else the offline estimate,
    never the network. Make one per conflict check: it memoises its pairs, so each costs one cache read.

    The conflict functions call `prefetch` with every journey they are about to check, which reads the cache
    for all of them at once (one round trip to Redis instead of one per pair).
    """

    __slots__ = ("_memo", "mode")

    def __init__(self, mode: str) -> None:
        self.mode = geo.TravelMode(mode)  # an unknown mode fails here, not in the middle of a check
        self._memo: dict[tuple[LatLon, LatLon], float] = {}

    def __call__(self, origin: LatLon, destination: LatLon) -> float:
        pair = (origin, destination)
        minutes = self._memo.get(pair)
        if minutes is None:
            minutes = geo.cached_travel_time(origin, destination, self.mode).seconds / 60
            self._memo[pair] = minutes
        return minutes

    def prefetch(self, pairs: Iterable[tuple[LatLon, LatLon]]) -> None:
        missing = {pair for pair in pairs if pair not in self._memo}
        if len(missing) < 2:
            return  # one pair costs the same either way
        ordered = sorted(missing)
        for pair, travel in zip(ordered, geo.cached_travel_times(ordered, self.mode), strict=True):
            self._memo[pair] = travel.seconds / 60


def travel_minutes_for(mode: str) -> CachedTravelMinutes:
    """`travel_minutes` for `find_conflicts` / `conflicts_for_candidate`: the person's travel mode, from the
    cached travel times of apps.core.geo (never the network), memoised per pair; make one per check."""
    return CachedTravelMinutes(mode)


# --- All conflicts of a set of slots ----------------------------------------------------------------------


def find_conflicts(
    slots: Iterable[Slot], *, travel_minutes: TravelMinutes, ignore_all_day: bool = True
) -> list[Conflict]:
    """Every overlap and every infeasible journey among `slots`, ordered by the first occurrence's start."""
    included = sorted(_included(slots, ignore_all_day), key=_sort_key)
    found: list[tuple[_SortKey, _SortKey, Conflict]] = []
    for a, b in _overlapping_pairs(included):
        found.append(_overlap(a, b))
    journeys: list[_Journey] = []
    predecessor: Slot | None = None
    for slot in included:
        if slot.all_day:
            continue
        journey = _journey(predecessor, slot) if predecessor is not None else None
        if journey is not None:
            journeys.append(journey)
        predecessor = _later_max_end(predecessor, slot)
    found.extend(_travel_conflicts(journeys, travel_minutes))
    return _ordered(found)


# --- The conflicts one new or moved plan would cause ------------------------------------------------------


class SlotIndex:
    """A person's existing slots prepared for candidate checks: build once, query many times.

    Timed and all-day slots are kept apart, each in bins by duration (under 1 h, 1-2 h, 2-4 h, ...), sorted
    by start: the slots overlapping [start, end) are found by two binary searches per bin, since a slot in a
    bin cannot start more than the bin's longest duration before `start` and still reach it.
    """

    __slots__ = ("_all_day_bins", "_ends", "_keys", "_predecessor", "_timed", "_timed_bins")

    def __init__(self, slots: Iterable[Slot]) -> None:
        ordered = sorted(slots, key=_sort_key)
        self._timed = [s for s in ordered if not s.all_day]
        self._keys = [s._key for s in self._timed]
        self._ends = [s._end for s in self._timed]
        # _predecessor[i]: the index of the slot that ends last among _timed[:i] (-1 when none): where the
        # person comes from before a slot sorted at position i.
        predecessor = [-1] * (len(self._timed) + 1)
        best = -1
        best_end = -math.inf
        for i, end in enumerate(self._ends):
            if end >= best_end:
                best, best_end = i, end
            predecessor[i + 1] = best
        self._predecessor = predecessor
        self._timed_bins = _bins(self._timed)
        self._all_day_bins = _bins([s for s in ordered if s.all_day])

    def __len__(self) -> int:
        return len(self._timed) + sum(len(b.slots) for b in self._all_day_bins)

    def overlapping(self, slot: Slot, *, include_all_day: bool = False) -> Iterator[Slot]:
        """The indexed slots that overlap `slot` (strictly: touching ends do not count)."""
        bins = self._timed_bins + self._all_day_bins if include_all_day else self._timed_bins
        start, end = slot._start, slot._end
        for b in bins:
            lo = bisect_right(b.starts, start - b.reach)
            hi = bisect_left(b.starts, end)
            for i in range(lo, hi):
                other = b.slots[i]
                if other._end > start and other._start < end:
                    yield other


def conflicts_for_candidate(
    candidate_slots: Iterable[Slot],
    existing_slots: Iterable[Slot] | SlotIndex,
    *,
    travel_minutes: TravelMinutes,
    ignore_all_day: bool = True,
) -> list[Conflict]:
    """The conflicts that creating (or moving) the plan whose occurrences are `candidate_slots` would cause.

    Exactly the conflicts of `find_conflicts(candidate_slots + existing_slots)` that involve a candidate slot.
    When moving a plan, leave its own current occurrences out of `existing_slots`. Pass a `SlotIndex` to
    check several candidates against the same existing slots without sorting them again.
    """
    index = existing_slots if isinstance(existing_slots, SlotIndex) else SlotIndex(existing_slots)
    candidates = sorted(_included(candidate_slots, ignore_all_day), key=_sort_key)
    found: list[tuple[_SortKey, _SortKey, Conflict]] = []

    for candidate in candidates:
        for other in index.overlapping(candidate, include_all_day=not ignore_all_day):
            found.append(_overlap(candidate, other) if candidate._key < other._key else _overlap(other, candidate))
    for a, b in _overlapping_pairs(candidates):
        found.append(_overlap(a, b))

    timed = [c for c in candidates if not c.all_day]
    journeys: list[_Journey] = []
    best_candidate: Slot | None = None  # the candidate ending last so far
    for k, candidate in enumerate(timed):
        position = bisect_left(index._keys, candidate._key)
        best_existing = index._predecessor[position]
        predecessor = _later_max_end(index._timed[best_existing] if best_existing >= 0 else None, best_candidate)
        journey = _journey(predecessor, candidate) if predecessor is not None else None
        if journey is not None:
            journeys.append(journey)
        if predecessor is None or candidate._end >= predecessor._end:
            # The candidate ends last so far, so it is the predecessor of the next slot that ends no earlier
            # (every slot in between lies inside it). When that slot is another candidate, the travel pair is
            # found from that candidate's side above.
            successor = _first_ending_from(index, position, candidate._end)
            journey = _journey(candidate, successor) if successor is not None else None
            if journey is not None and not _candidate_ends_first(timed, k, journey[1]):
                journeys.append(journey)
        best_candidate = _later_max_end(best_candidate, candidate)
    found.extend(_travel_conflicts(journeys, travel_minutes))
    return _ordered(found)


# --- Internals ---------------------------------------------------------------------------------------------


_Journey = tuple[Slot, Slot, LatLon, LatLon]  # from, to, and their places


@dataclass(frozen=True, slots=True)
class _Bin:
    slots: list[Slot]
    starts: list[float]
    reach: float  # the longest duration in the bin, in seconds


def _bins(ordered: Sequence[Slot]) -> list[_Bin]:
    by_class: dict[int, list[Slot]] = {}
    for slot in ordered:  # sorted already, and each bin keeps that order
        by_class.setdefault(int((slot._end - slot._start) // 3600).bit_length(), []).append(slot)
    return [
        _Bin(slots=group, starts=[s._start for s in group], reach=max(s._end - s._start for s in group))
        for _, group in sorted(by_class.items())
    ]


def _sort_key(slot: Slot) -> _SortKey:
    return slot._key


def _included(slots: Iterable[Slot], ignore_all_day: bool) -> Iterator[Slot]:
    return (s for s in slots if not (ignore_all_day and s.all_day))


def _overlapping_pairs(ordered: Sequence[Slot]) -> Iterator[tuple[Slot, Slot]]:
    """Pairs (earlier, later) that overlap, from slots sorted by `_sort_key`: a sweep over the open slots."""
    open_slots: list[tuple[float, int, Slot]] = []  # a heap by end
    for n, slot in enumerate(ordered):
        while open_slots and open_slots[0][0] <= slot._start:
            heapq.heappop(open_slots)
        # Each open slot sorts before this one and ends after it starts, so it overlaps it (a zero-length
        # slot at the very start of another sorts before it, and closes before it opens).
        for _, _, other in open_slots:
            yield other, slot
        heapq.heappush(open_slots, (slot._end, n, slot))


def _later_max_end(current: Slot | None, other: Slot | None) -> Slot | None:
    """Of two slots, the one ending last; on a tie, the later in sort order."""
    if current is None:
        return other
    if other is None:
        return current
    if other._end != current._end:
        return other if other._end > current._end else current
    return other if other._key > current._key else current


def _first_ending_from(index: SlotIndex, position: int, end: float) -> Slot | None:
    ends = index._ends
    j = position
    # The slots passed over start inside the candidate and end before it: they overlap it (few).
    while j < len(ends) and ends[j] < end:
        j += 1
    return index._timed[j] if j < len(ends) else None


def _candidate_ends_first(candidates: list[Slot], k: int, successor: Slot) -> bool:
    """Whether a later candidate, sorted before `successor`, ends no earlier than candidates[k] (and so is
    the next slot that the candidate leads to)."""
    end = candidates[k]._end
    for i in range(k + 1, len(candidates)):
        other = candidates[i]
        if other._key >= successor._key:
            return False
        if other._end >= end:
            return True
    return False


def _overlap(first: Slot, second: Slot) -> tuple[_SortKey, _SortKey, Conflict]:
    seconds = min(first._end, second._end) - max(first._start, second._start)
    conflict = Conflict(
        kind="overlap",
        first=_side(first, f"overlaps {second.title}"),
        second=_side(second, f"overlaps {first.title}"),
        overlap_minutes=max(1, math.ceil(seconds / 60 - _EPSILON)),
    )
    return first._key, second._key, conflict


def _journey(first: Slot, second: Slot) -> _Journey | None:
    """Going from `first` (the predecessor) to `second`, when that takes travel to check."""
    if first._end > second._start:
        return None  # they overlap: a conflict of its own
    origin, destination = first._place, second._place
    if origin is None or destination is None or first._spot == second._spot:
        return None  # no place to go from or to, or the same place (within ~11 m)
    return first, second, origin, destination


def _travel_conflicts(
    journeys: list[_Journey], travel_minutes: TravelMinutes
) -> Iterator[tuple[_SortKey, _SortKey, Conflict]]:
    prefetch = getattr(travel_minutes, "prefetch", None)
    if journeys and callable(prefetch):
        prefetch([(origin, destination) for _, _, origin, destination in journeys])
    for journey in journeys:
        conflict = _travel(journey, travel_minutes)
        if conflict is not None:
            yield conflict


def _travel(journey: _Journey, travel_minutes: TravelMinutes) -> tuple[_SortKey, _SortKey, Conflict] | None:
    """The travel conflict of a journey, or None when it fits in the gap."""
    first, second, origin, destination = journey
    gap = (second._start - first._end) / 60
    needed = travel_minutes(origin, destination)
    if gap + _EPSILON >= needed:
        return None
    needed_minutes = math.ceil(needed - _EPSILON)
    available_minutes = math.floor(gap + _EPSILON)
    conflict = Conflict(
        kind="travel",
        first=_side(first, f"needs {needed_minutes} min to {second.title}, {available_minutes} min gap"),
        second=_side(second, f"needs {needed_minutes} min from {first.title}, {available_minutes} min gap"),
        needed_minutes=needed_minutes,
        available_minutes=available_minutes,
    )
    return first._key, second._key, conflict


def _side(slot: Slot, reason: str) -> ConflictSide:
    return ConflictSide(
        plan_id=slot.plan_id,
        recurrence_id=slot.recurrence_id,
        title=slot.title,
        start_utc=slot.start_utc,
        end_utc=slot.end_utc,
        calendar_id=slot.calendar_id,
        reason=reason,
    )


def _ordered(found: list[tuple[_SortKey, _SortKey, Conflict]]) -> list[Conflict]:
    found.sort(key=lambda item: (item[0], item[1], item[2].kind))
    return [conflict for _, _, conflict in found]


def _iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
