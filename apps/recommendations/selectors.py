"""Reads for recommendations: the person as rankers see them (profile, history, feedback, busy time), the
candidate events as columns, popularity, feedback and models. Other apps are read through their selectors."""

import math
import threading
import time as clock
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from numpy.typing import NDArray

from apps.analytics import selectors as analytics_selectors
from apps.analytics.models import TrackedEvent, TrackedObjectType
from apps.calendars import selectors as calendar_selectors
from apps.core.db_router import replica_reads
from apps.core.geo import LatLon
from apps.events import selectors as event_selectors
from apps.events.models import Event
from apps.recommendations import catalogue
from apps.recommendations.context import (
    INTERACTION_WEIGHTS,
    POSITIVE_TYPES,
    Candidates,
    HistoryItem,
    Person,
    item_tokens,
    part_of_day,
    price_band,
)
from apps.recommendations.models import Feedback, FeedbackAction, ModelVersion
from apps.users import selectors as user_selectors
from apps.users.models import User

HISTORY_LIMIT = 500  # the newest positive interactions a person's list is built from
MAX_CANDIDATES = 5000  # the soonest events of the window, when a window holds more around a point
DEFAULT_DURATION = timedelta(hours=2)  # of an event without an end, for the free-time fit
POPULARITY_DAYS = 14
POPULARITY_HALF_LIFE_DAYS = 3.0
POPULARITY_TTL_SECONDS = 300.0  # each process recomputes popularity at most this often


# --- The person -----------------------------------------------------------------------------------------------


def person_for(
    *, user: User | None, near: LatLon | None, start: datetime, end: datetime, tz: str = "UTC", now: datetime
) -> Person:
    """The person as of `now`: profile, the newest positive interactions, their feedback and, in the window,
    their busy time. Anonymous: only `near` and `tz`."""
    if user is None:
        return Person(user_id=None, home=near, timezone=tz)
    return _person(
        user,
        near=near,
        feedback=feedback_of(user_id=user.pk),
        history=history_of(user_id=user.pk, until=now),
        busy=calendar_selectors.freebusy(owner=user, start=start, end=end),
    )


def persons_for(
    *,
    users: list[User],
    start: datetime,
    end: datetime,
    now: datetime,
    busy: dict[int, list[tuple[datetime, datetime]]] | None = None,
) -> dict[int, Person]:
    """person_for of each of `users` (their profiles loaded with them), read together: feedback, history and busy
    time in a few queries for everyone rather than a few per person (the weekly digest's batch). `busy`: each
    one's freebusy for the window, when the caller read their calendars already."""
    ids = [user.pk for user in users]
    feedback = feedback_of_many(user_ids=ids)
    histories = histories_of(user_ids=ids, until=now)
    if busy is None:
        busy = calendar_selectors.freebusy_of(owner_ids=ids, start=start, end=end)
    return {
        user.pk: _person(user, near=None, feedback=feedback[user.pk], history=histories[user.pk], busy=busy[user.pk])
        for user in users
    }


def _person(
    user: User,
    *,
    near: LatLon | None,
    feedback: "FeedbackSummary",
    history: tuple[HistoryItem, ...],
    busy: list[tuple[datetime, datetime]],
) -> Person:
    """A signed-in person from what was read of them; `near` stands in for their home when given."""
    profile = user_selectors.profile_for(user=user)
    home = near
    if home is None and profile.home_lat is not None and profile.home_lon is not None:
        home = LatLon(profile.home_lat, profile.home_lon)
    return Person(
        user_id=user.pk,
        home=home,
        timezone=profile.timezone,
        interests=frozenset(profile.interests),
        budget=float(profile.budget) if profile.budget is not None else None,
        currency=profile.currency,
        travel_mode=profile.travel_mode,
        max_distance_km=float(profile.max_distance_km),
        history=history,
        category_feedback=feedback.categories,
        venue_feedback=feedback.venues,
        dismissed=frozenset(feedback.dismissed),
        busy=tuple((a.timestamp(), b.timestamp()) for a, b in busy),
    )


def histories_of(
    *, user_ids: list[int], until: datetime, limit: int = HISTORY_LIMIT
) -> dict[int, tuple[HistoryItem, ...]]:
    """history_of for several people in two queries: each one's newest `limit` positive interactions (a window
    function, which SQLite has too), oldest first, as analytics' event_interactions gives them one by one."""
    newest = Window(RowNumber(), partition_by=[F("user_id")], order_by=[F("at").desc(), F("pk").desc()])
    rows = (
        TrackedEvent.objects.filter(
            type__in=POSITIVE_TYPES, object_type=TrackedObjectType.EVENT, user_id__in=user_ids, at__lt=until
        )
        .annotate(newest=newest)
        .filter(newest__lte=limit)
        .values_list("user_id", "object_id", "type", "at", "pk")
    )
    picked = sorted((row for row in rows if row[1].isdigit()), key=lambda row: (row[3], row[4]))
    described = event_descriptions(event_ids={int(row[1]) for row in picked})
    found: dict[int, list[HistoryItem]] = {pk: [] for pk in user_ids}
    for user_id, object_id, kind, at, _ in picked:
        if user_id is not None and int(object_id) in described:  # user_id: the filter holds it to the people
            found[user_id].append(HistoryItem(int(object_id), kind, at, *described[int(object_id)]))
    return {pk: tuple(items) for pk, items in found.items()}


def history_of(*, user_id: int, until: datetime | None = None, limit: int = HISTORY_LIMIT) -> tuple[HistoryItem, ...]:
    rows = analytics_selectors.event_interactions(types=POSITIVE_TYPES, user_id=user_id, until=until, limit=limit)
    described = event_descriptions(event_ids={row.event_id for row in rows})
    return tuple(
        HistoryItem(row.event_id, row.type, row.at, *described[row.event_id])
        for row in rows
        if row.event_id in described
    )


def event_descriptions(*, event_ids: Iterable[int]) -> dict[int, tuple[str, int | None, tuple[str, ...]]]:
    """(category, venue id, tokens) of each event, past ones included: what a history item says about tastes. The
    part of the day is by the event's own clock, as for candidates (apps.recommendations.catalogue)."""
    found: dict[int, tuple[str, int | None, tuple[str, ...]]] = {}
    fields = ("id", "category", "venue_id", "tags", "is_free", "price_min", "start_utc", "all_day", "timezone")
    for pk, category, venue_id, tags, is_free, price, start, all_day, tz in Event.objects.filter(
        pk__in=list(event_ids)
    ).values_list(*fields):
        band = price_band(is_free=is_free, price_min=float(price) if price is not None else None)
        daypart = part_of_day(catalogue.local_time(start, tz).hour, all_day=all_day)
        tokens = item_tokens(category=category, venue_id=venue_id, tags=_tags(tags), band=band, daypart=daypart)
        found[pk] = (category, venue_id, tokens)
    return found


def _tags(value: Any) -> tuple[str, ...]:
    return tuple(tag for tag in value if isinstance(tag, str)) if isinstance(value, list) else ()


@dataclass(frozen=True)
class FeedbackSummary:
    categories: dict[str, float]  # +1 per "more like this", -1 per "less like this", summed by category
    venues: dict[int, float]  # the same by venue id
    dismissed: set[int]  # event ids


def feedback_of(*, user_id: int) -> FeedbackSummary:
    """A person's feedback, read once for a list: what moves categories and venues, and what never comes back."""
    summary = FeedbackSummary({}, {}, set())
    signs: dict[str, float] = {FeedbackAction.MORE_LIKE_THIS: 1.0, FeedbackAction.LESS_LIKE_THIS: -1.0}
    for action, event_id, category, venue_id in Feedback.objects.filter(user_id=user_id).values_list(
        "action", "event_id", "category", "venue_id"
    ):
        if action == FeedbackAction.DISMISS:
            summary.dismissed.add(event_id)
            continue
        if category:
            summary.categories[category] = summary.categories.get(category, 0.0) + signs[action]
        if venue_id is not None:
            summary.venues[venue_id] = summary.venues.get(venue_id, 0.0) + signs[action]
    return summary


def feedback_of_many(*, user_ids: list[int]) -> dict[int, FeedbackSummary]:
    """feedback_of for several people in one query."""
    found = {pk: FeedbackSummary({}, {}, set()) for pk in user_ids}
    signs: dict[str, float] = {FeedbackAction.MORE_LIKE_THIS: 1.0, FeedbackAction.LESS_LIKE_THIS: -1.0}
    rows = Feedback.objects.filter(user_id__in=user_ids).order_by("pk")
    for user_id, action, event_id, category, venue_id in rows.values_list(
        "user_id", "action", "event_id", "category", "venue_id"
    ):
        summary = found[user_id]
        if action == FeedbackAction.DISMISS:
            summary.dismissed.add(event_id)
            continue
        if category:
            summary.categories[category] = summary.categories.get(category, 0.0) + signs[action]
        if venue_id is not None:
            summary.venues[venue_id] = summary.venues.get(venue_id, 0.0) + signs[action]
    return found


def feedback_export(*, user_id: int) -> list[dict[str, Any]]:
    rows = Feedback.objects.filter(user_id=user_id).order_by("created_at", "pk")
    return [{"event_id": row.event_id, "action": row.action, "created_at": row.created_at.isoformat()} for row in rows]


def excluded_event_ids(*, user: User | None, dismissed: set[int]) -> set[int]:
    """What a person's list never holds: events on their calendars and the events they dismissed."""
    if user is None:
        return set()
    return calendar_selectors.saved_event_ids(owner=user) | dismissed


# --- The candidates -------------------------------------------------------------------------------------------


@replica_reads(shared=True)  # the catalogue and popularity: no person's own request writes them
def candidates_for(*, person: Person, start: datetime, end: datetime, now: datetime, exclude: set[int]) -> Candidates:
    """Upcoming canonical, not-cancelled events starting in [start, end), not over yet, within the person's
    distance of their home (or `near`), minus `exclude`: from the in-memory catalogue when it covers the window."""
    near = (person.home.lat, person.home.lon) if person.home else None
    copy = catalogue.snapshot(now=now)
    if not copy.covers(start, end):
        return _candidates_from_database(person=person, near=near, start=start, end=end, now=now, exclude=exclude)
    rows, distances = catalogue.candidate_rows(
        copy, start=start, end=end, now=now, near=near, radius_km=person.max_distance_km
    )
    keep = ~np.isin(copy.columns.event_ids[rows], np.fromiter(exclude, dtype=np.int64, count=len(exclude)))
    rows, distances = rows[keep][:MAX_CANDIDATES], distances[keep][:MAX_CANDIDATES]
    candidates = copy.columns.take(rows)
    candidates.distance_km = distances
    candidates.popularity = _aligned_popularity(copy, popularity_scores(now=now))[rows]
    return candidates


_aligned: dict[str, Any] = {}


def _aligned_popularity(copy: catalogue.Snapshot, scores: dict[int, float]) -> NDArray[np.float64]:
    """Popularity in the catalogue copy's row order, remembered until either is replaced."""
    with _popularity_lock:
        if _aligned.get("copy") is copy and _aligned.get("scores") is scores:
            return _aligned["array"]  # type: ignore[no-any-return]
    ids = copy.columns.event_ids
    array = np.fromiter((scores.get(int(pk), 0.0) for pk in ids), dtype=np.float64, count=len(ids))
    with _popularity_lock:
        _aligned.update(copy=copy, scores=scores, array=array)
    return array


def _candidates_from_database(
    *,
    person: Person,
    near: tuple[float, float] | None,
    start: datetime,
    end: datetime,
    now: datetime,
    exclude: set[int],
) -> Candidates:
    search = event_selectors.EventSearch(
        near=near, radius_km=person.max_distance_km, starts_after=start, starts_before=end, not_over_at=now
    )
    rows = [
        row
        for row in event_selectors.events_search(search)
        .order_by("start_utc", "id")
        .values_list(*event_selectors.UPCOMING_FIELDS, "distance_km")[: MAX_CANDIDATES + len(exclude)]
        if row[0] not in exclude
    ][:MAX_CANDIDATES]
    candidates = catalogue.columns_from_rows(rows, popularity=popularity_scores(now=now))
    candidates.distance_km = np.fromiter(
        (math.nan if row[-1] is None else row[-1] for row in rows), dtype=np.float64, count=len(rows)
    )
    return candidates


def candidates_from_rows(rows: list[tuple[Any, ...]], *, tz: str, popularity: dict[int, float]) -> Candidates:
    """Columns from rows of (id, category, venue id, tags, start, end, all day, distance km, price min, is free,
    created at), with the weekday and hour in `tz`."""
    zone = zoneinfo.ZoneInfo(tz)
    count = len(rows)
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=count)
    start = np.fromiter((row[4].timestamp() for row in rows), dtype=np.float64, count=count)
    end = np.fromiter(
        ((row[5] or row[4] + DEFAULT_DURATION).timestamp() for row in rows), dtype=np.float64, count=count
    )
    local = [row[4].astimezone(zone) for row in rows]
    return Candidates(
        event_ids=ids,
        categories=[row[1] for row in rows],
        venue_ids=[row[2] for row in rows],
        tags=[_tags(row[3]) for row in rows],
        start=start,
        end=end,
        local_weekday=np.fromiter((moment.weekday() for moment in local), dtype=np.int64, count=count),
        local_hour=np.fromiter((moment.hour for moment in local), dtype=np.int64, count=count),
        all_day=np.fromiter((bool(row[6]) for row in rows), dtype=np.bool_, count=count),
        distance_km=np.fromiter(
            (math.nan if row[7] is None else row[7] for row in rows), dtype=np.float64, count=count
        ),
        price_min=np.fromiter(
            (math.nan if row[8] is None else float(row[8]) for row in rows), dtype=np.float64, count=count
        ),
        is_free=np.fromiter((bool(row[9]) for row in rows), dtype=np.bool_, count=count),
        created=np.fromiter((row[10].timestamp() for row in rows), dtype=np.float64, count=count),
        popularity=np.fromiter((popularity.get(int(pk), 0.0) for pk in ids), dtype=np.float64, count=count),
    )


# --- Popularity -----------------------------------------------------------------------------------------------

_popularity_lock = threading.Lock()
_popularity: dict[str, Any] = {"computed": -math.inf, "scores": {}}


def popularity_scores(*, now: datetime) -> dict[int, float]:
    """Per event, its clicks, saves and plans of the last POPULARITY_DAYS weighted like a person's history and
    halving every POPULARITY_HALF_LIFE_DAYS. Computed at most every POPULARITY_TTL_SECONDS per process."""
    with _popularity_lock:
        if clock.monotonic() - _popularity["computed"] < POPULARITY_TTL_SECONDS:
            return _popularity["scores"]  # type: ignore[no-any-return]
    scores = compute_popularity(now=now)
    with _popularity_lock:
        _popularity.update(computed=clock.monotonic(), scores=scores)
    return scores


def compute_popularity(*, now: datetime) -> dict[int, float]:
    since = (now - timedelta(days=POPULARITY_DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)
    scores: dict[int, float] = {}
    for event_id, kind, day, count in analytics_selectors.event_interaction_counts(
        types=POSITIVE_TYPES, since=since, until=now
    ):
        age_days = max((now - day.astimezone(UTC)).total_seconds() / 86400.0, 0.0)
        decay = 0.5 ** (age_days / POPULARITY_HALF_LIFE_DAYS)
        scores[event_id] = scores.get(event_id, 0.0) + INTERACTION_WEIGHTS[kind] * count * decay
    return scores


def popularity_forget() -> None:
    """The next list recomputes popularity (tests, and after a simulation wrote interactions)."""
    with _popularity_lock:
        _popularity.update(computed=-math.inf, scores={})


# --- Models and lists -------------------------------------------------------------------------------------------


def current_model_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(is_current=True).first()


def events_by_id(*, event_ids: list[int]) -> dict[int, Event]:
    return {event.pk: event for event in Event.objects.filter(pk__in=event_ids).select_related("venue")}
