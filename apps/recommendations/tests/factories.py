"""Builders for recommendation tests: catalogue events around Berlin for the reference weekend, people with a
profile, and tracked interactions as pages send them."""

import uuid
import zoneinfo
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from apps.analytics import services as analytics_services
from apps.core.time import weekend_window
from apps.events.models import Event, Venue
from apps.users.models import User
from apps.users.tests.factories import UserFactory

BERLIN = (52.5200, 13.4050)
BERLIN_ZONE = zoneinfo.ZoneInfo("Europe/Berlin")


def weekend_moment() -> datetime:
    """Sunday 15:00 in Berlin of the weekend under way or next, by the suite's clock (conftest's `clock`): still
    ahead at every moment `make test-dates` replays, so events built around it are this weekend's and not over."""
    saturday, _ = weekend_window("this", "Europe/Berlin", now=timezone.now())
    sunday = saturday.astimezone(BERLIN_ZONE).date() + timedelta(days=1)
    return datetime.combine(sunday, time(15), tzinfo=BERLIN_ZONE).astimezone(UTC)


def place(key: str, *, lat: float = BERLIN[0], lon: float = BERLIN[1]) -> Venue:
    venue, _ = Venue.objects.get_or_create(
        key=key, defaults={"name": f"Venue {key}", "lat": lat, "lon": lon, "timezone": "Europe/Berlin"}
    )
    return venue


def event(title: str = "Concert", *, start: datetime | None = None, venue: Venue | None = None, **fields: Any) -> Event:
    """A catalogue event, at weekend_moment() unless `start` is given."""
    venue = venue or place("centre")
    start = start or weekend_moment()
    start = start or weekend_moment()
    values: dict[str, Any] = {
        "title": title,
        "start_utc": start,
        "end_utc": start + timedelta(hours=2),
        "timezone": "Europe/Berlin",
        "category": "music",
        "price_min": Decimal("15.00"),
        "currency": "EUR",
        "venue": venue,
        "lat": venue.lat,
        "lon": venue.lon,
    }
    values.update(fields)
    return Event.objects.create(**values)


def person(**profile: Any) -> User:
    """A person living in central Berlin (unless told otherwise), with the profile fields given."""
    user = UserFactory()
    values: dict[str, Any] = {"home_lat": BERLIN[0], "home_lon": BERLIN[1], "timezone": "Europe/Berlin"}
    values.update(profile)
    for name, value in values.items():
        setattr(user.profile, name, value)
    user.profile.save()
    return user


def track(user: User, kind: str, target: Event, *, at: datetime | None = None, **context: Any) -> None:
    """One tracked event, sent as a page would."""
    outcome = analytics_services.tracking_record(
        events=[
            {
                "id": str(uuid.uuid4()),
                "type": kind,
                "at": (at or datetime.now(UTC)).isoformat(),
                "object_type": "event",
                "object_id": str(target.pk),
                "context": context,
            }
        ],
        user_id=user.pk,
    )
    assert outcome.accepted == 1, outcome


class ManualClock:
    """A monotonic clock a test moves by hand (time-machine does not move the monotonic clock): what the serving
    modules' `clock` attributes are replaced with."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
