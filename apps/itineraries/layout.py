"""From a solver's solution to the itinerary's rows: a Stop per chosen event with its times and the leg that
reaches it (from the previous stop or plan of the person's, or the start point), the way home of each day, and
the must-includes left out with why."""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from apps.events.models import Event
from apps.itineraries import problem as problems
from apps.itineraries import solver
from apps.itineraries.models import Itinerary, Stop
from apps.itineraries.problem import Problem

EARLY_MINUTES = 10
DOES_NOT_FIT = "It does not fit with your plans, the travel between them and the day's hours."


@dataclass
class Layout:
    new: list[Stop] = field(default_factory=list)  # stops for the events the solver chose
    legs: dict[int, tuple[Any, int]] = field(default_factory=dict)  # kept stop's event id → (arrive, minutes)
    back_home: dict[str, int] = field(default_factory=dict)  # "YYYY-MM-DD" → minutes
    left_out: list[dict[str, Any]] = field(default_factory=list)


def lay_out(problem: Problem, solution: solver.Solution, itinerary: Itinerary) -> Layout:
    assert problem.instance is not None
    instance = problem.instance
    chosen = [problem.info[n].event_id for tour in solution.tours for n in tour if problem.info[n].kind == "event"]
    events = Event.objects.in_bulk([event_id for event_id in chosen if event_id is not None])
    layout = Layout()
    rows: list[int | None] = []
    for tour_index, node_ids in enumerate(solution.tours):
        day = problem.days[tour_index]
        timing = solver.schedule(instance, tour_index, node_ids)
        previous: int | None = None
        for visit in timing.stops:
            info, node = problem.info[visit.node_id], instance.nodes[visit.node_id]
            minutes = problems.travel_minutes(problem.leg(previous, visit.node_id))
            # The solver arrives as early as it can; a person sets off to be there a little before it starts.
            arrive = problem.moment(max(min(visit.arrive, visit.start), visit.start - EARLY_MINUTES))
            if info.kind == "pinned" and info.event_id is not None:
                layout.legs[info.event_id] = (arrive, minutes)
            elif info.kind == "event" and info.event_id is not None:
                layout.new.append(
                    Stop(
                        itinerary=itinerary,
                        event=events[info.event_id],
                        day=day.date,
                        position=0,  # numbered with the kept stops when stored
                        arrive=arrive,
                        start=problem.moment(visit.start),
                        end=problem.moment(visit.start + node.duration),
                        leave=problem.moment(visit.leave),
                        travel_mode=problem.ask.travel_mode,
                        travel_minutes=minutes,
                        price=Decimal(str(round(info.price, 2))),
                        score=node.score,
                    )
                )
                rows.append(info.row)
            previous = visit.node_id
        if timing.stops:
            layout.back_home[day.date.isoformat()] = problems.travel_minutes(problem.leg(previous, None))
    _explain(problem, layout.new, rows)
    layout.left_out = _left_out(problem, solution)
    return layout


def _explain(problem: Problem, stops: list[Stop], rows: list[int | None]) -> None:
    known = [row for row in rows if row is not None]
    explained = iter(problem.scores.explain(np.asarray(known, dtype=np.int64)) if known else [])
    for stop, row in zip(stops, rows, strict=True):
        why = list(next(explained)) if row is not None else []
        if stop.event_id in problem.ask.must_include:
            why.insert(0, "you asked for it")
        stop.reasons = why[:4]


def _left_out(problem: Problem, solution: solver.Solution) -> list[dict[str, Any]]:
    missing = dict(problem.left_out)
    placed = {problem.info[node_id].event_id for tour in solution.tours for node_id in tour}
    for node_id in solution.unplaced_required:
        event_id = problem.info[node_id].event_id
        if event_id is not None and event_id not in placed:  # a long event has a node per day, one is enough
            missing.setdefault(event_id, DOES_NOT_FIT)
    return [{"event_id": event_id, "reason": reason} for event_id, reason in sorted(missing.items())]
