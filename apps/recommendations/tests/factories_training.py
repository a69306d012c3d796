"""Builders for training and serving tests: tracked interactions at chosen moments (written through the analytics
sink, as a busy site would have logged them: the API clamps old client times), a small synthetic population with
clear tastes, and hand-made models."""

import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.db import transaction

from apps.analytics.models import TrackedEvent
from apps.analytics.sinks import default_sink
from apps.events.models import Event
from apps.recommendations.tests.factories import place
from apps.recommendations.training.collaborative import Factors
from apps.recommendations.training.model import LearnedModel
from apps.users.models import User
from apps.users.tests.factories import UserFactory

NOW = datetime(2026, 6, 17, 10, 0, tzinfo=UTC)
CATEGORIES = ("music", "film", "sports", "food-drink")
TAGS = {"music": ["Jazz"], "film": ["Indie"], "sports": ["Football"], "food-drink": ["Street food"]}


@dataclass(frozen=True)
class Interaction:
    user_id: int
    type: str
    event_id: int
    at: datetime
    request_id: str = ""
    rank: int | None = None


def write(interactions: Iterable[Interaction]) -> int:
    rows = []
    for item in interactions:
        context: dict[str, object] = {}
        if item.request_id:
            context["request_id"] = item.request_id
        if item.rank is not None:
            context["rank"] = item.rank
        rows.append(
            TrackedEvent(
                client_id=uuid.uuid4(),
                type=item.type,
                at=item.at,
                received_at=item.at,
                user_id=item.user_id,
                object_type="event",
                object_id=str(item.event_id),
                context=context,
            )
        )
    with transaction.atomic():
        return len(default_sink().write(rows))


def people(count: int) -> list[User]:
    users = []
    for _ in range(count):
        user = UserFactory()
        profile = user.profile
        profile.home_lat, profile.home_lon, profile.timezone = 52.52, 13.405, "Europe/Berlin"
        profile.save()
        users.append(user)
    return users


@dataclass
class Population:
    users: list[User]
    favourite: dict[int, str]  # user id: category
    events_by_day: list[list[Event]]


def population(
    *, people_count: int = 30, days: int = 21, now: datetime = NOW, seed: int = 1, tastes: bool = True
) -> Population:
    """`people_count` people, each with a favourite category, who for `days` days before `now` see a list of that
    day's 8 events (two per category) and click, save and plan mostly in their favourite one (at random when
    `tastes` is off); a few also click an event no list showed them."""
    rng = random.Random(seed)
    users = people(people_count)
    favourite = {user.pk: CATEGORIES[i % len(CATEGORIES)] for i, user in enumerate(users)}
    venues = {category: place(f"venue-{category}") for category in CATEGORIES}
    first_day = (now - timedelta(days=days)).replace(hour=0, minute=0)
    planned = []
    for day in range(days):
        start = first_day + timedelta(days=day, hours=18)
        for category in CATEGORIES:
            for copy in range(2):
                venue = venues[category]
                planned.append(
                    Event(
                        title=f"{category} {day} {copy}",
                        start_utc=start + timedelta(hours=copy),
                        end_utc=start + timedelta(hours=copy + 2),
                        timezone="Europe/Berlin",
                        category=category,
                        tags=TAGS[category],
                        price_min=Decimal("10.00"),
                        currency="EUR",
                        venue=venue,
                        lat=venue.lat,
                        lon=venue.lon,
                    )
                )
    created = Event.objects.bulk_create(planned)
    events_by_day = [created[day * 8 : (day + 1) * 8] for day in range(days)]
    interactions = []
    for day, events in enumerate(events_by_day):
        morning = first_day + timedelta(days=day, hours=8)
        for n, user in enumerate(users):
            seen = events[:]
            rng.shuffle(seen)
            request = uuid.uuid4().hex
            shown_at = morning + timedelta(minutes=n)
            for rank, item in enumerate(seen, start=1):
                interactions.append(Interaction(user.pk, "impression", item.pk, shown_at, request, rank))
                liked = item.category == favourite[user.pk] if tastes else rng.random() < 0.25
                if not liked:
                    continue
                if rng.random() < 0.8:
                    interactions.append(
                        Interaction(user.pk, "click", item.pk, shown_at + timedelta(minutes=2), request)
                    )
                if rng.random() < 0.3:
                    interactions.append(Interaction(user.pk, "save", item.pk, shown_at + timedelta(minutes=3), request))
                if rng.random() < 0.15:
                    interactions.append(Interaction(user.pk, "plan", item.pk, shown_at + timedelta(hours=1)))
            if rng.random() < 0.2:  # found elsewhere: no impression, no request id
                other = rng.choice([e for e in events if e.category == favourite[user.pk]])
                interactions.append(Interaction(user.pk, "click", other.pk, morning + timedelta(hours=3)))
    write(interactions)
    return Population(users=users, favourite=favourite, events_by_day=events_by_day)


def tiny_model(
    version: str, *, tokens: Iterable[str] = ("category:music", "category:film"), seed: int = 0
) -> LearnedModel:
    """A model with random factors and the fixed blend: enough to save, load and serve."""
    vocabulary = np.array(list(tokens), dtype=np.str_)
    items = np.random.default_rng(seed).normal(size=(vocabulary.size, 4))
    return LearnedModel(version=version, factors=Factors(vocabulary=vocabulary, items=items, regularization=0.1))
