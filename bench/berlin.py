"""A synthetic Berlin for the recommendation benchmarks: people with profiles, venues and events around the centre,
bulk-inserted (signals and per-row services would take longer than what is measured)."""

from datetime import datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

BERLIN = (52.52, 13.405)
CATEGORIES = ("music", "nightlife", "arts-theatre", "film", "food-drink", "sports", "outdoors", "family", "markets")
TAGS = ("Jazz", "Rock", "Techno", "Classical", "Street food", "Indie", "Comedy", "Football", "Vintage")
VENUES = 2000


def around_berlin(rng: np.random.Generator, count: int, km: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Points spread over a square of `km` each way from the centre."""
    lat = BERLIN[0] + rng.uniform(-km, km, count) / 111.2
    lon = BERLIN[1] + rng.uniform(-km, km, count) / (111.2 * 0.61)
    return lat, lon


def random_interests(rng: np.random.Generator, count: int) -> list[list[str]]:
    """One to three categories for each of `count` people."""
    return [[str(c) for c in rng.choice(CATEGORIES, size=int(rng.integers(1, 4)), replace=False)] for _ in range(count)]


def people(rng: np.random.Generator, interests: list[list[str]]) -> list[Any]:
    """One person per entry of `interests`, living within 12 km of the centre, with a budget; the User rows."""
    from django.contrib.auth.hashers import make_password

    from apps.users.models import Profile, User

    password = make_password(None)
    users = User.objects.bulk_create(
        [User(email=f"bench{n}@example.test", password=password) for n in range(len(interests))], batch_size=5000
    )
    homes = around_berlin(rng, len(users), 12)
    Profile.objects.bulk_create(
        [
            Profile(
                user=user,
                home_lat=float(homes[0][n]),
                home_lon=float(homes[1][n]),
                timezone="Europe/Berlin",
                interests=interests[n],
                budget=int(rng.choice([20, 40, 80])),
            )
            for n, user in enumerate(users)
        ],
        batch_size=5000,
    )
    return users


def events(
    rng: np.random.Generator, now: datetime, offsets: NDArray[np.float64], categories: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Two-hour events starting `offsets` seconds from `now`, of the given categories (indexes into CATEGORIES), at
    VENUES venues within 15 km; their ids, in the order given."""
    from apps.events.models import Event, Venue

    places = around_berlin(rng, VENUES, 15)
    venues = Venue.objects.bulk_create(
        [
            Venue(key=f"bench:{n}", name=f"Venue {n}", lat=float(places[0][n]), lon=float(places[1][n]))
            for n in range(VENUES)
        ]
    )
    venue_of = rng.integers(0, len(venues), len(offsets))
    rows = []
    for n, offset in enumerate(offsets.tolist()):
        start = now + timedelta(seconds=offset)
        venue = venues[int(venue_of[n])]
        free = rng.random() < 0.2
        rows.append(
            Event(
                title=f"Event {n}",
                start_utc=start,
                end_utc=start + timedelta(hours=2),
                timezone="Europe/Berlin",
                category=CATEGORIES[int(categories[n])],
                tags=[TAGS[int(rng.integers(0, len(TAGS)))]],
                is_free=free,
                price_min=None if free else int(rng.integers(5, 80)),
                venue=venue,
                lat=venue.lat,
                lon=venue.lon,
            )
        )
    return np.array([event.pk for event in Event.objects.bulk_create(rows, batch_size=5000)], dtype=np.int64)
