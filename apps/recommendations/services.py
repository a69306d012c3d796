"""Writes of recommendations: serving a list (its impressions are tracked through analytics), a person's
feedback, and training (apps.recommendations.training)."""

import copy
import math
import uuid
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from numpy.typing import NDArray

from apps.analytics import services as analytics_services
from apps.analytics.models import TrackedEventType, TrackedObjectType
from apps.calendars import selectors as calendar_selectors
from apps.core.geo import LatLon
from apps.events.models import Event
from apps.recommendations import diversity, rankers, selectors
from apps.recommendations.context import MIN_HISTORY, Candidates, Person
from apps.recommendations.models import Feedback, FeedbackAction
from apps.recommendations.rankers import Ranking, content, learned, popularity
from apps.users.models import User

logger = structlog.get_logger(__name__)

EXPERIMENT_KEY = "recommendations-ranker"  # its variant keys name rankers; `control` keeps the default choice
CONTROL = "control"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class UnknownRanker(Exception):
    pass


@dataclass(frozen=True)
class Recommendation:
    rank: int
    score: float
    reasons: list[str]
    event: Event  # with `distance_km` set, as the events API's item shape shows it


@dataclass(frozen=True)
class RecommendationList:
    request_id: str
    ranker: str
    variant: str | None
    model_version: str | None
    results: list[Recommendation]


def _default_ranker(person: Person) -> str:
    """`learned` for a signed-in person with enough history, else `content` when there is anything to match
    (interests, a home, feedback), else `popularity`."""
    if person.user_id is None:
        return popularity.NAME
    if person.positives >= MIN_HISTORY:
        return learned.NAME
    if person.interests or person.home is not None or person.category_feedback or person.venue_feedback:
        return content.NAME
    return popularity.NAME


def _ranking(name: str, person: Person, candidates: Candidates, *, now: datetime) -> Ranking:
    """The named ranker's ranking; `learned` without a loadable model falls back to the default's next choice."""
    try:
        return rankers.get(name).rank(person, candidates, now=now)
    except learned.ModelUnavailable:
        fallback = content.NAME if person.interests or person.home is not None else popularity.NAME
        logger.info("recommendation_fallback", wanted=name, used=fallback, reason="no_model")
        return rankers.get(fallback).rank(person, candidates, now=now)


def _variant_ranker(user: User | None) -> tuple[str | None, str | None]:
    """(variant, ranker it names) when the ranker experiment is running and the person is in it."""
    if user is None:
        return None, None
    variant = analytics_services.experiment_variant(key=EXPERIMENT_KEY, unit_id=str(user.pk))
    if variant is None or variant == CONTROL:
        return variant, None
    if variant not in rankers.names():
        logger.warning("recommendation_variant_unknown", variant=variant)
        return variant, None
    return variant, variant


def recommendations_serve(
    *,
    user: User | None,
    start: datetime,
    end: datetime,
    near: LatLon | None = None,
    tz: str = "UTC",
    limit: int = DEFAULT_LIMIT,
    ranker: str | None = None,
    track: bool = True,
    queue_impressions: bool | None = None,
    now: datetime | None = None,
) -> RecommendationList:
    """The person's list for [start, end): candidates, the ranker the experiment (or `ranker`, for staff) names or
    the default one, the diversity step, and one impression per item logged through analytics (unless `track` is
    off: Do Not Track, or a staff preview). The impressions are handed to a task when `queue_impressions` (default:
    settings.RECOMMENDATIONS_QUEUE_IMPRESSIONS), else written before returning, as a simulation needs."""
    now = now or timezone.now()
    if ranker is not None and ranker not in rankers.names():
        raise UnknownRanker(ranker)
    variant, scored = _scored(user=user, start=start, end=end, near=near, tz=tz, now=now, ranker=ranker)
    person, candidates, ranking = scored.person, scored.candidates, scored.ranking
    rows = diversity.diversify(candidates, ranking.scores, limit=min(limit, MAX_LIMIT))
    events = selectors.events_by_id(event_ids=[int(candidates.event_ids[row]) for row in rows])
    rows = np.asarray([row for row in rows if int(candidates.event_ids[row]) in events], dtype=np.int64)  # deleted
    results = []
    for position, (row, why) in enumerate(zip(rows, ranking.reasons(person, candidates, rows), strict=True), start=1):
        event = events[int(candidates.event_ids[row])]
        distance = float(candidates.distance_km[row])
        event.distance_km = None if math.isnan(distance) else distance  # type: ignore[attr-defined]
        results.append(Recommendation(position, round(float(ranking.scores[row]), 4), why, event))
    served = RecommendationList(uuid.uuid4().hex, ranking.ranker, variant, ranking.model_version, results)
    if track and results:
        queued = settings.RECOMMENDATIONS_QUEUE_IMPRESSIONS if queue_impressions is None else queue_impressions
        _track_impressions(served, user=user, now=now, queued=queued)
    return served


def recommendations_serve_many(
    *,
    users: list[User],
    start: datetime,
    end: datetime,
    tz: str,
    limit: int,
    now: datetime,
    busy: dict[int, list[tuple[datetime, datetime]]] | None = None,
) -> dict[int, RecommendationList]:
    """recommendations_serve(user=..., track=False) for each of `users` (profiles loaded with them) and the same
    window: the same list per person, with what is the same for everyone read once. The people's feedback,
    history, busy time and saved events come in a few queries for all of them, the catalogue copy and popularity
    are shared, and the listed events are loaded together; each person is then scored on their own candidate
    columns (numpy) and only their listed few are explained. Never tracked: the weekly digest's batch. `busy`:
    each person's freebusy of the window, when the caller read their calendars already."""
    persons = selectors.persons_for(users=users, start=start, end=end, now=now, busy=busy)
    saved = calendar_selectors.saved_event_ids_of(owner_ids=[user.pk for user in users])
    picked: dict[int, tuple[str | None, ScoredCandidates, NDArray[np.int64]]] = {}
    for user in users:
        person = persons[user.pk]
        excluded = saved[user.pk] | set(person.dismissed)
        candidates = selectors.candidates_for(person=person, start=start, end=end, now=now, exclude=excluded)
        variant, variant_ranker = _variant_ranker(user)
        ranking = _ranking(variant_ranker or _default_ranker(person), person, candidates, now=now)
        scores = np.asarray(ranking.scores, dtype=np.float64)
        rows = diversity.diversify(candidates, scores, limit=min(limit, MAX_LIMIT))
        picked[user.pk] = (variant, ScoredCandidates(candidates, scores, ranking.ranker, person, ranking), rows)
    wanted = {int(scored.candidates.event_ids[row]) for _, scored, rows in picked.values() for row in rows}
    events = selectors.events_by_id(event_ids=sorted(wanted))
    return {pk: _listed(variant, scored, rows, events) for pk, (variant, scored, rows) in picked.items()}


def _listed(
    variant: str | None, scored: "ScoredCandidates", rows: NDArray[np.int64], events: dict[int, Event]
) -> RecommendationList:
    """One person's list from their diversified rows, with events loaded for the whole batch (each person gets
    their own copy, which carries their distance)."""
    candidates = scored.candidates
    rows = np.asarray([row for row in rows if int(candidates.event_ids[row]) in events], dtype=np.int64)  # deleted
    results = []
    for position, (row, why) in enumerate(zip(rows, scored.reasons(rows), strict=True), start=1):
        event = copy.copy(events[int(candidates.event_ids[row])])
        distance = float(candidates.distance_km[row])
        event.distance_km = None if math.isnan(distance) else distance  # type: ignore[attr-defined]
        results.append(Recommendation(position, round(float(scored.scores[row]), 4), why, event))
    ranking = scored.ranking
    return RecommendationList(uuid.uuid4().hex, ranking.ranker, variant, ranking.model_version, results)


@dataclass(frozen=True)
class ScoredCandidates:
    """Every candidate of a window with one ranker's score (higher is better), not cut to a list and not tracked:
    what the itinerary planner fills a weekend from. `reasons` explains the given rows."""

    candidates: Candidates
    scores: NDArray[np.float64]
    ranker: str
    person: Person
    ranking: Ranking

    def reasons(self, rows: NDArray[np.int64]) -> list[list[str]]:
        return self.ranking.reasons(self.person, self.candidates, rows)


def recommendations_score(
    *,
    user: User | None,
    start: datetime,
    end: datetime,
    near: LatLon | None = None,
    tz: str = "UTC",
    now: datetime | None = None,
) -> ScoredCandidates:
    """The candidates of [start, end) scored by the ranker a list for this person would use (their experiment's
    variant, else the default), without the diversity step and without impressions."""
    return _scored(user=user, start=start, end=end, near=near, tz=tz, now=now or timezone.now(), ranker=None)[1]


def _scored(
    *,
    user: User | None,
    start: datetime,
    end: datetime,
    near: LatLon | None,
    tz: str,
    now: datetime,
    ranker: str | None,
) -> tuple[str | None, ScoredCandidates]:
    """(experiment variant, scored candidates) for the person: `ranker` when given, else their variant's, else
    the default."""
    person = selectors.person_for(user=user, near=near, start=start, end=end, tz=tz, now=now)
    excluded = selectors.excluded_event_ids(user=user, dismissed=set(person.dismissed))
    candidates = selectors.candidates_for(person=person, start=start, end=end, now=now, exclude=excluded)
    variant, variant_ranker = (None, None) if ranker is not None else _variant_ranker(user)
    ranking = _ranking(ranker or variant_ranker or _default_ranker(person), person, candidates, now=now)
    scores = np.asarray(ranking.scores, dtype=np.float64)
    return variant, ScoredCandidates(candidates, scores, ranking.ranker, person, ranking)


def _track_impressions(served: RecommendationList, *, user: User | None, now: datetime, queued: bool) -> None:
    context = {"request_id": served.request_id, "ranker": served.ranker, "variant": served.variant}
    if served.model_version:
        context["model_version"] = served.model_version
    events = [
        analytics_services.ServerEvent(
            type=TrackedEventType.IMPRESSION,
            user_id=user.pk if user else None,
            object_type=TrackedObjectType.EVENT,
            object_id=str(item.event.pk),
            context={**context, "rank": item.rank},
        )
        for item in served.results
    ]
    if queued:  # the request's cheapest path: one message to the broker (about a sixth of the list's time saved)
        analytics_services.tracking_server_events_later(events=events, now=now)
    else:  # a lost impression or two on a database crash is no reason to keep a person waiting on the WAL flush
        analytics_services.tracking_server_events(events=events, now=now, wait_for_disk=False)


class NoSuchEvent(Exception):
    pass


@transaction.atomic
def feedback_record(*, user: User, event_id: int, action: str, track: bool = True) -> tuple[Feedback, bool]:
    """A person's word on an event, in effect from their next list (a dismissed event never comes back; "more" or
    "less like this" moves its category and venue). Saying it twice stores it once."""
    event = Event.objects.filter(pk=event_id).only("pk", "category", "venue_id").first()
    if event is None:
        raise NoSuchEvent(event_id)
    if action not in FeedbackAction.values:
        raise ValueError(action)
    opposite = {
        FeedbackAction.MORE_LIKE_THIS: FeedbackAction.LESS_LIKE_THIS,
        FeedbackAction.LESS_LIKE_THIS: FeedbackAction.MORE_LIKE_THIS,
    }.get(FeedbackAction(action))
    if opposite is not None:  # changing one's mind replaces the earlier word on the same event
        Feedback.objects.filter(user=user, event=event, action=opposite).delete()
    feedback, created = Feedback.objects.get_or_create(
        user=user, event=event, action=action, defaults={"category": event.category, "venue_id": event.venue_id}
    )
    if created and track:
        analytics_services.tracking_server_events(
            events=[
                analytics_services.ServerEvent(
                    type=TrackedEventType.DISMISS if action == FeedbackAction.DISMISS else TrackedEventType.FEEDBACK,
                    user_id=user.pk,
                    object_type=TrackedObjectType.EVENT,
                    object_id=str(event.pk),
                    context={"action": action},
                )
            ]
        )
    return feedback, created


@transaction.atomic
def feedback_erase(*, user: User) -> None:
    Feedback.objects.filter(user=user).delete()
