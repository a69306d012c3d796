"""Reads of itineraries: a person's own (anyone else's is a 404, as are expired drafts), and the alternatives that
fit in a stop's place."""

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from apps.core.geo import LatLon
from apps.core.time import weekend_window
from apps.events.models import Event
from apps.itineraries import problem as problems
from apps.itineraries import solver
from apps.itineraries.ask import DEFAULT_DAY_END, DEFAULT_DAY_START, Ask
from apps.itineraries.models import Itinerary, ItineraryStatus, Stop
from apps.itineraries.problem import Problem
from apps.users import selectors as user_selectors
from apps.users.models import User

ALTERNATIVES = 5
ALTERNATIVES_TRIED = 400  # the best-scored events of the day tried in the stop's place


def _live(now: datetime) -> Q:
    return ~Q(status=ItineraryStatus.DRAFT) | Q(expires_at__isnull=True) | Q(expires_at__gt=now)


def itineraries_of(*, owner: User, now: datetime | None = None) -> QuerySet[Itinerary]:
    stops = Stop.objects.select_related("event__venue").order_by("day", "position")
    return (
        Itinerary.objects.filter(_live(now or timezone.now()), owner=owner)
        .prefetch_related(Prefetch("stops", queryset=stops))
        .order_by("-created_at", "-pk")
    )


def itinerary_of(*, owner: User, itinerary_id: int, now: datetime | None = None) -> Itinerary:
    itinerary = itineraries_of(owner=owner, now=now).filter(pk=itinerary_id).first()
    if itinerary is None:
        raise Http404("No such itinerary.")
    return itinerary


def stop_of(*, itinerary: Itinerary, stop_id: int) -> Stop:
    stop = next((stop for stop in itinerary.stops.all() if stop.pk == stop_id), None)
    if stop is None:
        raise Http404("No such stop in this itinerary.")
    stop.itinerary = itinerary
    return stop


def latest_itinerary(*, owner: User, start: datetime, end: datetime, now: datetime | None = None) -> Itinerary | None:
    """The person's newest itinerary for this window (what the page shows again when they come back)."""
    return next(
        (
            itinerary
            for itinerary in itineraries_of(owner=owner, now=now)[:10]
            if itinerary.request.get("start") == start.isoformat() and itinerary.request.get("end") == end.isoformat()
        ),
        None,
    )


class NoStartLocation(Exception):
    """ "home" was asked for (or defaulted to) and the profile has no home."""


class NothingLeft(Exception):
    """The window holds no day hours from now on (late on a Sunday, or a window in the past)."""


def ask_for(*, user: User, values: dict[str, Any], now: datetime) -> Ask:
    """The ask from validated API or form values, the profile filling in what is not given."""
    profile = user_selectors.profile_for(user=user)
    tz = profile.timezone
    if "start" in values:
        start, end = values["start"], values["end"]
    else:
        start, end = weekend_window(values.get("weekend", "this"), tz, now=now)
    location = values.get("start_location", "home")
    if location == "home":
        if profile.home_lat is None or profile.home_lon is None:
            raise NoStartLocation
        origin = LatLon(profile.home_lat, profile.home_lon)
    else:
        origin = LatLon(*location)
    budget = values.get("budget", profile.budget)
    ask = Ask(
        start=start,
        end=end,
        timezone=tz,
        origin=origin,
        origin_is_home=location == "home",
        travel_mode=values.get("travel_mode") or profile.travel_mode,
        pace=values.get("pace") or "balanced",
        budget=float(budget) if budget is not None else None,
        currency=profile.currency,
        day_start=values.get("day_start") or DEFAULT_DAY_START,
        day_end=values.get("day_end") or DEFAULT_DAY_END,
        must_include=tuple(dict.fromkeys(values.get("must_include", ()))),
        exclude=tuple(sorted(set(values.get("exclude", ())))),
    )
    if not problems.days_of(ask, now=now):
        raise NothingLeft
    return ask


def ask_keeping(itinerary: Itinerary, kept: list[Stop], *, exclude: set[int]) -> Ask:
    """The stored ask, with `kept` stops that are not on the calendar pinned at their times, and accepted ones
    left to the calendar (their plans are fixed busy time like any other)."""
    ask = Ask.from_json(itinerary.request)
    pinned = {stop.event_id: (stop.start, stop.end) for stop in kept if not stop.accepted}
    accepted = {stop.event_id for stop in itinerary.stops.all() if stop.accepted}
    return dataclasses.replace(ask, pinned=pinned, exclude=tuple(sorted({*ask.exclude, *exclude, *accepted})))


def swap_problem(*, stop: Stop, now: datetime) -> tuple[Problem, list[Stop]]:
    """The itinerary with every other stop kept where it is and this stop's event out: what an alternative for
    this stop is tried against (`alternatives`)."""
    itinerary = stop.itinerary
    kept = [other for other in itinerary.stops.all() if other.pk != stop.pk]
    ask = ask_keeping(itinerary, kept, exclude={stop.event_id})
    return problems.build(user=itinerary.owner, ask=ask, now=now), kept


@dataclass(frozen=True)
class Alternative:
    event: Event
    start: datetime
    end: datetime
    score: float
    reasons: list[str]


def _tours(problem: Problem) -> list[list[int]]:
    """The fixed nodes (kept stops, the person's plans) of each day, in time order."""
    assert problem.instance is not None
    tours: list[list[int]] = [[] for _ in problem.days]
    for node_id, node in enumerate(problem.instance.nodes):
        if node.locked_tour is not None:
            tours[node.locked_tour].append(node_id)
    for tour in tours:
        tour.sort(key=lambda node_id: problem.nodes[node_id].opens)
    return tours


def _fit(problem: Problem, tours: list[list[int]], tour_index: int, node_id: int) -> solver.Solution | None:
    """The fixed tours with `node_id` added to one day where the checker finds it feasible (the first place)."""
    assert problem.instance is not None
    base = tours[tour_index]
    for position in range(len(base) + 1):
        trial = [list(tour) for tour in tours]
        trial[tour_index] = [*base[:position], node_id, *base[position:]]
        score = sum(problem.nodes[n].score for tour in trial for n in tour)
        solution = solver.Solution(tuple(tuple(t) for t in trial), score, (), 0, 0.0)
        if not solver.check(problem.instance, solution):
            return solution
    return None


def _day_nodes(problem: Problem, day: date) -> tuple[int | None, list[int]]:
    """The day's tour index and its candidate event nodes, best first."""
    tour_index = next((index for index, d in enumerate(problem.days) if d.date == day), None)
    if tour_index is None:
        return None, []
    tour = problem.days[tour_index]
    opens, closes = problem.minutes(tour.start), problem.minutes(tour.end)
    nodes = [
        node_id
        for node_id, node in enumerate(problem.nodes)
        if problem.info[node_id].kind == "event" and opens <= node.closes and node.opens <= closes
    ]
    nodes.sort(key=lambda node_id: -problem.nodes[node_id].score)
    return tour_index, nodes


def fitting_solution(problem: Problem, *, day: date, event_id: int) -> solver.Solution | None:
    """The kept stops and plans with `event_id` added on `day`, when it fits there."""
    tour_index, nodes = _day_nodes(problem, day)
    if tour_index is None:
        return None
    tours = _tours(problem)
    for node_id in nodes:
        if problem.info[node_id].event_id == event_id:
            fitted = _fit(problem, tours, tour_index, node_id)
            if fitted is not None:
                return fitted
    return None


def alternatives(problem: Problem, *, day: date, limit: int = ALTERNATIVES) -> list[Alternative]:
    """The best events that fit on `day` among the kept stops and plans, each with its time and reasons."""
    tour_index, nodes = _day_nodes(problem, day)
    if tour_index is None:
        return []
    tours = _tours(problem)
    found: list[tuple[int, int, solver.Solution]] = []
    seen: set[int] = set()
    for node_id in nodes[:ALTERNATIVES_TRIED]:
        event_id = problem.info[node_id].event_id
        if event_id is None or event_id in seen:
            continue
        fitted = _fit(problem, tours, tour_index, node_id)
        if fitted is not None:
            seen.add(event_id)
            found.append((node_id, event_id, fitted))
            if len(found) == limit:
                break
    events = Event.objects.select_related("venue").in_bulk([event_id for _, event_id, _ in found])
    rows = [problem.info[node_id].row for node_id, _, _ in found]
    explained = problem.scores.explain(np.asarray([row for row in rows if row is not None], dtype=np.int64))
    reasons = iter(explained)
    result = []
    assert problem.instance is not None
    for (node_id, event_id, fitted), row in zip(found, rows, strict=True):
        timing = solver.schedule(problem.instance, tour_index, fitted.tours[tour_index])
        visit = next(v for v in timing.stops if v.node_id == node_id)
        node = problem.nodes[node_id]
        result.append(
            Alternative(
                event=events[event_id],
                start=problem.moment(visit.start),
                end=problem.moment(visit.start + node.duration),
                score=node.score,
                reasons=list(next(reasons)) if row is not None else [],
            )
        )
    return result
