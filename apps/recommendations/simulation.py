"""A simulated population for offline evaluation, the tests and the benchmark (docs/recommendations.md,
"Simulation"): people with a profile and hidden tastes who, before each weekend of the catalogue, are served a list
through `services.recommendations_serve`, browse a few other events of the weekend (Discover), and click, save and
plan with a probability given by their hidden utility, all through the same services as real people.

Deterministic for a seed (a numpy Generator): the same catalogue, seed and options give the same people, the same
lists and the same interactions. The simulated moments are given, never read from the clock: each list is served
`now` at its session's moment (its impressions tracked then) and each batch of clicks, saves and plans is received
then. Only the calendars' own bookkeeping (a plan's creation time) is the real time.
"""

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from apps.analytics import services as analytics_services
from apps.calendars import services as calendar_services
from apps.core.time import local_midnight_utc
from apps.events import selectors as event_selectors
from apps.events.models import Event
from apps.recommendations import catalogue, selectors, services
from apps.recommendations.context import Candidates, part_of_day
from apps.users import services as user_services
from apps.users.models import User

TIMEZONE = "Europe/Berlin"
DAYPARTS = ("morning", "afternoon", "evening", "night")
TRAVEL_MODES = ("walk", "bike", "transit", "transit", "drive")
MAX_DISTANCES = (5, 8, 10, 15, 25)
BUDGETS = (None, 15, 30, 60, 100)
LIST_SIZE = 10  # what a person looks at of the served list
DISCOVER = 12  # random events of the weekend a person also looks at
SESSION_START = timedelta(days=-3, hours=18)  # Wednesday 18:00 before the Saturday, local time
SESSION_SPREAD_S = 36 * 3600  # sessions spread over Wednesday evening to Friday morning

# The hidden utility: a logistic of these (docs/recommendations.md, "What the simulation assumes").
CATEGORY_WEIGHT = 2.4
VENUE_WEIGHT = 1.6
DAYPART_WEIGHT = 0.9
PRICE_SCALE = 25.0  # euros over which a price-sensitive person's utility drops by their sensitivity
DISTANCE_SCALE = 6.0  # km likewise
APPEAL = 0.7  # standard deviation of the events' appeal to everyone
NOISE = 0.6
BIAS = -3.4
SAVE_BIAS = 0.8  # a clicked event is saved with probability logistic(utility + SAVE_BIAS) * SAVE_SHARE
SAVE_SHARE = 0.6
PLAN_SHARE = 0.5  # of saved events, planned (added to the calendar)


@dataclass(frozen=True)
class Taste:
    """What a simulated person likes, which the rankers never see: they see only the profile and what the person
    does."""

    categories: tuple[str, ...]
    venues: frozenset[int]
    price_sensitivity: float  # 0 (price does not matter) to 1
    distance_sensitivity: float
    dayparts: frozenset[str]


@dataclass
class SimulationResult:
    people: int = 0
    impressions: int = 0
    clicks: int = 0
    saves: int = 0
    plans: int = 0
    weekends: list[date] = field(default_factory=list)
    tastes: dict[int, Taste] = field(default_factory=dict)  # by user id
    users: list[User] = field(default_factory=list)
    # (person's index, event id, type, ISO time) of every click, save and plan, in order: what determinism compares.
    log: list[tuple[int, int, str, str]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "people": self.people,
            "weekends": [day.isoformat() for day in self.weekends],
            "impressions": self.impressions,
            "clicks": self.clicks,
            "saves": self.saves,
            "plans": self.plans,
        }


@dataclass(frozen=True)
class Weekend:
    saturday: date
    start: datetime  # Saturday 00:00 local, as UTC (apps.core.time.weekend_window)
    end: datetime
    events: Candidates  # every event of the weekend (apps.recommendations.catalogue.columns_from_rows)
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    appeal: NDArray[np.float64]  # each event's pull on everyone (a headliner, a sunny market): hidden too


def catalogue_weekends(*, count: int, start: date | None = None) -> list[date]:
    """The Saturdays of the first `count` weekends with events, on or after `start` when given."""
    zone = ZoneInfo(TIMEZONE)
    rows = Event.objects.filter(canonical__isnull=True)
    if start is not None:
        rows = rows.filter(start_utc__gte=local_midnight_utc(start, zone))
    saturdays: list[date] = []
    moment = rows.order_by("start_utc").values_list("start_utc", flat=True).first()
    while moment is not None and len(saturdays) < count:
        day = moment.astimezone(zone).date()
        saturday = (
            day + timedelta(days=(5 - day.weekday()) % 7)
            if day.weekday() < 5
            else day - timedelta(days=day.weekday() - 5)
        )
        weekend_end = local_midnight_utc(saturday + timedelta(days=2), zone)
        if rows.filter(start_utc__gte=local_midnight_utc(saturday, zone), start_utc__lt=weekend_end).exists():
            saturdays.append(saturday)
        moment = (
            rows.filter(start_utc__gte=weekend_end).order_by("start_utc").values_list("start_utc", flat=True).first()
        )
    return saturdays


def _weekend(saturday: date, rng: np.random.Generator) -> Weekend:
    zone = ZoneInfo(TIMEZONE)
    start, end = local_midnight_utc(saturday, zone), local_midnight_utc(saturday + timedelta(days=2), zone)
    rows = list(event_selectors.upcoming_rows(start=start, end=end))
    return Weekend(
        saturday=saturday,
        start=start,
        end=end,
        events=catalogue.columns_from_rows(rows),
        lat=np.fromiter((math.nan if row[8] is None else row[8] for row in rows), dtype=np.float64, count=len(rows)),
        lon=np.fromiter((math.nan if row[9] is None else row[9] for row in rows), dtype=np.float64, count=len(rows)),
        appeal=rng.normal(0.0, APPEAL, size=len(rows)),
    )


def _centre(weekends: Sequence[Weekend]) -> tuple[float, float]:
    lats = np.concatenate([weekend.lat for weekend in weekends])
    lons = np.concatenate([weekend.lon for weekend in weekends])
    return float(np.nanmedian(lats)), float(np.nanmedian(lons))


def _hosts(weekends: Sequence[Weekend]) -> dict[int, set[str]]:
    """The categories each venue of the catalogue hosts."""
    hosts: dict[int, set[str]] = {}
    for weekend in weekends:
        for venue, category in zip(weekend.events.venue_ids, weekend.events.categories, strict=True):
            if venue is not None:
                hosts.setdefault(venue, set()).add(category)
    return hosts


def _person(
    rng: np.random.Generator, index: int, *, seed: int, centre: tuple[float, float], hosts: dict[int, set[str]]
) -> tuple[User, Taste]:
    present = sorted({category for hosted in hosts.values() for category in hosted if category})
    categories = tuple(
        str(c) for c in rng.choice(present, size=min(len(present), int(rng.integers(1, 4))), replace=False)
    )
    # Favourite venues among those hosting what they like (any venue when none does).
    venues = sorted(venue for venue, hosted in hosts.items() if hosted & set(categories)) or sorted(hosts)
    favourite = frozenset(
        int(v) for v in rng.choice(venues, size=min(len(venues), int(rng.integers(1, 4))), replace=False)
    )
    dayparts = frozenset(str(p) for p in rng.choice(DAYPARTS, size=int(rng.integers(1, 3)), replace=False))
    taste = Taste(
        categories=categories,
        venues=favourite,
        price_sensitivity=float(rng.uniform(0.0, 1.0)),
        distance_sensitivity=float(rng.uniform(0.0, 1.0)),
        dayparts=dayparts,
    )
    # Stated interests: a noisy subset of the hidden categories (some state none, some add one they don't care for).
    interests = [c for c in categories if rng.random() < 0.6] if rng.random() >= 0.15 else []
    if rng.random() < 0.2:
        interests.append(str(rng.choice(present)))
    # Homes around the catalogue's centre: about 3 km apart in each direction (1 degree of latitude is 111 km).
    lat = centre[0] + float(rng.normal(0.0, 3.0)) / 111.0
    lon = centre[1] + float(rng.normal(0.0, 3.0)) / (111.0 * math.cos(math.radians(centre[0])))
    budget = BUDGETS[int(rng.integers(len(BUDGETS)))]
    user = user_services.user_create(
        email=f"sim-{seed}-{index}@example.test",
        password=None,
        home_lat=round(lat, 6),
        home_lon=round(lon, 6),
        timezone=TIMEZONE,
        interests=sorted(set(interests)),
        budget=budget,
        travel_mode=TRAVEL_MODES[int(rng.integers(len(TRAVEL_MODES)))],
        max_distance_km=MAX_DISTANCES[int(rng.integers(len(MAX_DISTANCES)))],
    )
    return user, taste


def utility(
    taste: Taste, events: Candidates, rows: NDArray[np.int64], distance_km: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The hidden utility of each event for the person, without noise: category and venue match, price and distance
    as the person minds them, and the part of the day they like."""
    category = np.array([1.0 if events.categories[i] in taste.categories else 0.0 for i in rows])
    venue = np.array([1.0 if events.venue_ids[i] in taste.venues else 0.0 for i in rows])
    daypart = np.array(
        [
            1.0 if part_of_day(int(events.local_hour[i]), all_day=bool(events.all_day[i])) in taste.dayparts else 0.0
            for i in rows
        ]
    )
    price = np.where(events.is_free[rows], 0.0, np.nan_to_num(events.price_min[rows], nan=PRICE_SCALE / 2))
    return np.asarray(
        CATEGORY_WEIGHT * category
        + VENUE_WEIGHT * venue
        + DAYPART_WEIGHT * daypart
        - taste.price_sensitivity * price / PRICE_SCALE
        - taste.distance_sensitivity * np.nan_to_num(distance_km, nan=DISTANCE_SCALE) / DISTANCE_SCALE,
        dtype=np.float64,
    )


def _logistic(values: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(1.0 / (1.0 + np.exp(-values)), dtype=np.float64)


def _tracked(kind: str, event_id: int, at: datetime, context: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": kind,
        "at": at.isoformat(),
        "object_type": "event",
        "object_id": str(event_id),
        "context": context,
    }


def _moments(rng: np.random.Generator, saturdays: Sequence[date], people: int) -> list[NDArray[np.float64]]:
    """Per weekend, each person's session as epoch seconds: Wednesday evening to Friday morning before it."""
    zone = ZoneInfo(TIMEZONE)
    found = []
    for saturday in saturdays:
        first = datetime.combine(saturday, time.min, tzinfo=zone) + SESSION_START
        found.append(first.timestamp() + rng.uniform(0.0, SESSION_SPREAD_S, size=people).round())
    return found


def simulate(
    *,
    people: int,
    seed: int,
    weekends: int = 2,
    start: date | None = None,
) -> SimulationResult:
    """Creates `people` simulated people and plays their sessions before each of the first `weekends` weekends of
    the catalogue (on or after `start`)."""
    saturdays = catalogue_weekends(count=weekends, start=start)
    if len(saturdays) < weekends:
        raise ValueError(f"The catalogue has {len(saturdays)} weekends with events, not {weekends}: seed it first.")
    moments = _moments(np.random.default_rng([seed, 1]), saturdays, people)
    rng = np.random.default_rng(seed)
    appeal = np.random.default_rng([seed, 2])
    loaded = [_weekend(saturday, appeal) for saturday in saturdays]
    centre = _centre(loaded)
    hosts = _hosts(loaded)
    result = SimulationResult(weekends=list(saturdays))
    for index in range(people):
        user, taste = _person(rng, index, seed=seed, centre=centre, hosts=hosts)
        result.users.append(user)
        result.tastes[user.pk] = taste
    result.people = people
    for weekend, when in zip(loaded, moments, strict=True):
        selectors.popularity_forget()  # last weekend's interactions count from this weekend's first list on
        for index in np.argsort(when, kind="stable"):
            moment = datetime.fromtimestamp(float(when[index]), tz=UTC)
            _session(rng, result, int(index), weekend, moment)
    selectors.popularity_forget()
    return result


def _session(
    rng: np.random.Generator, result: SimulationResult, index: int, weekend: Weekend, moment: datetime
) -> None:
    """One person before one weekend: the served list, a look at Discover, and what they do."""
    user = result.users[index]
    taste = result.tastes[user.pk]
    profile = user.profile
    served = services.recommendations_serve(
        user=user,
        start=weekend.start,
        end=weekend.end,
        tz=TIMEZONE,
        limit=LIST_SIZE,
        now=moment,
        queue_impressions=False,  # training right after a simulation learns from them
    )
    result.impressions += len(served.results)
    events = weekend.events
    row_of = {int(pk): row for row, pk in enumerate(events.event_ids)}
    assert profile.home_lat is not None
    assert profile.home_lon is not None
    distance = catalogue.haversine_km(profile.home_lat, profile.home_lon, weekend.lat, weekend.lon)
    listed = [row_of[item.event.pk] for item in served.results if item.event.pk in row_of]
    nearby = np.flatnonzero((distance <= profile.max_distance_km) & (events.start > moment.timestamp()))
    others = nearby[~np.isin(nearby, listed)]
    browsed = rng.choice(others, size=min(DISCOVER, len(others)), replace=False) if len(others) else others
    rows = np.asarray([*listed, *browsed.tolist()], dtype=np.int64)
    if not len(rows):
        return
    noise = rng.normal(0.0, NOISE, size=len(rows))
    value = utility(taste, events, rows, distance[rows]) + weekend.appeal[rows] + noise
    clicked = rng.random(len(rows)) < _logistic(value + BIAS)
    saved = clicked & (rng.random(len(rows)) < _logistic(value + BIAS + SAVE_BIAS) * SAVE_SHARE)
    planned = saved & (rng.random(len(rows)) < PLAN_SHARE)
    contexts = [
        {"request_id": served.request_id, "rank": position + 1} if position < len(listed) else {"page": "discover"}
        for position in range(len(rows))
    ]
    tracked: list[dict[str, Any]] = []
    plans: list[int] = []
    at = moment
    for position, row in enumerate(rows):
        event_id = int(events.event_ids[row])
        for kind, done in (("click", clicked), ("save", saved), ("plan", planned)):
            if done[position]:
                at += timedelta(seconds=20)
                tracked.append(_tracked(kind, event_id, at, contexts[position]))
                result.log.append((index, event_id, kind, at.isoformat()))
        if planned[position]:
            plans.append(event_id)
    if plans:
        calendar = calendar_services.calendar_ensure_default(owner=user)
        for event in selectors.events_by_id(event_ids=plans).values():
            calendar_services.plan_from_event(calendar=calendar, event=event)
    if tracked:
        analytics_services.tracking_record(events=tracked, user_id=user.pk, received_at=at)
    result.clicks += int(clicked.sum())
    result.saves += int(saved.sum())
    result.plans += int(planned.sum())
