"""Iterated local search for the (team) orienteering problem with time windows, after Vansteenwegen, Souffriau,
Vanden Berghe and Van Oudheusden (2009): insert the best ratio score² / time taken until nothing fits, shake out a
run of visits from every tour, insert again, and keep the best; with restarts from the best and randomised ties.

Feasibility of an insertion is O(1) from each visit's wait and its "max shift" (how much later it could start
without breaking its window or any later one). The insertion costs of all candidates at all positions of a tour
are one numpy computation, so a step costs the same for 100 candidates as for 2,000.

Deterministic for a seed and an iteration cap: the only randomness is `random.Random(seed)`; the clock only stops
the search early.
"""

import math
import random
import time

import numpy as np
from numpy.typing import NDArray

from apps.itineraries.solver.model import Instance, Solution

EPSILON = 1e-9
INFEASIBLE = math.inf
RESTART_AFTER = 40  # iterations without a better solution before going back to the best one
NOISE = 0.15  # insertion ratios are multiplied by a factor in [1 - NOISE, 1 + NOISE] after the first build
FRESH_EVERY = 4  # every this many restarts, from a new randomised build rather than the best
TABU_SHARE = 0.5  # the share of iterations whose first refill leaves out what the shake removed


class _Arrays:
    """The instance as arrays indexed by travel-matrix index (0 is the depot)."""

    def __init__(self, instance: Instance) -> None:
        nodes = instance.nodes
        size = len(nodes) + 1
        self.instance = instance
        self.travel = np.asarray(instance.travel, dtype=np.float64)
        if self.travel.shape != (size, size):
            raise ValueError(f"The travel matrix must be {size} x {size} (the depot and {size - 1} nodes).")
        self.rows = self.travel.tolist()
        self.opens = np.array([0.0, *(n.opens for n in nodes)])
        self.closes = np.array([math.inf, *(n.closes for n in nodes)])
        self.duration = np.array([0.0, *(n.duration for n in nodes)])
        self.score = np.array([0.0, *(n.score for n in nodes)])
        self.price = np.array([0.0, *(n.price for n in nodes)])
        self.group = np.array([-1, *(-1 if n.group is None else n.group for n in nodes)], dtype=np.int64)
        self.locked = np.array([False, *(n.locked_tour is not None for n in nodes)])
        bonus = float(self.score.sum()) + 1.0  # a required node outweighs every score together
        self.value = self.score + bonus * np.array([0.0, *(1.0 if n.required else 0.0 for n in nodes)])
        self.opens_list, self.closes_list = self.opens.tolist(), self.closes.tolist()
        self.duration_list = self.duration.tolist()
        self.starts = [tour.start for tour in instance.tours]
        self.ends = [tour.end for tour in instance.tours]
        # Nodes that could go in each tour on their own (out and back within its hours): the rest never are tried.
        self.fits = []
        for start, end in zip(self.starts, self.ends, strict=True):
            begin = np.maximum(start + self.travel[0], self.opens)
            alone = (begin <= self.closes + EPSILON) & (begin + self.duration + self.travel[:, 0] <= end + EPSILON)
            alone[0] = False
            self.fits.append(alone & ~self.locked)
        self.budget = math.inf if instance.budget is None else instance.budget
        self.max_stops = instance.max_stops_per_tour if instance.max_stops_per_tour is not None else 1 << 30


class _Tour:
    """One tour's visits (matrix indices) with each position's leave time and slack (wait + max shift)."""

    __slots__ = ("free", "index", "leave", "slack", "visits")

    def __init__(self, index: int, visits: list[int]) -> None:
        self.index = index
        self.visits = visits
        self.leave: list[float] = []  # leave[k]: leaving position k (0 is the depot)
        self.slack: list[float] = []  # slack[k]: how much later position k+1 (a visit, or the depot) could arrive
        self.free = 0  # visits that are not locked

    def copy(self) -> "_Tour":
        other = _Tour(self.index, list(self.visits))
        other.leave, other.slack, other.free = self.leave, self.slack, self.free
        return other

    def time(self, a: _Arrays) -> bool:
        """Recomputes the schedule; False when it is infeasible."""
        rows, opens, closes, duration = a.rows, a.opens_list, a.closes_list, a.duration_list
        clock, here = a.starts[self.index], 0
        leave, waits, starts = [clock], [], []
        for there in self.visits:
            arrive = clock + rows[here][there]
            start = arrive if arrive > opens[there] else opens[there]
            if start > closes[there] + EPSILON:
                return False
            waits.append(start - arrive)
            starts.append(start)
            clock, here = start + duration[there], there
            leave.append(clock)
        back = clock + rows[here][0]
        room = a.ends[self.index] - back
        if room < -EPSILON:
            return False
        slack = [0.0] * (len(self.visits) + 1)
        slack[-1] = room
        for k in range(len(self.visits) - 1, -1, -1):
            there = self.visits[k]
            shift = min(closes[there] - starts[k], slack[k + 1])
            slack[k] = waits[k] + shift
        self.leave, self.slack = leave, slack
        self.free = sum(1 for v in self.visits if not a.locked[v])
        return True

    def insertion(self, a: _Arrays, allowed: NDArray[np.bool_]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """For every node: the least time inserting it takes in this tour, and where (inf where it cannot go)."""
        shift_all = np.full(len(a.score), INFEASIBLE)
        where_all = np.zeros(len(a.score), dtype=np.int64)
        if self.free >= a.max_stops:
            return shift_all, where_all
        candidates = np.flatnonzero(allowed & a.fits[self.index])
        if len(candidates) == 0:
            return shift_all, where_all
        sequence = np.array([0, *self.visits, 0], dtype=np.int64)
        before, after = sequence[:-1], sequence[1:]
        leave = np.asarray(self.leave)[:, None]
        arrive = leave + a.travel[np.ix_(before, candidates)]
        start = np.maximum(arrive, a.opens[candidates])
        shift = (
            start
            + a.duration[candidates]
            + a.travel[np.ix_(candidates, after)].T
            - leave
            - a.travel[before, after][:, None]
        )
        feasible = (start <= a.closes[candidates] + EPSILON) & (shift <= np.asarray(self.slack)[:, None] + EPSILON)
        shift = np.where(feasible, np.maximum(shift, 0.0), INFEASIBLE)
        where = np.argmin(shift, axis=0)
        shift_all[candidates] = shift[where, np.arange(len(candidates))]
        where_all[candidates] = where
        return shift_all, where_all


class _State:
    def __init__(self, a: _Arrays, tours: list[_Tour]) -> None:
        self.a = a
        self.tours = tours
        self.visited = np.zeros(len(a.score), dtype=bool)
        self.groups: set[int] = set()
        self.spent = 0.0
        for tour in tours:
            for v in tour.visits:
                self._take(v)

    def _take(self, v: int) -> None:
        self.visited[v] = True
        self.spent += float(self.a.price[v])
        if self.a.group[v] >= 0:
            self.groups.add(int(self.a.group[v]))

    def _give_back(self, v: int) -> None:
        self.visited[v] = False
        self.spent -= float(self.a.price[v])
        if self.a.group[v] >= 0:
            self.groups.discard(int(self.a.group[v]))

    def copy(self) -> "_State":
        other = _State.__new__(_State)
        other.a, other.tours = self.a, [tour.copy() for tour in self.tours]
        other.visited, other.groups, other.spent = self.visited.copy(), set(self.groups), self.spent
        return other

    @property
    def value(self) -> float:
        return float(self.a.value[self.visited].sum())

    def allowed(self) -> NDArray[np.bool_]:
        a = self.a
        mask = ~self.visited & (a.price <= a.budget - self.spent + EPSILON)
        if self.groups:
            mask &= ~np.isin(a.group, list(self.groups))
        return mask

    def fill(self, rng: random.Random | None, tabu: set[int] | None = None) -> None:
        """Inserts the best ratio value² / time taken (noisy when `rng` is given) until nothing fits. `tabu` nodes
        (those a shake just removed) are not tried, so that the search leaves a local optimum, not rebuild it."""
        if tabu:
            for v in tabu:
                self.visited[v] = True  # held out of `allowed()` for this fill only
            try:
                self.fill(rng)
            finally:
                for v in tabu:
                    self.visited[v] = False
            return
        a = self.a
        # value² / time favours the valuable; value / time the quick: alternating them widens the search.
        power = 2.0 if rng is None or rng.random() < 0.5 else 1.0
        cached = [tour.insertion(a, self.allowed()) for tour in self.tours]
        while True:
            allowed = self.allowed()
            shifts = np.stack([shift for shift, _ in cached])
            tour_of = np.argmin(shifts, axis=0)
            best = shifts[tour_of, np.arange(shifts.shape[1])]
            usable = allowed & np.isfinite(best)
            if not usable.any():
                return
            ratio = np.where(usable, a.value**power / (best + 1e-3), -1.0)
            if rng is not None:
                ratio = ratio * (1.0 + NOISE * (2.0 * np.array([rng.random() for _ in range(len(ratio))]) - 1.0))
                ratio = np.where(usable, ratio, -1.0)
            v = int(np.argmax(ratio))
            t = int(tour_of[v])
            tour = self.tours[t]
            tour.visits.insert(int(cached[t][1][v]), v)
            if not tour.time(a):  # cannot happen with exact slack; kept as a guard against rounding
                tour.visits.remove(v)
                tour.time(a)
                cached[t][0][v] = INFEASIBLE
                continue
            self._take(v)
            cached[t] = tour.insertion(a, self.allowed())

    def shake(self, run: int, first: int) -> set[int]:
        """Removes `run` consecutive unlocked visits from position `first` (cyclically) of every tour; returns them."""
        gone: set[int] = set()
        for tour in self.tours:
            free = [k for k, v in enumerate(tour.visits) if not self.a.locked[v]]
            if not free:
                continue
            chosen = {free[(first + k) % len(free)] for k in range(min(run, len(free)))}
            kept = [v for k, v in enumerate(tour.visits) if k not in chosen]
            removed = [v for k, v in enumerate(tour.visits) if k in chosen]
            previous = tour.visits
            tour.visits = kept
            if tour.time(self.a):
                for v in removed:
                    self._give_back(v)
                gone.update(removed)
            else:  # travel times that break the triangle inequality: keep the tour as it was
                tour.visits = previous
                tour.time(self.a)
        return gone


def _build(a: _Arrays, initial: list[list[int]] | None) -> _State:
    """Locked nodes first (in time order, in their tours), then the visits of `initial` that still fit."""
    tours = [_Tour(index, []) for index in range(len(a.starts))]
    nodes = a.instance.nodes
    locked = [(node.locked_tour, node.opens, i + 1) for i, node in enumerate(nodes) if node.locked_tour is not None]
    for tour_index, _, v in sorted(locked):
        tours[tour_index].visits.append(v)
    for tour in tours:
        if not tour.time(a):
            # The caller's fixed plans do not fit together by these travel times: keep them and fill nothing.
            tour.leave, tour.slack = [a.starts[tour.index]] * (len(tour.visits) + 1), [-1.0] * (len(tour.visits) + 1)
            tour.free = 0
    state = _State(a, tours)
    for tour_index, visits in enumerate(initial or []):
        tour = state.tours[tour_index]
        for v in visits:
            if state.visited[v] or a.locked[v]:
                continue
            trial = sorted([*tour.visits, v], key=lambda x: a.opens_list[x])
            previous = tour.visits
            tour.visits = trial
            if tour.time(a) and state.allowed()[v]:
                state._take(v)
            else:
                tour.visits = previous
                tour.time(a)
    return state


def _solution(a: _Arrays, state: _State, iterations: int, began: float) -> Solution:
    ids = [0, *(node.id for node in a.instance.nodes)]
    tours = tuple(tuple(ids[v] for v in tour.visits) for tour in state.tours)
    required = [i + 1 for i, node in enumerate(a.instance.nodes) if node.required]
    return Solution(
        tours=tours,
        score=float(a.score[state.visited].sum()),
        unplaced_required=tuple(ids[v] for v in required if not state.visited[v]),
        iterations=iterations,
        seconds=time.perf_counter() - began,
    )


def _indices(a: _Arrays, solution: Solution | None) -> list[list[int]] | None:
    if solution is None:
        return None
    index = {node.id: i + 1 for i, node in enumerate(a.instance.nodes)}
    return [[index[node_id] for node_id in tour if node_id in index] for tour in solution.tours]


def greedy(instance: Instance) -> Solution:
    """Best-ratio insertion until nothing fits, with no search: the baseline the search must never fall below."""
    began = time.perf_counter()
    a = _Arrays(instance)
    state = _build(a, None)
    state.fill(None)
    return _solution(a, state, 0, began)


def solve(
    instance: Instance,
    *,
    time_limit: float,
    seed: int = 0,
    iterations: int | None = None,
    initial: Solution | None = None,
) -> Solution:
    """The best solution found within `time_limit` seconds (or `iterations`, whichever ends first)."""
    began = time.perf_counter()
    deadline = began + time_limit
    a = _Arrays(instance)
    rng = random.Random(seed)  # noqa: S311  # nosec B311 - a search's dice, no secret
    current = _build(a, _indices(a, initial))
    current.fill(None)
    best, best_value = current.copy(), current.value
    run, first, stale, done, restarts = 1, 0, 0, 0, 0
    most = max(1, len(instance.nodes) // (3 * max(1, len(instance.tours))))
    while (iterations is None or done < iterations) and time.perf_counter() < deadline:
        done += 1
        removed = current.shake(run, first)
        current.fill(rng, tabu=removed if rng.random() < TABU_SHARE else None)
        current.fill(rng)
        value = current.value
        if value > best_value + EPSILON:
            best, best_value, run, stale = current.copy(), value, 1, 0
        else:
            stale += 1
        shortest = min((tour.free for tour in current.tours), default=0) or 1
        first += run
        run += 1
        if first >= shortest:
            first %= shortest
        if run > most:
            run = 1
        if stale >= RESTART_AFTER:
            restarts += 1
            # Mostly back to the best; every few restarts a fresh noisy build, to leave a basin the shakes cannot.
            current = _build(a, None) if restarts % FRESH_EVERY == 0 else best.copy()
            if restarts % FRESH_EVERY == 0:
                current.fill(rng)
            stale, first = 0, rng.randrange(shortest)
    return _solution(a, best, done, began)
