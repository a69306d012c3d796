"""Features of (person, candidate) pairs, as columns: what the `content` ranker weighs by hand and the `learned`
ranker's model weighs by what people did. Pure numpy on apps.recommendations.context; no database."""

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from apps.core import geo
from apps.recommendations.context import TOKEN_KINDS, Candidates, Person, category_code, known_token_id, tokens_by_id

# Distance at which interest halves, by travel mode: a 3 km walk is far, a 3 km drive is nothing.
HALF_DISTANCE_KM = {"walk": 1.5, "bike": 4.0, "transit": 6.0, "drive": 12.0}
FRESH_DAYS = 7.0  # a listing's freshness halves every week
NEUTRAL = 0.5  # what a feature says when the data to compute it is missing


@dataclass(frozen=True)
class ContentFeatures:
    interest: NDArray[np.float64]  # 1 when the event's category is one of the person's interests
    feedback: NDArray[np.float64]  # "more/less like this" on the category and venue, in [-1, 1]
    nearness: NDArray[np.float64]  # 1 at the door, halving every HALF_DISTANCE_KM for the travel mode
    travel_minutes: NDArray[np.float64]  # nan without a home
    price_fit: NDArray[np.float64]  # 1 free, falling as the price eats the budget, 0 above it
    free_time: NDArray[np.float64]  # 1 when the person's calendars are free for it, travel included
    freshness: NDArray[np.float64]  # 1 when just listed, halving weekly
    popularity: NDArray[np.float64]  # log(1 + time-decayed interactions)

    def take(self, rows: NDArray[np.int64]) -> "ContentFeatures":
        return ContentFeatures(**{name: getattr(self, name)[rows] for name in self.__dataclass_fields__})


@dataclass(frozen=True)
class HistoryFeatures:
    """How much of the person's history (weighted: click 1, save 2, plan 3) shares each token with the event."""

    category: NDArray[np.float64]
    venue: NDArray[np.float64]
    price: NDArray[np.float64]
    daypart: NDArray[np.float64]
    tag: NDArray[np.float64]


def travel_minutes(person: Person, candidates: Candidates) -> NDArray[np.float64]:
    speed = geo.SPEED_KMH[geo.TravelMode(person.travel_mode)]
    return np.asarray(candidates.distance_km * geo.DETOUR_FACTOR / speed * 60.0, dtype=np.float64)


def _busy_overlap(person: Person, candidates: Candidates, minutes: NDArray[np.float64]) -> NDArray[np.float64]:
    if not person.busy:
        return np.ones(len(candidates))
    travel = np.nan_to_num(minutes, nan=0.0) * 60.0
    start, end = candidates.start - travel, candidates.end + travel
    free = np.ones(len(candidates))
    for busy_start, busy_end in person.busy:
        free[(start < busy_end) & (end > busy_start)] = 0.0
    return free


def content_features(person: Person, candidates: Candidates, *, now: float) -> ContentFeatures:
    count = len(candidates)
    codes = candidates.category_codes
    interest = np.isin(codes, [category_code(slug) for slug in person.interests]).astype(np.float64)
    feedback = np.zeros(count)
    for slug, weight in person.category_feedback.items():
        feedback[codes == category_code(slug)] += weight
    for venue, weight in person.venue_feedback.items():  # a venue's feedback adds to its category's
        feedback[candidates.venue_codes == venue] += weight
    feedback = np.clip(feedback, -1.0, 1.0)
    half = HALF_DISTANCE_KM.get(person.travel_mode, HALF_DISTANCE_KM["transit"])
    nearness = np.where(np.isnan(candidates.distance_km), NEUTRAL, 0.5 ** (candidates.distance_km / half))
    minutes = travel_minutes(person, candidates)
    price = candidates.price_min
    if person.budget is not None and person.budget > 0:
        share = np.nan_to_num(price, nan=person.budget / 2) / person.budget
        price_fit = np.clip(1.0 - share, 0.0, 1.0)
    else:
        price_fit = np.where(np.isnan(price), NEUTRAL, 1.0 / (1.0 + np.nan_to_num(price) / 20.0))
    price_fit = np.where(candidates.is_free, 1.0, price_fit)
    age_days = np.maximum(now - candidates.created, 0.0) / 86400.0
    return ContentFeatures(
        interest=interest,
        feedback=feedback,
        nearness=np.asarray(nearness, dtype=np.float64),
        travel_minutes=minutes,
        price_fit=np.asarray(price_fit, dtype=np.float64),
        free_time=_busy_overlap(person, candidates, minutes),
        freshness=0.5 ** (age_days / FRESH_DAYS),
        popularity=np.log1p(candidates.popularity),
    )


def token_weights(person: Person) -> dict[str, float]:
    """The person's history as weights per token (category:music, venue:12, ...): click 1, save 2, plan 3."""
    weights: dict[str, float] = {}
    for item in person.history:
        for token in item.tokens:
            weights[token] = weights.get(token, 0.0) + item.weight
    return weights


def history_features(person: Person, candidates: Candidates) -> HistoryFeatures:
    weights = token_weights(person)
    total = sum(item.weight for item in person.history) or 1.0
    # The person's weight of each numbered token (context.token_ids), and 0 in the last place, which the -1 of
    # an absent token (no venue, fewer tags) reads.
    dense = np.zeros(len(tokens_by_id()) + 1)
    for token, weight in weights.items():
        number = known_token_id(token)
        if number is not None and number < len(dense) - 1:
            dense[number] = weight / total
    ids = candidates.token_ids
    column = {kind: TOKEN_KINDS.index(kind) for kind in ("category", "price", "daypart", "venue", "tag")}
    tags = dense[ids[:, column["tag"] :]]
    return HistoryFeatures(
        category=dense[ids[:, column["category"]]],
        venue=dense[ids[:, column["venue"]]],
        price=dense[ids[:, column["price"]]],
        daypart=dense[ids[:, column["daypart"]]],
        tag=tags.max(axis=1) if tags.size else np.zeros(len(candidates)),
    )


def minmax(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Scaled to [0, 1] within the list (all equal: 0)."""
    if values.size == 0:
        return values
    low, high = float(values.min()), float(values.max())
    if math.isclose(low, high):
        return np.zeros_like(values)
    return (values - low) / (high - low)
