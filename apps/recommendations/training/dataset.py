"""Everything training reads, loaded once and held in memory as columns: every tracked impression, click, save and
plan of signed-in people (what apps.analytics.selectors.event_interactions returns, in one query), the events they
were about, the people's profiles and their feedback. The rest of training computes "as of then" from these, never
querying per row. Anonymous visitors are left out: they have no profile, and sign-in links their events to the
account.
"""

import math
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from apps.analytics import selectors as analytics_selectors
from apps.core import geo
from apps.core.geo import LatLon
from apps.events.models import Event
from apps.recommendations import selectors
from apps.recommendations.context import INTERACTION_WEIGHTS, POSITIVE_TYPES, Candidates, HistoryItem, Person
from apps.recommendations.models import Feedback, FeedbackAction
from apps.users.models import Profile

# A kind's index is its grade: an impression 0, a click 1, a save 2, a plan 3.
KINDS = ("impression", *POSITIVE_TYPES)
GRADES = {kind: grade for grade, kind in enumerate(KINDS)}
assert all(GRADES[kind] == weight for kind, weight in INTERACTION_WEIGHTS.items())
CHUNK = 20_000
# How far back training reads: tastes older than half a year say little, and the table only grows.
TRAINING_DAYS = 180.0
EVENT_FIELDS = (
    "id", "category", "venue_id", "tags", "start_utc", "end_utc", "all_day", "lat", "lon", "price_min", "is_free",
    "created_at",
)  # fmt: skip
FEEDBACK_SIGNS = {FeedbackAction.MORE_LIKE_THIS: 1.0, FeedbackAction.LESS_LIKE_THIS: -1.0}


@dataclass(frozen=True)
class Profiled:
    """What a person's profile says, as Person takes it."""

    home: LatLon | None = None
    timezone: str = "UTC"
    interests: frozenset[str] = frozenset()
    budget: float | None = None
    currency: str = "EUR"
    travel_mode: str = "transit"
    max_distance_km: float = 25.0


Parts = tuple[tuple[str, str, str, str], tuple[str, ...]]


class EventTable:
    """The events involved, sorted by id; their columns as Candidates (tokens and local hours per time zone)."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        rows.sort(key=lambda row: row[0])
        self.ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        self.lat = np.array([math.nan if row[7] is None else row[7] for row in rows], dtype=np.float64)
        self.lon = np.array([math.nan if row[8] is None else row[8] for row in rows], dtype=np.float64)
        # In the shape selectors.candidates_from_rows takes; distance and popularity are the person's and the day's.
        self.rows = [(*row[:7], None, *row[9:]) for row in rows]
        self._columns: dict[str, Candidates] = {}
        self._parts: dict[str, list[Parts]] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, event_ids: NDArray[np.int64]) -> NDArray[np.int64]:
        """Row of each id; -1 for an id not in the table."""
        if len(self.ids) == 0:
            return np.full(len(event_ids), -1, dtype=np.int64)
        found = np.minimum(np.searchsorted(self.ids, event_ids), len(self.ids) - 1)
        return np.where(self.ids[found] == event_ids, found, -1).astype(np.int64)

    def columns(self, tz: str) -> Candidates:
        if tz not in self._columns:
            self._columns[tz] = selectors.candidates_from_rows(self.rows, tz=tz, popularity={})
        return self._columns[tz]

    def parts(self, tz: str) -> list["Parts"]:
        """Each event's tokens by kind, split once: (category, venue or "", price, daypart) and the tags."""
        if tz not in self._parts:
            found: list[Parts] = []
            for tokens in self.columns(tz).tokens:
                single = {"category": "", "venue": "", "price": "", "daypart": ""}
                tags = []
                for token in tokens:
                    kind = token.split(":", 1)[0]
                    if kind == "tag":
                        tags.append(token)
                    elif kind in single:
                        single[kind] = token
                found.append(((single["category"], single["venue"], single["price"], single["daypart"]), tuple(tags)))
            self._parts[tz] = found
        return self._parts[tz]

    def distances(self, home: LatLon | None, positions: NDArray[np.int64]) -> NDArray[np.float64]:
        """Great-circle km from home (geo.haversine_km, vectorised); nan without a home or a place."""
        if home is None:
            return np.full(len(positions), math.nan)
        return haversine(
            np.full(len(positions), home.lat),
            np.full(len(positions), home.lon),
            self.lat[positions],
            self.lon[positions],
        )


def haversine(
    lat1: NDArray[np.float64], lon1: NDArray[np.float64], lat2: NDArray[np.float64], lon2: NDArray[np.float64]
) -> NDArray[np.float64]:
    lat1, lat2 = np.radians(lat1), np.radians(lat2)
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return np.asarray(2 * geo.EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h))), dtype=np.float64)


@dataclass
class Data:
    """Interactions as columns, oldest first, each row's event as a row of `events`."""

    user: NDArray[np.int64]
    event: NDArray[np.int64]  # row in `events`
    grade: NDArray[np.int64]  # GRADES
    at: NDArray[np.float64]  # epoch seconds
    request: list[str]
    events: EventTable
    profiles: dict[int, Profiled]
    feedback: dict[int, list[tuple[float, str, str, int | None]]]  # (at, action, category, venue id), oldest first
    by_user: dict[int, NDArray[np.int64]] = field(default_factory=dict)  # positive rows per person, oldest first

    def __post_init__(self) -> None:
        positive = np.flatnonzero(self.grade > 0)
        if positive.size == 0:
            return
        order = positive[np.argsort(self.user[positive], kind="stable")]
        users, starts = np.unique(self.user[order], return_index=True)
        for user, chunk in zip(users, np.split(order, starts[1:]), strict=True):
            self.by_user[int(user)] = chunk

    def __len__(self) -> int:
        return len(self.user)

    def profile(self, user: int) -> Profiled:
        return self.profiles.get(user) or Profiled()

    def tokens(self, user: int, row: int) -> tuple[str, ...]:
        return self.events.columns(self.profile(user).timezone).tokens[int(self.event[row])]

    def person_as_of(self, user: int, moment: float, *, history_limit: int = selectors.HISTORY_LIMIT) -> Person:
        """The person as serving would have built them at `moment` (no calendar: busy time is not kept)."""
        profile = self.profile(user)
        rows = self.by_user.get(user, np.zeros(0, dtype=np.int64))
        rows = rows[self.at[rows] < moment][-history_limit:]
        columns = self.events.columns(profile.timezone)
        history = tuple(
            HistoryItem(
                int(self.events.ids[self.event[row]]),
                KINDS[self.grade[row]],
                datetime.fromtimestamp(float(self.at[row]), tz=UTC),
                columns.categories[self.event[row]],
                columns.venue_ids[self.event[row]],
                columns.tokens[self.event[row]],
            )
            for row in rows
        )
        categories, venues = feedback_as_of(self.feedback.get(user, []), moment)
        return Person(
            user_id=user,
            home=profile.home,
            timezone=profile.timezone,
            interests=profile.interests,
            budget=profile.budget,
            currency=profile.currency,
            travel_mode=profile.travel_mode,
            max_distance_km=profile.max_distance_km,
            history=history,
            category_feedback=categories,
            venue_feedback=venues,
        )


def feedback_as_of(
    rows: list[tuple[float, str, str, int | None]], moment: float
) -> tuple[dict[str, float], dict[int, float]]:
    """selectors.feedback_of's categories and venues, counting only the feedback given before `moment`."""
    categories: dict[str, float] = {}
    venues: dict[int, float] = {}
    for at, action, category, venue_id in rows:
        if at >= moment:
            break
        sign = FEEDBACK_SIGNS.get(FeedbackAction(action))
        if sign is None:
            continue
        if category:
            categories[category] = categories.get(category, 0.0) + sign
        if venue_id is not None:
            venues[venue_id] = venues.get(venue_id, 0.0) + sign
    return categories, venues


def load(*, until: datetime, days: float = TRAINING_DAYS) -> Data:
    """Every interaction of the `days` before `until`, with its events, profiles and feedback."""
    users, object_ids, kinds, times, requests = _interactions(since=until - timedelta(days=days), until=until)
    event_ids = np.array([int(object_id) for object_id in object_ids], dtype=np.int64)
    events = EventTable(_event_rows(sorted(set(event_ids.tolist()))))
    positions = events.positions(event_ids)
    keep = np.flatnonzero(positions >= 0)
    user = np.array(users, dtype=np.int64)[keep]
    people = {int(person) for person in np.unique(user)}
    return Data(
        user=user,
        event=positions[keep],
        grade=np.array([GRADES[kind] for kind in kinds], dtype=np.int64)[keep],
        at=np.array(times, dtype=np.float64)[keep],
        request=[requests[i] or "" for i in keep],
        events=events,
        profiles=_profiles(people),
        feedback=_feedback(people),
    )


def _interactions(*, since: datetime, until: datetime) -> analytics_selectors.InteractionColumns:
    return analytics_selectors.event_interaction_columns(types=KINDS, since=since, until=until, chunk_size=CHUNK)


def _event_rows(event_ids: list[int]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(event_ids), CHUNK):
        rows.extend(Event.objects.filter(pk__in=event_ids[start : start + CHUNK]).values_list(*EVENT_FIELDS))
    return rows


def _profiles(people: set[int]) -> dict[int, Profiled]:
    fields = (
        "user_id", "home_lat", "home_lon", "timezone", "interests", "budget", "currency", "travel_mode",
        "max_distance_km",
    )  # fmt: skip
    found: dict[int, Profiled] = {}
    ids = sorted(people)
    for start in range(0, len(ids), CHUNK):
        for user, lat, lon, tz, interests, budget, currency, mode, distance in Profile.objects.filter(
            user_id__in=ids[start : start + CHUNK]
        ).values_list(*fields):
            found[user] = Profiled(
                home=LatLon(lat, lon) if lat is not None and lon is not None else None,
                timezone=_zone(tz),
                interests=frozenset(interests) if isinstance(interests, list) else frozenset(),
                budget=float(budget) if budget is not None else None,
                currency=currency,
                travel_mode=mode,
                max_distance_km=float(distance),
            )
    return found


def _zone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name


def _feedback(people: set[int]) -> dict[int, list[tuple[float, str, str, int | None]]]:
    found: dict[int, list[tuple[float, str, str, int | None]]] = defaultdict(list)
    rows = (
        Feedback.objects.filter(action__in=list(FEEDBACK_SIGNS))
        .order_by("created_at", "pk")
        .values_list("user_id", "created_at", "action", "category", "venue_id")
    )
    for user, created, action, category, venue_id in rows.iterator(chunk_size=CHUNK):
        if user in people:
            found[user].append((created.timestamp(), action, category, venue_id))
    return dict(found)
