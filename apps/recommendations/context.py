"""What a ranker is given: the person it ranks for, and the candidate events as columns (numpy arrays).

Plain data, no database: serving builds them from the tables (apps.recommendations.selectors), offline evaluation
and training build them as of a past moment, and every ranker scores them the same way in both.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from apps.core.geo import LatLon
from apps.core.taxonomy import CATEGORIES

# How much each kind of interaction says about a taste (a click is curiosity, a plan is commitment).
INTERACTION_WEIGHTS = {"click": 1.0, "save": 2.0, "plan": 3.0}
POSITIVE_TYPES = tuple(INTERACTION_WEIGHTS)
# A person with fewer positive interactions than this gets `content` (then `popularity`) instead of `learned`.
MIN_HISTORY = 5
PRICE_BANDS = ((0.0, "free"), (15.0, "low"), (40.0, "mid"), (float("inf"), "high"))


_CATEGORY_CODES = {slug: code for code, slug in enumerate(CATEGORIES, start=1)}  # 0: none or unknown


def category_code(slug: str) -> int:
    return _CATEGORY_CODES.get(slug, 0)


def price_band(*, is_free: bool, price_min: float | None) -> str:
    if is_free or price_min == 0:
        return "free"
    if price_min is None:
        return "unknown"
    for ceiling, band in PRICE_BANDS[1:]:
        if price_min <= ceiling:
            return band
    return "high"


def part_of_day(local_hour: int, *, all_day: bool) -> str:
    if all_day:
        return "all-day"
    if 5 <= local_hour < 12:
        return "morning"
    if 12 <= local_hour < 17:
        return "afternoon"
    if 17 <= local_hour < 22:
        return "evening"
    return "night"


def item_tokens(
    *, category: str, venue_id: int | None, tags: tuple[str, ...], band: str, daypart: str
) -> tuple[str, ...]:
    """What collaborative filtering learns about instead of the event itself, which lives only days: its category,
    venue, genre tags, price band and part of day. A new event shares them with events people already touched."""
    tokens = [f"category:{category or 'none'}", f"price:{band}", f"daypart:{daypart}"]
    if venue_id is not None:
        tokens.append(f"venue:{venue_id}")
    tokens.extend(f"tag:{tag.casefold()}" for tag in tags[:3])
    return tuple(tokens)


@dataclass(frozen=True)
class HistoryItem:
    """One positive interaction of the person's, with the tokens of the event it was about."""

    event_id: int
    type: str
    at: datetime
    category: str
    venue_id: int | None
    tokens: tuple[str, ...]

    @property
    def weight(self) -> float:
        return INTERACTION_WEIGHTS.get(self.type, 0.0)


@dataclass(frozen=True)
class Person:
    user_id: int | None
    home: LatLon | None
    timezone: str = "UTC"
    interests: frozenset[str] = frozenset()
    budget: float | None = None
    currency: str = "EUR"
    travel_mode: str = "transit"
    max_distance_km: float = 25.0
    history: tuple[HistoryItem, ...] = ()
    # Feedback: +1 per "more like this", -1 per "less like this", by category and by venue id.
    category_feedback: dict[str, float] = field(default_factory=dict)
    venue_feedback: dict[int, float] = field(default_factory=dict)
    dismissed: frozenset[int] = frozenset()  # events the person said were not for them: never listed again
    # The window's busy intervals from the person's calendars, travel to and from included, as epoch seconds.
    busy: tuple[tuple[float, float], ...] = ()

    @property
    def positives(self) -> int:
        return sum(1 for item in self.history if item.type in INTERACTION_WEIGHTS)


NO_VENUE = -1
# Every token seen by this process, numbered: candidates carry their tokens as these numbers (`token_ids`), so that
# history shares and collaborative scores are numpy lookups. Bounded by the catalogue's venues and tags.
TOKEN_KINDS = ("category", "price", "daypart", "venue", "tag", "tag", "tag")  # the columns of `token_ids`
_TOKEN_IDS: dict[str, int] = {}
_TOKENS: list[str] = []


def token_id(token: str) -> int:
    found = _TOKEN_IDS.get(token)
    if found is None:
        found = _TOKEN_IDS.setdefault(token, len(_TOKEN_IDS))
        if found == len(_TOKENS):
            _TOKENS.append(token)
    return found


def known_token_id(token: str) -> int | None:
    return _TOKEN_IDS.get(token)


def tokens_by_id() -> list[str]:
    """Each numbered token, by its number."""
    return _TOKENS[: len(_TOKEN_IDS)]


def _token_id_row(tokens: tuple[str, ...]) -> list[int]:
    row = [-1] * len(TOKEN_KINDS)
    tag_column = TOKEN_KINDS.index("tag")
    for token in tokens:
        kind = token.split(":", 1)[0]
        if kind == "tag":
            if tag_column < len(row):
                row[tag_column] = token_id(token)
                tag_column += 1
        elif kind in TOKEN_KINDS:
            row[TOKEN_KINDS.index(kind)] = token_id(token)
    return row


def objects(values: Sequence[Any]) -> NDArray[np.object_]:
    """A one-dimensional array of Python objects (tuples stay whole), which numpy indexes as fast as numbers."""
    array = np.empty(len(values), dtype=object)
    for index, value in enumerate(values):
        array[index] = value
    return array


@dataclass
class Candidates:
    """The events a list may hold, one row each, in the same order in every array. Text columns are object arrays
    so that taking rows is one numpy indexing; `category_codes` and `venue_codes` are their numbers for masks."""

    event_ids: NDArray[np.int64]
    categories: Sequence[str]
    venue_ids: Sequence[int | None]
    tags: Sequence[tuple[str, ...]]
    start: NDArray[np.float64]  # epoch seconds
    end: NDArray[np.float64]  # epoch seconds (start + 2 h when unknown)
    local_weekday: NDArray[np.int64]  # 0 = Monday, by the event's own clock
    local_hour: NDArray[np.int64]
    all_day: NDArray[np.bool_]
    distance_km: NDArray[np.float64]  # nan when the person has no home and gave no `near`
    price_min: NDArray[np.float64]  # nan when unknown
    is_free: NDArray[np.bool_]
    created: NDArray[np.float64]  # epoch seconds the event was first listed
    popularity: NDArray[np.float64]  # time-decayed interactions with the event (apps.recommendations.selectors)
    tokens: Sequence[tuple[str, ...]] = ()
    category_codes: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    venue_codes: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    token_ids: NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, len(TOKEN_KINDS)), dtype=np.int64))

    def __post_init__(self) -> None:
        count = len(self.event_ids)
        if len(self.tokens) != count:
            self.tokens = [
                item_tokens(
                    category=category,
                    venue_id=venue_id,
                    tags=tags,
                    band=price_band(is_free=bool(free), price_min=None if np.isnan(price) else float(price)),
                    daypart=part_of_day(int(hour), all_day=bool(all_day)),
                )
                for category, venue_id, tags, free, price, hour, all_day in zip(
                    self.categories,
                    self.venue_ids,
                    self.tags,
                    self.is_free,
                    self.price_min,
                    self.local_hour,
                    self.all_day,
                    strict=True,
                )
            ]
        for name in ("categories", "venue_ids", "tags", "tokens"):
            if not isinstance(getattr(self, name), np.ndarray):
                setattr(self, name, objects(getattr(self, name)))
        if len(self.category_codes) != count:
            self.category_codes = np.fromiter((category_code(c) for c in self.categories), dtype=np.int64, count=count)
        if len(self.token_ids) != count:
            self.token_ids = np.array([_token_id_row(tokens) for tokens in self.tokens], dtype=np.int64).reshape(
                count, len(TOKEN_KINDS)
            )
        if len(self.venue_codes) != count:
            self.venue_codes = np.fromiter(
                (NO_VENUE if v is None else v for v in self.venue_ids), dtype=np.int64, count=count
            )

    def __len__(self) -> int:
        return len(self.event_ids)

    def take(self, rows: NDArray[np.int64]) -> "Candidates":
        """The given rows, in the given order."""
        return Candidates(**{name: getattr(self, name)[rows] for name in self.__dataclass_fields__})
