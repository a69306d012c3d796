"""The solver's rules on hand-built instances: fixed busy nodes stay, groups and the budget and the cap on stops hold,
required nodes go in or are reported, a seed gives the same answer, a start solution is kept where it fits, and the
checker names each kind of violation. Also the benchmark reader against the KU Leuven format's quirks."""

import math
from pathlib import Path

import numpy as np
import pytest

from apps.itineraries.solver import (
    FormatError,
    Instance,
    Node,
    Solution,
    TourSpec,
    check,
    greedy,
    parse_kuleuven,
    schedule,
    solve,
)

BENCH = Path(__file__).resolve().parents[3].parent / "shared" / "bench-data" / "optw"


def line(count: int, *, spacing: float = 10.0) -> list[list[float]]:
    """Travel times between the depot (0) and nodes 1..count on a line, `spacing` apart."""
    return [[abs(a - b) * spacing for b in range(count + 1)] for a in range(count + 1)]


def node(node_id: int, **fields: float | int | bool | None) -> Node:
    values: dict[str, object] = {"score": 10.0, "duration": 10.0, "opens": 0.0, "closes": 1000.0}
    values.update(fields)
    return Node(id=node_id, **values)  # type: ignore[arg-type]


def solved(instance: Instance, **kwargs: object) -> Solution:
    found = solve(instance, time_limit=60, seed=0, iterations=200, **kwargs)  # type: ignore[arg-type]
    assert check(instance, found) == []
    return found


def test_locked_nodes_stay_in_their_tour_at_their_time() -> None:
    nodes = (node(1), node(2, opens=50, closes=50, duration=30, score=0, locked_tour=1), node(3))
    instance = Instance(nodes, (TourSpec(0, 200), TourSpec(0, 200)), line(3))
    found = solved(instance)
    assert 2 in found.tours[1]
    assert 2 not in found.tours[0]
    stop = next(s for s in schedule(instance, 1, found.tours[1]).stops if s.node_id == 2)
    assert stop.start == 50


def test_a_group_is_visited_once() -> None:
    nodes = (node(1, group=7), node(2, group=7), node(3))
    found = solved(Instance(nodes, (TourSpec(0, 500), TourSpec(0, 500)), line(3)))
    visited = {n for tour in found.tours for n in tour}
    assert len(visited & {1, 2}) == 1
    assert 3 in visited


def test_the_budget_and_the_cap_on_stops_hold() -> None:
    nodes = tuple(node(i, price=10.0, score=float(i)) for i in range(1, 6))
    found = solved(Instance(nodes, (TourSpec(0, 1000),), line(5), budget=25.0))
    assert sorted(n for tour in found.tours for n in tour) == [4, 5]  # the two best that 25 pays for
    capped = solved(Instance(nodes, (TourSpec(0, 1000),), line(5), max_stops_per_tour=3))
    assert sorted(capped.tours[0]) == [3, 4, 5]


def test_a_required_node_outranks_scores_and_an_impossible_one_is_reported() -> None:
    nodes = (
        node(1, score=100, opens=20, closes=20, duration=60),
        node(2, score=1, opens=30, closes=30, duration=10, required=True),  # clashes with node 1
        node(3, score=1, opens=5000, closes=5000, required=True),  # after the tour ends
    )
    found = solved(Instance(nodes, (TourSpec(0, 200),), line(3, spacing=1)))
    assert 2 in found.tours[0]
    assert 1 not in found.tours[0]
    assert found.unplaced_required == (3,)
    assert found.score == 1


def test_the_same_seed_gives_the_same_answer_and_it_beats_greedy() -> None:
    rng = np.random.default_rng(4)
    points = rng.uniform(0, 100, (41, 2))
    travel = np.floor(np.sqrt(((points[:, None] - points[None]) ** 2).sum(axis=2)) * 10) / 10
    opens = rng.uniform(0, 300, 40)
    nodes = tuple(
        Node(i + 1, float(rng.integers(1, 30)), 10.0, float(opens[i]), float(opens[i] + 60)) for i in range(40)
    )
    instance = Instance(nodes, (TourSpec(0, 400), TourSpec(0, 400)), travel)
    first, second = (solve(instance, time_limit=60, seed=9, iterations=300) for _ in range(2))
    assert first.tours == second.tours
    assert check(instance, first) == []
    assert first.score > greedy(instance).score


def test_a_start_solution_is_kept_where_it_still_fits() -> None:
    nodes = (node(1, score=1), node(2, score=1), node(3, score=50, opens=0, closes=5))
    instance = Instance(nodes, (TourSpec(0, 100),), line(3, spacing=1))
    start = Solution(((2, 1),), 2, (), 0, 0.0)
    found = solve(instance, time_limit=60, seed=0, iterations=0, initial=start)
    assert set(found.tours[0]) >= {1, 2}


def test_thousands_of_candidates_two_tours_within_the_iterations() -> None:
    rng = np.random.default_rng(11)
    count = 2000
    points = rng.uniform(0, 60, (count + 1, 2))
    travel = np.sqrt(((points[:, None] - points[None]) ** 2).sum(axis=2))
    day = rng.integers(0, 2, count)
    starts = day * 1440 + rng.uniform(600, 1320, count)
    nodes = tuple(Node(i + 1, float(rng.integers(1, 100)), 120.0, float(starts[i]), float(starts[i]))
                  for i in range(count))  # fmt: skip
    instance = Instance(nodes, (TourSpec(600, 1380), TourSpec(2040, 2820)), travel, budget=200, max_stops_per_tour=4)
    found = solve(instance, time_limit=60, seed=0, iterations=30)
    assert check(instance, found) == []
    assert all(1 <= len(tour) <= 4 for tour in found.tours)


@pytest.mark.parametrize(
    ("tours", "problem"),
    [
        (((1, 1),), "visited 2 times"),
        (((1, 2),), "group 5 visited 2 times"),
        (((4,),), "starts at"),
        (((3,),), "back at"),
        (((1, 6),), "over the budget"),
        (((9,),), "unknown node 9"),
        (((),), "locked node 7"),
        (((1, 8, 2),), "stops, more than"),
    ],
)
def test_the_checker_names_each_violation(tours: tuple[tuple[int, ...], ...], problem: str) -> None:
    nodes = (
        node(1, group=5, score=1),
        node(2, group=5, score=1),
        node(3, opens=0, closes=1000, duration=995, score=1),
        node(4, opens=0, closes=0, score=1),
        node(5, score=1),
        node(6, price=99, score=1),
        node(7, opens=900, closes=900, score=0, locked_tour=0),
        node(8, score=1),
    )
    instance = Instance(nodes, (TourSpec(0, 1000),), line(8, spacing=1), budget=50, max_stops_per_tour=2)
    visited = [n for tour in tours for n in tour]
    score = sum(1 for n in visited if n in range(1, 9) and n != 7)
    found = check(instance, Solution(tours, float(score), (), 0, 0.0))
    assert any(problem in message for message in found), found


def test_the_checker_refuses_a_wrong_score() -> None:
    instance = Instance((node(1),), (TourSpec(0, 100),), line(1))
    assert check(instance, Solution(((1,),), 11.0, (), 0, 0.0)) == ["score 11 is not the visits' 10"]


def test_the_reader_takes_a_header_over_several_lines_and_windows_line_endings() -> None:
    text = "4 10 2\r\n1 0 0\r\n0 0 0 0 0 0 0 0 100\r\n1 3 4 5 7 1 2 1 2 10 20\r\n2 6 8 5 9 1 1 1 30 40\r\n"
    instance = parse_kuleuven(text, decimals=1, tours=2)
    assert [n.id for n in instance.nodes] == [1, 2]
    assert instance.nodes[0] == Node(1, 7.0, 5.0, 10.0, 20.0)
    assert instance.tours == (TourSpec(0, 100), TourSpec(0, 100))
    assert instance.travel[0][1] == 5.0
    assert instance.travel[1][2] == 5.0
    two = parse_kuleuven(text.replace("6 8", "1 1"), decimals=2)
    assert two.travel[0][2] == math.floor(math.sqrt(2) * 100) / 100


@pytest.mark.parametrize("text", ["", "1 2 3", "4 10 2 1 0 0\n0 0 0 0 0 0 0 0 100\n", "4 10 x 1 0 0"])
def test_the_reader_refuses_what_is_not_an_instance(text: str) -> None:
    with pytest.raises(FormatError):
        parse_kuleuven(text)


@pytest.mark.skipif(not (BENCH / "solomon_50").is_dir(), reason="the OPTW benchmark data is not on this machine")
def test_a_benchmark_instance_solves_feasibly() -> None:
    instance = parse_kuleuven((BENCH / "solomon_50" / "50_c101.txt").read_text())
    assert len(instance.nodes) == 50
    found = solve(instance, time_limit=60, seed=0, iterations=100)
    assert check(instance, found) == []
    assert found.score >= greedy(instance).score
