"""The solver on random small instances (hypothesis): every answer is feasible by the independent checker, never
worse than greedy insertion, and as good as brute force where brute force can try everything (up to 9 candidates,
one and two tours). Searches are capped by iterations, never by time, so answers do not depend on the machine."""

import itertools
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from apps.itineraries.solver import Instance, Node, TourSpec, check, greedy, schedule, solve

ITERATIONS = 150


@st.composite
def instances(draw: st.DrawFn, *, max_nodes: int = 9, max_tours: int = 2) -> Instance:
    count = draw(st.integers(1, max_nodes))
    tours = draw(st.integers(1, max_tours))
    points = [(draw(st.integers(0, 30)), draw(st.integers(0, 30))) for _ in range(count + 1)]
    travel = [[math.floor(math.dist(a, b) * 10) / 10 for b in points] for a in points]
    horizon = draw(st.integers(60, 160))
    nodes = []
    for index in range(count):
        opens = draw(st.integers(0, horizon // 2))
        nodes.append(
            Node(
                id=index + 1,
                score=draw(st.integers(1, 30)),
                duration=draw(st.integers(0, 25)),
                opens=opens,
                closes=opens + draw(st.integers(0, 150)),
                price=draw(st.sampled_from([0, 0, 5, 10, 20])),
            )
        )
    budget = draw(st.one_of(st.none(), st.integers(0, 40)))
    cap = draw(st.one_of(st.none(), st.integers(1, 4)))
    return Instance(tuple(nodes), tuple(TourSpec(0, horizon) for _ in range(tours)), travel, budget, cap)


def _feasible_tours(instance: Instance, tour_index: int) -> dict[frozenset[int], float]:
    """Every set of nodes one tour can visit, with its score: dynamic programming over (set, last node) keeping
    the earliest time the last visit can be left, which dominates any later one (waiting is allowed)."""
    nodes, travel, spec = instance.nodes, instance.travel, instance.tours[tour_index]
    count = len(nodes)
    earliest: dict[tuple[int, int], float] = {}
    for j, node in enumerate(nodes):
        start = max(spec.start + travel[0][j + 1], node.opens)
        if start <= node.closes:
            earliest[(1 << j, j)] = start + node.duration
    for mask in range(1, 1 << count):
        for j in range(count):
            leave = earliest.get((mask, j))
            if leave is None:
                continue
            for k, node in enumerate(nodes):
                if mask & (1 << k):
                    continue
                start = max(leave + travel[j + 1][k + 1], node.opens)
                if start <= node.closes:
                    key = (mask | (1 << k), k)
                    earliest[key] = min(earliest.get(key, math.inf), start + node.duration)
    found: dict[frozenset[int], float] = {frozenset(): 0.0}
    for (mask, j), leave in earliest.items():
        members = [i for i in range(count) if mask & (1 << i)]
        if leave + travel[j + 1][0] <= spec.end and (
            instance.max_stops_per_tour is None or len(members) <= instance.max_stops_per_tour
        ):
            found[frozenset(nodes[i].id for i in members)] = float(sum(nodes[i].score for i in members))
    return found


def brute_force(instance: Instance) -> float:
    """The best total score: the best feasible set per tour, disjoint, within the budget."""
    price = {node.id: node.price for node in instance.nodes}
    per_tour = [_feasible_tours(instance, t) for t in range(len(instance.tours))]
    best = 0.0
    for combination in itertools.product(*(sets.items() for sets in per_tour)):
        chosen = [nodes for nodes, _ in combination]
        union = frozenset().union(*chosen)
        if sum(len(nodes) for nodes in chosen) != len(union):
            continue
        if instance.budget is not None and sum(price[i] for i in union) > instance.budget:
            continue
        best = max(best, sum(value for _, value in combination))
    return best


@settings(max_examples=60)
@given(instances())
def test_the_answer_is_feasible_and_never_worse_than_greedy(instance: Instance) -> None:
    found = solve(instance, time_limit=60, seed=3, iterations=ITERATIONS)
    assert check(instance, found) == []
    baseline = greedy(instance)
    assert check(instance, baseline) == []
    assert found.score >= baseline.score


@settings(max_examples=40)
@given(instances(max_nodes=6, max_tours=2))
def test_the_answer_equals_brute_force_on_small_instances(instance: Instance) -> None:
    found = solve(instance, time_limit=60, seed=5, iterations=ITERATIONS)
    assert found.score == brute_force(instance)


@settings(max_examples=10)
@given(instances(max_nodes=9, max_tours=1))
def test_the_answer_equals_brute_force_with_nine_candidates(instance: Instance) -> None:
    found = solve(instance, time_limit=60, seed=5, iterations=ITERATIONS)
    assert found.score == brute_force(instance)


@given(instances())
def test_the_schedule_waits_for_windows_and_leaves_after_the_visit(instance: Instance) -> None:
    found = solve(instance, time_limit=60, seed=1, iterations=30)
    by_id = {node.id: node for node in instance.nodes}
    for index, tour in enumerate(found.tours):
        timing = schedule(instance, index, tour)
        for stop in timing.stops:
            node = by_id[stop.node_id]
            assert stop.start == max(stop.arrive, node.opens)
            assert stop.leave == stop.start + node.duration
