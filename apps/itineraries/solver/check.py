"""The independent feasibility checker and the schedule of a tour: everything recomputed from the instance, in
plain Python, sharing no code with the search (a bug there cannot hide here)."""

from collections import Counter

from apps.itineraries.solver.model import Instance, Solution, Stop, TourSchedule

TOLERANCE = 1e-6


def _travel(instance: Instance, a: int, b: int) -> float:
    return float(instance.travel[a][b])


def schedule(instance: Instance, tour_index: int, node_ids: tuple[int, ...] | list[int]) -> TourSchedule:
    """Arrive, start (waiting for the window to open) and leave at each stop, and the time back at the depot.
    Raises KeyError for an unknown node id."""
    index = {node.id: position + 1 for position, node in enumerate(instance.nodes)}
    clock, here, stops = instance.tours[tour_index].start, 0, []
    for node_id in node_ids:
        there = index[node_id]
        node = instance.nodes[there - 1]
        arrive = clock + _travel(instance, here, there)
        start = max(arrive, node.opens)
        clock, here = start + node.duration, there
        stops.append(Stop(node_id, arrive, start, clock))
    return TourSchedule(tuple(stops), clock + _travel(instance, here, 0))


def check(instance: Instance, solution: Solution) -> list[str]:
    """What is wrong with the solution (empty when it is feasible): unknown or repeated nodes, a group used twice,
    a locked node missing or elsewhere, a visit starting after its window, a tour back late, too many stops, the
    budget exceeded, or a score that is not the sum of the visits'."""
    problems: list[str] = []
    nodes = {node.id: node for node in instance.nodes}
    if len(solution.tours) != len(instance.tours):
        return [f"{len(solution.tours)} tours for an instance of {len(instance.tours)}"]
    visited = [node_id for tour in solution.tours for node_id in tour]
    unknown = [node_id for node_id in visited if node_id not in nodes]
    if unknown:
        return [f"unknown node {unknown[0]}"]
    problems += [f"node {node_id} visited {count} times" for node_id, count in Counter(visited).items() if count > 1]
    groups = Counter(nodes[node_id].group for node_id in set(visited) if nodes[node_id].group is not None)
    problems += [f"group {group} visited {count} times" for group, count in groups.items() if count > 1]
    for node in instance.nodes:
        if node.locked_tour is not None and node.id not in solution.tours[node.locked_tour]:
            problems.append(f"locked node {node.id} is not in tour {node.locked_tour}")
    for tour_index, tour in enumerate(solution.tours):
        spec = instance.tours[tour_index]
        timing = schedule(instance, tour_index, tour)
        for stop in timing.stops:
            node = nodes[stop.node_id]
            if stop.start > node.closes + TOLERANCE:
                problems.append(f"tour {tour_index}: node {node.id} starts at {stop.start:g} after {node.closes:g}")
        if timing.back > spec.end + TOLERANCE:
            problems.append(f"tour {tour_index}: back at {timing.back:g} after {spec.end:g}")
        stops = sum(1 for node_id in tour if nodes[node_id].locked_tour is None)
        if instance.max_stops_per_tour is not None and stops > instance.max_stops_per_tour:
            problems.append(f"tour {tour_index}: {stops} stops, more than {instance.max_stops_per_tour}")
    spent = sum(nodes[node_id].price for node_id in visited)
    if instance.budget is not None and spent > instance.budget + TOLERANCE:
        problems.append(f"total price {spent:g} over the budget {instance.budget:g}")
    score = sum(nodes[node_id].score for node_id in visited)
    if abs(score - solution.score) > 1e-6 * max(1.0, abs(score)):
        problems.append(f"score {solution.score:g} is not the visits' {score:g}")
    return problems
