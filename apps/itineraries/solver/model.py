"""The orienteering problem with time windows, as plain data: candidate visits (nodes) with a score, a visit
length, a window for the start of the visit and a price; tours (one a day) that leave the depot and come back
within their hours; a travel matrix; an optional budget and cap on stops per tour. No Django here."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Node:
    """A candidate visit; nodes[i] is travel-matrix index i + 1 (index 0 is the depot)."""

    id: int  # the caller's id (a customer in the benchmarks, a node of the planner's problem)
    score: float
    duration: float  # minutes on site
    opens: float  # earliest start of the visit (absolute minutes, the tours' clock)
    closes: float  # latest start of the visit
    price: float = 0.0
    group: int | None = None  # at most one node of a group in a solution (one event open on two days)
    required: bool = False  # placed whenever it can be (outranks any score), else reported
    locked_tour: int | None = None  # fixed busy time (a plan of the person's): always in this tour


@dataclass(frozen=True)
class TourSpec:
    start: float  # leaves the depot at this time
    end: float  # back at the depot by this time


@dataclass(frozen=True)
class Instance:
    nodes: tuple[Node, ...]
    tours: tuple[TourSpec, ...]
    travel: Any  # (n + 1) x (n + 1) minutes, numpy array or nested lists; may be asymmetric
    budget: float | None = None  # the price of all visited nodes together
    max_stops_per_tour: int | None = None  # counts nodes that are not locked


@dataclass(frozen=True)
class Solution:
    tours: tuple[tuple[int, ...], ...]  # node ids in visit order per tour, depot excluded
    score: float  # the visited nodes' scores (no bonus for required ones)
    unplaced_required: tuple[int, ...]  # required node ids that could not be placed
    iterations: int
    seconds: float


@dataclass(frozen=True)
class Stop:
    node_id: int
    arrive: float
    start: float  # max(arrive, opens)
    leave: float  # start + duration


@dataclass(frozen=True)
class TourSchedule:
    stops: tuple[Stop, ...]
    back: float  # arrival at the depot
