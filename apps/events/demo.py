"""An offline, plausible Berlin: venues with their real coordinates and a few hundred events every weekend.

Used by `manage.py seed_demo` (which `make run` calls on an empty catalogue) so the site has something to
show with no provider keys. Deterministic: the same weekends give the same items, so seeding twice is a no-op.
"""

import random
import zoneinfo
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from apps.events.sources.base import NormalizedEvent, NormalizedVenue

TIMEZONE = "Europe/Berlin"
CENTER = (52.5200, 13.4050)

# (name, address, lat, lon, categories it hosts)
VENUES: list[tuple[str, str, float, float, tuple[str, ...]]] = [
    ("Kulturbrauerei", "Schönhauser Allee 36, 10435 Berlin", 52.5390, 13.4128, ("music", "nightlife", "markets")),
    ("Philharmonie Berlin", "Herbert-von-Karajan-Str. 1, 10785 Berlin", 52.5098, 13.3695, ("music",)),
    ("Volksbühne", "Linienstraße 227, 10178 Berlin", 52.5268, 13.4118, ("arts-theatre",)),
    ("Deutsches Theater", "Schumannstraße 13a, 10117 Berlin", 52.5245, 13.3828, ("arts-theatre",)),
    ("Babylon Kino", "Rosa-Luxemburg-Str. 30, 10178 Berlin", 52.5262, 13.4107, ("film",)),
    ("Kino International", "Karl-Marx-Allee 33, 10178 Berlin", 52.5201, 13.4245, ("film",)),
    ("Markthalle Neun", "Eisenbahnstraße 42/43, 10997 Berlin", 52.5021, 13.4318, ("food-drink", "markets")),
    ("Lido", "Cuvrystraße 7, 10997 Berlin", 52.4993, 13.4449, ("music", "nightlife")),
    ("SO36", "Oranienstraße 190, 10999 Berlin", 52.5004, 13.4219, ("music", "nightlife")),
    ("Astra Kulturhaus", "Revaler Str. 99, 10245 Berlin", 52.5075, 13.4537, ("music",)),
    ("Columbiahalle", "Columbiadamm 13-21, 10965 Berlin", 52.4851, 13.3919, ("music",)),
    ("Uber Arena", "Uber-Platz 1, 10243 Berlin", 52.5055, 13.4434, ("music", "sports")),
    ("Olympiastadion", "Olympischer Platz 3, 14053 Berlin", 52.5147, 13.2395, ("sports",)),
    ("Tempelhofer Feld", "Tempelhofer Damm, 12101 Berlin", 52.4733, 13.4017, ("outdoors", "sports", "festivals")),
    ("Mauerpark", "Gleimstraße 55, 10437 Berlin", 52.5434, 13.4023, ("markets", "outdoors", "music")),
    ("Treptower Park", "Puschkinallee, 12435 Berlin", 52.4888, 13.4697, ("outdoors", "family")),
    ("Tiergarten", "Straße des 17. Juni, 10557 Berlin", 52.5145, 13.3501, ("outdoors", "sports")),
    ("Museum für Naturkunde", "Invalidenstraße 43, 10115 Berlin", 52.5302, 13.3796, ("family", "learning")),
    (
        "Haus der Kulturen der Welt",
        "John-Foster-Dulles-Allee 10, 10557 Berlin",
        52.5186,
        13.3651,
        ("arts-theatre", "learning", "festivals"),
    ),
    ("Zoo Berlin", "Hardenbergplatz 8, 10787 Berlin", 52.5079, 13.3377, ("family",)),
    ("Alte Münze", "Molkenmarkt 2, 10179 Berlin", 52.5163, 13.4097, ("arts-theatre", "festivals", "food-drink")),
    ("Holzmarkt 25", "Holzmarktstraße 25, 10243 Berlin", 52.5115, 13.4265, ("nightlife", "food-drink", "community")),
    ("Pfefferberg", "Schönhauser Allee 176, 10119 Berlin", 52.5333, 13.4095, ("food-drink", "community")),
    ("silent green", "Gerichtstraße 35, 13347 Berlin", 52.5453, 13.3542, ("music", "arts-theatre", "learning")),
    ("Boxhagener Platz", "Boxhagener Platz, 10245 Berlin", 52.5103, 13.4603, ("markets", "community")),
    ("Admiralspalast", "Friedrichstraße 101, 10117 Berlin", 52.5209, 13.3883, ("arts-theatre", "music")),
    ("Prinzessinnengarten", "Hermannstraße 99, 12051 Berlin", 52.4815, 13.4262, ("community", "outdoors", "family")),
    ("Stadtbibliothek Pankow", "Breite Str. 30, 13187 Berlin", 52.5697, 13.4011, ("learning", "family")),
    ("Radialsystem", "Holzmarktstraße 33, 10243 Berlin", 52.5107, 13.4287, ("music", "arts-theatre")),
    ("Arena Berlin", "Eichenstraße 4, 12435 Berlin", 52.4963, 13.4536, ("festivals", "nightlife", "markets")),
]

TITLES: dict[str, list[str]] = {
    "music": ["Jazz Quartet Evening", "Indie Rock Showcase", "Chamber Music Matinee", "Singer-Songwriter Night",
              "Brass Band Session", "Piano Recital", "Afrobeat Live", "Choir Concert", "Hip-Hop Open Mic"],
    "nightlife": ["Techno All-Nighter", "Disco Classics Party", "House Music Rooftop", "Drum & Bass Night",
                  "Salsa Social", "Queer Dance Party"],
    "arts-theatre": ["Contemporary Dance Premiere", "Improv Comedy Show", "Brecht Revival", "Puppet Theatre",
                     "Spoken Word Evening", "Gallery Opening"],
    "film": ["Cult Classics Double Bill", "Documentary Premiere & Q&A", "Silent Film with Live Organ",
             "Short Film Festival Block", "Open-Air Cinema"],
    "food-drink": ["Street Food Thursday Weekend Edition", "Natural Wine Tasting", "Dumpling Workshop",
                   "Craft Beer Festival", "Sunday Brunch Market"],
    "sports": ["Basketball Home Game", "Football Derby", "Parkrun 5k", "Beach Volleyball Cup", "Yoga in the Park"],
    "outdoors": ["Guided Bird Walk", "Kite Flying Afternoon", "Urban Gardening Day", "Sunset Bike Tour",
                 "River Kayak Trip"],
    "family": ["Dinosaur Discovery Tour", "Kids' Science Show", "Family Puppet Workshop", "Zoo Keeper Talk",
               "Lantern Making"],
    "community": ["Neighbourhood Repair Café", "Language Exchange", "Board Game Meetup", "Community Clean-Up",
                  "Book Swap"],
    "learning": ["History of Berlin Walk", "Intro to Astronomy", "Photography Basics", "Coding Workshop for Beginners",
                 "Museum Curator Talk"],
    "markets": ["Flea Market", "Vintage Clothes Market", "Farmers' Market", "Design Market", "Christmas Market"],
    "festivals": ["Winter Lights Festival", "Food Truck Festival", "Electronic Music Festival", "Street Art Festival"],
}  # fmt: skip

FREE_CATEGORIES = frozenset({"outdoors", "community", "markets"})
EVENTS_PER_WEEKEND = 190
WEEKENDS = 3


def upcoming_saturdays(today: date, count: int = WEEKENDS) -> list[date]:
    days_to_saturday = (5 - today.weekday()) % 7
    first = today + timedelta(days=days_to_saturday)
    if today.weekday() == 6:  # on a Sunday, the weekend under way counts too
        first = today - timedelta(days=1)
    return [first + timedelta(weeks=n) for n in range(count)]


def venue_of(index: int) -> NormalizedVenue:
    name, address, lat, lon, _ = VENUES[index]
    return NormalizedVenue(key=f"demo:{index}", name=name, address=address, lat=lat, lon=lon, timezone=TIMEZONE)


def demo_events(today: date) -> Iterator[NormalizedEvent]:
    zone = zoneinfo.ZoneInfo(TIMEZONE)
    for saturday in upcoming_saturdays(today):
        rng = random.Random(saturday.toordinal())  # noqa: S311 - demo data, not security
        friday = saturday - timedelta(days=1)
        for n in range(EVENTS_PER_WEEKEND):
            venue_index = rng.randrange(len(VENUES))
            category = rng.choice(VENUES[venue_index][4])
            day = rng.choice([friday, saturday, saturday, saturday, saturday + timedelta(days=1),
                              saturday + timedelta(days=1)])  # fmt: skip
            start_hour = (
                rng.choice([10, 11, 12, 14, 15, 16, 18, 19, 20, 21, 22])
                if day != friday
                else rng.choice([18, 19, 20, 21, 22])
            )
            start_local = datetime.combine(day, time(start_hour, rng.choice([0, 0, 30])), tzinfo=zone)
            duration = timedelta(hours=rng.choice([1, 1.5, 2, 2, 3, 4]))
            free = (category in FREE_CATEGORIES and rng.random() < 0.7) or rng.random() < 0.08
            low = None if free else Decimal(rng.choice([5, 8, 10, 12, 15, 20, 25, 35, 45, 60]))
            title = rng.choice(TITLES[category])
            yield NormalizedEvent(
                provider_id=f"{saturday.isoformat()}-{n}",
                title=f"{title} at {VENUES[venue_index][0]}",
                description=f"{title}: a {category.replace('-', ' & ')} event in Berlin this weekend.",
                start_utc=start_local.astimezone(zoneinfo.ZoneInfo("UTC")),
                end_utc=(start_local + duration).astimezone(zoneinfo.ZoneInfo("UTC")),
                timezone=TIMEZONE,
                time_tba=rng.random() < 0.02,
                category=category,
                tags=(category,),
                price_min=low,
                price_max=None if low is None else low + Decimal(rng.choice([0, 5, 10, 20])),
                currency="" if free else "EUR",
                is_free=free,
                url=f"https://example.org/berlin/{saturday.isoformat()}/{n}",
                status="cancelled" if rng.random() < 0.02 else "scheduled",
                venue=venue_of(venue_index),
            )
