"""From a person's ask to the solver's instance: one tour per day of the window on a clock of minutes since the
window's start, a node per way to visit a candidate event, the person's own plans as fixed busy nodes, and the
travel matrix for their travel mode with the pace's slack between stops.

Simplifications, said once: a plan of the person's without a place is taken to be at the start point; a plan that
runs across a day's first or last hour moves that hour instead of being a node; long events (markets,
exhibitions, all-day fairs) are visited for VISIT at any time they are open within the day's hours.
"""

import math
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from apps.calendars import selectors as calendar_selectors
from apps.core import geo
from apps.core.geo import LatLon
from apps.events.models import Event, EventStatus
from apps.itineraries import scoring
from apps.itineraries.ask import Ask
from apps.itineraries.solver import Instance, Node, TourSpec
from apps.users.models import User

LONG_EVENT = timedelta(hours=4)  # longer than this, an event is a place to drop in on, not a show to sit through
VISIT = timedelta(hours=2)  # how long a drop-in visit lasts (shorter when the event is)
NO_END = timedelta(hours=2)  # an event that does not say when it ends (as calendars take it)
MAX_CANDIDATES = 2500  # the best-scored events of the window the solver chooses among
PINNED_SCORE = 1000.0  # a pinned stop outweighs any candidate (it is also locked: this only orders reports)

Kind = Literal["event", "pinned", "busy"]


@dataclass(frozen=True)
class Day:
    date: date
    start: datetime  # the tour's hours, UTC
    end: datetime


@dataclass(frozen=True)
class NodeInfo:
    kind: Kind
    place: LatLon
    event_id: int | None = None
    row: int | None = None  # the event's row in the scores (for its reasons)
    price: float = 0.0


@dataclass
class Problem:
    ask: Ask
    days: list[Day]
    scores: scoring.Scores
    info: list[NodeInfo] = field(default_factory=list)  # info[i] is instance.nodes[i] (node id i)
    nodes: list[Node] = field(default_factory=list)
    travel: NDArray[np.float64] = field(default_factory=lambda: np.zeros((1, 1)))  # minutes, no slack
    left_out: dict[int, str] = field(default_factory=dict)  # must-include event id → why it cannot be placed
    instance: Instance | None = None

    def minutes(self, moment: datetime) -> float:
        return (moment - self.ask.start).total_seconds() / 60

    def moment(self, minutes: float) -> datetime:
        return self.ask.start + timedelta(minutes=minutes)

    def leg(self, before: int | None, after: int | None) -> float:
        """Travel minutes between two nodes (None: the start point), without the pace's slack."""
        return float(self.travel[0 if before is None else before + 1, 0 if after is None else after + 1])


def days_of(ask: Ask, *, now: datetime) -> list[Day]:
    """Each local date of the window with its day hours, cut to the window and to what is left of today."""
    zone = zoneinfo.ZoneInfo(ask.timezone)
    first, last = ask.start.astimezone(zone).date(), (ask.end - timedelta(microseconds=1)).astimezone(zone).date()
    days = []
    for offset in range((last - first).days + 1):
        local = first + timedelta(days=offset)
        opens = datetime.combine(local, ask.day_start, tzinfo=zone).astimezone(UTC)
        closes = datetime.combine(local, ask.day_end, tzinfo=zone).astimezone(UTC)
        if ask.day_end <= ask.day_start:  # the day runs past midnight
            closes += timedelta(days=1)
        start, end = max(opens, ask.start, now), min(closes, ask.end)
        if end - start >= timedelta(minutes=30):
            days.append(Day(local, start, end))
    return days


def build(
    *, user: User, ask: Ask, now: datetime, scorer: scoring.Scorer | None = None, companions: Sequence[User] = ()
) -> Problem:
    """The instance to solve for `ask`. Raises nothing for must-includes that cannot go in: they are in
    `left_out` with the reason. `companions` (a group going together) are busy when any of them is."""
    days = days_of(ask, now=now)
    near = ask.origin
    scores = (scorer or scoring.SCORER)(user=user, start=ask.start, end=ask.end, near=near, tz=ask.timezone, now=now)
    problem = Problem(ask=ask, days=days, scores=scores)
    values = scoring.solver_scores(scores.values)
    excluded = set(ask.exclude) | set(ask.pinned)
    order = [int(row) for row in np.argsort(-values, kind="stable") if int(scores.event_ids[row]) not in excluded]
    rows = {int(scores.event_ids[row]): row for row in order[:MAX_CANDIDATES]}
    for event_id in ask.must_include:
        if event_id not in rows and event_id not in ask.pinned:
            position = np.flatnonzero(scores.event_ids == event_id)
            rows[event_id] = int(position[0]) if len(position) else -1
    events = _event_rows([*rows, *ask.pinned])
    for event_id, (start, end) in ask.pinned.items():
        event = events.get(event_id)
        day = _day_index(days, start)
        if event is not None and day is not None:
            minutes = problem.minutes(start)
            node = Node(len(problem.nodes), PINNED_SCORE, (end - start).total_seconds() / 60, minutes, minutes,
                        price=event["price"], locked_tour=day)  # fmt: skip
            _add(problem, node, NodeInfo("pinned", event["place"], event_id, price=event["price"]))
    for event_id, row in rows.items():
        required = event_id in ask.must_include
        reason = _unusable(events.get(event_id), days, ask)
        if reason is not None:
            if required:
                problem.left_out[event_id] = reason
            continue
        score = float(values[row]) if row >= 0 else 1.0
        added = _add_event(problem, events[event_id], score=score, row=row if row >= 0 else None, required=required)
        if required and not added:
            problem.left_out[event_id] = "It does not fall within the hours of the days asked for."
    _add_busy(problem, users=[user, *companions])
    problem.travel = _travel_matrix(problem)
    problem.instance = Instance(
        nodes=tuple(problem.nodes),
        tours=tuple(TourSpec(problem.minutes(day.start), problem.minutes(day.end)) for day in days),
        travel=_with_slack(problem),
        budget=ask.budget,
        max_stops_per_tour=ask.max_stops_per_day,
    )
    return problem


def _event_rows(event_ids: list[int]) -> dict[int, dict[str, Any]]:
    found = {}
    fields = ("pk", "start_utc", "end_utc", "all_day", "time_tba", "lat", "lon", "price_min", "is_free", "status")
    for pk, start, end, all_day, tba, lat, lon, price, free, status in Event.objects.filter(
        pk__in=event_ids, canonical__isnull=True
    ).values_list(*fields):
        found[pk] = {
            "id": pk,
            "start": start,
            "end": end or start + NO_END,
            "all_day": all_day,
            "tba": tba,
            "place": LatLon(lat, lon) if lat is not None and lon is not None else None,
            "price": 0.0 if free or price is None else float(price),
            "cancelled": status == EventStatus.CANCELLED,
        }
    return found


def _unusable(event: dict[str, Any] | None, days: list[Day], ask: Ask) -> str | None:
    if event is None:
        return "No such event in the catalogue (it may have been merged into another)."
    if event["cancelled"]:
        return "The event was cancelled."
    if event["tba"]:
        return "The event has no time yet."
    if event["place"] is None:
        return "The event has no place to travel to."
    if not days or event["end"] <= days[0].start or event["start"] >= days[-1].end:
        return "The event is not on the days asked for."
    if ask.budget is not None and event["price"] > ask.budget:
        return "It costs more than the budget."
    return None


def _day_index(days: list[Day], moment: datetime) -> int | None:
    return next((index for index, day in enumerate(days) if day.start <= moment < day.end), None)


def _add(problem: Problem, node: Node, info: NodeInfo) -> None:
    problem.nodes.append(node)
    problem.info.append(info)


def _add_event(problem: Problem, event: dict[str, Any], *, score: float, row: int | None, required: bool) -> bool:
    """A node per way to visit the event: at its time when it is a show; within each day's hours for VISIT when
    it is a long event (one group, so it is visited once). False when no day can hold it."""
    start, end = event["start"], event["end"]
    info = NodeInfo("event", event["place"], event["id"], row, event["price"])
    added = False
    if end - start <= LONG_EVENT and not event["all_day"]:
        if _day_index(problem.days, start) is not None:
            minutes = problem.minutes(start)
            node = Node(len(problem.nodes), score, (end - start).total_seconds() / 60, minutes, minutes,
                        price=event["price"], required=required)  # fmt: skip
            _add(problem, node, info)
            added = True
        return added
    group = len(problem.nodes)
    visit = min(VISIT, end - start).total_seconds() / 60
    for day in problem.days:
        opens, closes = problem.minutes(max(start, day.start)), problem.minutes(min(end, day.end)) - visit
        if closes >= opens:
            node = Node(len(problem.nodes), score, visit, opens, closes, price=event["price"], group=group,
                        required=required)  # fmt: skip
            _add(problem, node, info)
            added = True
    return added


def _add_busy(problem: Problem, *, users: Sequence[User]) -> None:
    """The people's plans in the day hours as locked nodes (overlapping ones merged, whoever's they are); one that
    covers a day's first or last hour shortens that day instead. Only times and places are read, never titles."""
    calendar_ids = [c.pk for user in users for c in calendar_selectors.calendars_of(owner=user)]
    items = calendar_selectors.occurrences(calendar_ids=calendar_ids, start=problem.ask.start, end=problem.ask.end)
    blocks: list[list[Any]] = []  # [start, end, place]
    for item in items:
        if item.occurrence.all_day:
            continue  # a birthday or a holiday marks the day; it does not take its hours
        plan = item.plan
        place = LatLon(plan.lat, plan.lon) if plan.lat is not None and plan.lon is not None else problem.ask.origin
        begin, finish = item.occurrence.start_utc, item.occurrence.end_utc
        if blocks and begin < blocks[-1][1]:
            blocks[-1][1] = max(blocks[-1][1], finish)
        else:
            blocks.append([begin, finish, place])
    for index, day in enumerate(problem.days):
        for begin, finish, place in blocks:
            if finish <= day.start or begin >= day.end:
                continue
            if begin <= day.start:
                day = problem.days[index] = Day(day.date, min(finish, day.end), day.end)
            elif finish >= day.end:
                day = problem.days[index] = Day(day.date, day.start, max(begin, day.start))
            else:
                minutes = problem.minutes(begin)
                duration = (finish - begin).total_seconds() / 60
                _add(problem, Node(len(problem.nodes), 0.0, duration, minutes, minutes, locked_tour=index),
                     NodeInfo("busy", place))  # fmt: skip


def _travel_matrix(problem: Problem) -> NDArray[np.float64]:
    """Minutes between the start point (index 0) and every node: the offline estimate for all pairs, the cached
    travel times (Google's, when a key fetched them) for every leg from and to the start point."""
    ask = problem.ask
    places = [ask.origin, *(info.place for info in problem.info)]
    matrix = geo.estimate_minutes_matrix(places, ask.travel_mode)
    if len(places) > 1:
        pairs = [(ask.origin, place) for place in places[1:]] + [(place, ask.origin) for place in places[1:]]
        legs = np.asarray([travel.seconds / 60 for travel in geo.cached_travel_times(pairs, ask.travel_mode)])
        count = len(places) - 1
        matrix[0, 1:], matrix[1:, 0] = legs[:count], legs[count:]
    return matrix


def _with_slack(problem: Problem) -> NDArray[np.float64]:
    """The solver's matrix: the pace's slack added between stops (not on the way out or home); and between the
    person's own plans, never more than the time they left themselves, so that their day as it is stays feasible."""
    matrix = problem.travel + problem.ask.gap_minutes
    matrix[0, :] = problem.travel[0, :]
    matrix[:, 0] = problem.travel[:, 0]
    np.fill_diagonal(matrix, 0.0)
    locked = [index for index, node in enumerate(problem.nodes) if node.locked_tour is not None]
    tours = [(problem.minutes(day.start), problem.minutes(day.end)) for day in problem.days]
    for a in locked:
        first = problem.nodes[a]
        start, end = tours[first.locked_tour or 0]
        matrix[0, a + 1] = min(matrix[0, a + 1], max(0.0, first.opens - start))
        matrix[a + 1, 0] = min(matrix[a + 1, 0], max(0.0, end - first.opens - first.duration))
        for b in locked:
            second = problem.nodes[b]
            if a != b and first.locked_tour == second.locked_tour and first.opens <= second.opens:
                room = max(0.0, second.opens - first.opens - first.duration)
                matrix[a + 1, b + 1] = min(matrix[a + 1, b + 1], room)
    return matrix


def travel_minutes(value: float) -> int:
    return math.ceil(round(value, 6))
