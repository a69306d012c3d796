"""Writes of itineraries: plan a draft, replan around what is kept, swap, pin or remove a stop, accept stops onto
the calendar, and let old drafts go. Showing, accepting and swapping are tracked through analytics."""

import itertools
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.analytics import services as analytics_services
from apps.analytics.models import TrackedEventType, TrackedObjectType
from apps.calendars import selectors as calendar_selectors
from apps.calendars import services as calendar_services
from apps.calendars.conflicts import Conflict
from apps.core import geo
from apps.core.geo import LatLon
from apps.itineraries import problem as problems
from apps.itineraries import scoring, selectors, solver
from apps.itineraries.ask import Ask
from apps.itineraries.layout import lay_out
from apps.itineraries.models import Itinerary, ItineraryStatus, Stop
from apps.itineraries.problem import Problem
from apps.users.models import User

logger = structlog.get_logger(__name__)

DRAFT_LIFETIME = timedelta(days=7)


class AcceptConflict(Exception):
    """Accepting would clash with the person's calendar as it is now: nothing was created."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        super().__init__("A stop now clashes with your calendar; nothing was added.")
        self.conflicts = conflicts


class StopUnavailable(Exception):
    """The stop cannot change that way; the message says why (for the person)."""


# --- Solving and storing ----------------------------------------------------------------------------------------


def solve(problem: Problem, *, initial: solver.Solution | None = None) -> solver.Solution:
    """The solver's answer; nothing to choose when no day hours are left (a replan late on a Sunday)."""
    assert problem.instance is not None
    if not problem.days:
        return solver.Solution(tours=(), score=0.0, unplaced_required=(), iterations=0, seconds=0.0)
    return solver.solve(
        problem.instance,
        time_limit=settings.ITINERARY_SOLVER_SECONDS,
        seed=0,
        iterations=settings.ITINERARY_SOLVER_ITERATIONS,
        initial=initial,
    )


def _store(itinerary: Itinerary, problem: Problem, solution: solver.Solution, *, keep: list[Stop]) -> None:
    """Replaces the itinerary's stops by the solution's, next to the `keep` ones (their legs updated), numbered by
    time within each day, with the totals."""
    layout = lay_out(problem, solution, itinerary)
    itinerary.stops.exclude(pk__in=[stop.pk for stop in keep]).delete()
    for stop in keep:
        if stop.event_id in layout.legs:
            stop.arrive, stop.travel_minutes = layout.legs[stop.event_id]
    Stop.objects.bulk_create(layout.new)
    stops = [*keep, *layout.new]
    _number(stops)
    Stop.objects.bulk_update(stops, ["position", "arrive", "travel_minutes"])
    itinerary.back_home = {**_kept_days_home(itinerary, keep, layout.back_home), **layout.back_home}
    itinerary.left_out = layout.left_out
    itinerary.ranker = problem.scores.ranker
    _totals(itinerary, stops)


def _number(stops: list[Stop]) -> None:
    by_day: dict[date, int] = {}
    for stop in sorted(stops, key=lambda s: (s.day, s.start, s.pk or 0)):
        by_day[stop.day] = stop.position = by_day.get(stop.day, 0) + 1


def _kept_days_home(itinerary: Itinerary, keep: list[Stop], planned: dict[str, int]) -> dict[str, int]:
    """The way home of days that only hold kept (accepted) stops: as it was."""
    days = {stop.day.isoformat() for stop in keep} - set(planned)
    return {day: minutes for day, minutes in itinerary.back_home.items() if day in days}


def _totals(itinerary: Itinerary, stops: list[Stop]) -> None:
    itinerary.score = round(sum(stop.score for stop in stops), 3)
    itinerary.total_price = sum((stop.price for stop in stops), Decimal(0))
    itinerary.save()


def _track(user: User, itinerary: Itinerary, kind: str, *, track: bool, **context: Any) -> None:
    """One server-side tracked event about the itinerary (unless the person asked not to be tracked), in the
    caller's transaction: written with it, or not at all."""
    if not track:
        return
    event = analytics_services.ServerEvent(
        type=kind, user_id=user.pk, object_type=TrackedObjectType.ITINERARY, object_id=str(itinerary.pk),
        context=context,
    )  # fmt: skip
    analytics_services.tracking_server_events(events=[event])


# --- Planning -------------------------------------------------------------------------------------------------


@transaction.atomic
def itinerary_create(
    *, owner: User, ask: Ask, now: datetime | None = None, track: bool = True, companions: Sequence[User] = ()
) -> Itinerary:
    """Plans the ask and stores it as a draft that expires after DRAFT_LIFETIME. With `companions` (a group
    planning together) the stops fit everyone's free time and are scored for all of them (scoring.shared_scorer);
    the itinerary is the owner's, and a replan of it plans for the owner alone."""
    now = now or timezone.now()
    scorer = scoring.shared_scorer(companions) if companions else None
    problem = problems.build(user=owner, ask=ask, now=now, scorer=scorer, companions=companions)
    solution = solve(problem)
    itinerary = Itinerary.objects.create(
        owner=owner, request=ask.as_json(), timezone=ask.timezone, currency=ask.currency,
        expires_at=now + DRAFT_LIFETIME,
    )  # fmt: skip
    _store(itinerary, problem, solution, keep=[])
    stops = itinerary.stops.count()
    _track(owner, itinerary, TrackedEventType.IMPRESSION, track=track, action="shown", stops=stops,
           ranker=itinerary.ranker)  # fmt: skip
    logger.info("itinerary_planned", itinerary_id=itinerary.pk, stops=stops, seconds=round(solution.seconds, 3))
    return itinerary


@transaction.atomic
def itinerary_replan(*, itinerary: Itinerary, now: datetime | None = None) -> Itinerary:
    """Keeps accepted and pinned stops and fills the rest of the days again."""
    now = now or timezone.now()
    itinerary = Itinerary.objects.select_for_update().get(pk=itinerary.pk)
    kept = [stop for stop in itinerary.stops.all() if stop.pinned or stop.accepted]
    problem = problems.build(user=itinerary.owner, ask=selectors.ask_keeping(itinerary, kept, exclude=set()), now=now)
    _store(itinerary, problem, solve(problem), keep=kept)
    if itinerary.status == ItineraryStatus.DRAFT:
        itinerary.expires_at = now + DRAFT_LIFETIME
        itinerary.save(update_fields=["expires_at"])
    return itinerary


@transaction.atomic
def stop_swap(*, stop: Stop, event_id: int, now: datetime | None = None, track: bool = True) -> Itinerary:
    """Puts `event_id` in the stop's place when it fits there (one of the stop's alternatives), keeping every
    other stop as it is. Raises StopUnavailable otherwise."""
    now = now or timezone.now()
    itinerary = Itinerary.objects.select_for_update().get(pk=stop.itinerary_id)
    if stop.accepted:
        raise StopUnavailable("The stop is on your calendar already; remove it there first.")
    problem, kept = selectors.swap_problem(stop=stop, now=now)
    fitted = selectors.fitting_solution(problem, day=stop.day, event_id=event_id)
    if fitted is None:
        raise StopUnavailable("That event does not fit in this stop's place in the day.")
    _store(itinerary, problem, fitted, keep=kept)
    _track(itinerary.owner, itinerary, TrackedEventType.FEEDBACK, track=track, action="swap", old=stop.event_id,
           new=event_id)  # fmt: skip
    return itinerary


def stop_pin(*, stop: Stop, pinned: bool) -> Stop:
    stop.pinned = pinned
    stop.save(update_fields=["pinned"])
    return stop


@transaction.atomic
def stop_remove(*, stop: Stop) -> Itinerary:
    """Takes a stop out (an accepted one's plan stays on the calendar), keeps its event out of replans, and
    re-times the legs of its day around the gap."""
    itinerary = Itinerary.objects.select_for_update().get(pk=stop.itinerary_id)
    ask = Ask.from_json(itinerary.request)
    itinerary.request = {**itinerary.request, "exclude": sorted({*ask.exclude, stop.event_id})}
    day = stop.day
    stop.delete()
    stops = list(itinerary.stops.select_related("event").order_by("day", "start"))
    today = [s for s in stops if s.day == day]
    places = [ask.origin, *(_place(s) for s in today), ask.origin]
    legs = geo.cached_travel_times(list(itertools.pairwise(places)), ask.travel_mode)
    for other, leg in zip(today, legs, strict=False):
        other.travel_minutes = problems.travel_minutes(leg.seconds / 60)
    _number(stops)
    Stop.objects.bulk_update(stops, ["position", "travel_minutes"])
    if today:
        itinerary.back_home[day.isoformat()] = problems.travel_minutes(legs[-1].seconds / 60)
    else:
        itinerary.back_home.pop(day.isoformat(), None)
    _totals(itinerary, stops)
    return itinerary


def _place(stop: Stop) -> LatLon:
    event = stop.event
    assert event.lat is not None  # an event without a place is never a stop
    assert event.lon is not None
    return LatLon(event.lat, event.lon)


# --- Accepting and expiring -------------------------------------------------------------------------------------


@transaction.atomic
def itinerary_accept(*, itinerary: Itinerary, stop_ids: list[int] | None = None, track: bool = True) -> Itinerary:
    """Puts the chosen stops (all by default) on the owner's default calendar, each a plan following its event,
    all or nothing: a clash with the calendar as it is now raises AcceptConflict and nothing is created. The
    itinerary's own stops were planned to fit together and are not checked against each other."""
    itinerary = Itinerary.objects.select_for_update().get(pk=itinerary.pk)
    owner = itinerary.owner
    stops = list(itinerary.stops.select_related("event__venue"))
    if stop_ids is not None:
        unknown = set(stop_ids) - {stop.pk for stop in stops}
        if unknown:
            raise StopUnavailable(f"There is no stop {min(unknown)} in this itinerary.")
        stops = [stop for stop in stops if stop.pk in stop_ids]
    stops = [stop for stop in stops if not stop.accepted]
    calendar = calendar_services.calendar_ensure_default(owner=owner)
    for stop in stops:
        stop.plan = calendar_services.plan_from_event(calendar=calendar, event=stop.event, visit=(stop.start, stop.end))
    ours = {stop.plan_id for stop in stops}
    clashes = _unique(
        conflict
        for stop in stops
        if stop.plan is not None
        for conflict in calendar_selectors.conflicts_for_plan(owner=owner, plan=stop.plan)
        if not {conflict.first.plan_id, conflict.second.plan_id} <= ours
    )
    if clashes:
        raise AcceptConflict(clashes)  # the atomic block rolls the plans back
    Stop.objects.bulk_update(stops, ["plan"])
    itinerary.status, itinerary.expires_at = ItineraryStatus.ACCEPTED, None
    itinerary.save(update_fields=["status", "expires_at", "updated_at"])
    _track(owner, itinerary, TrackedEventType.PLAN, track=track, action="accepted", stops=len(stops))
    return itinerary


def _unique(conflicts: Any) -> list[Conflict]:
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for conflict in conflicts:
        key = (conflict.kind, conflict.first.plan_id, conflict.second.plan_id, conflict.first.start_utc)
        if key not in seen:
            seen.add(key)
            unique.append(conflict)
    return unique


def expire_drafts(*, now: datetime | None = None) -> int:
    """Deletes drafts past their expiry (with their stops); returns how many drafts went."""
    expired = Itinerary.objects.filter(status=ItineraryStatus.DRAFT, expires_at__lte=now or timezone.now())
    _, per_model = expired.delete()
    return per_model.get(Itinerary._meta.label, 0)
