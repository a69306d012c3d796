"""Why an event is on a person's list, in a few words each, and only what the data says: a reason is given only
when its feature is there (a distance only with a home or `near`, "fits Saturday afternoon" only when the
calendars are free then, travel included)."""

import calendar

import numpy as np
from numpy.typing import NDArray

from apps.core.taxonomy import CATEGORIES
from apps.recommendations.context import Candidates, Person, part_of_day
from apps.recommendations.features import ContentFeatures, token_weights

MAX_REASONS = 4
POPULAR_NEARBY = 2.0  # log1p of decayed interactions above which "popular nearby" is said (about 6 people)


def _distance_text(km: float) -> str:
    return f"{km * 1000:.0f} m away" if km < 1 else f"{km:.1f} km away"


def _price_text(person: Person, candidates: Candidates, row: int) -> str | None:
    if candidates.is_free[row]:
        return "free"
    price = float(candidates.price_min[row])
    if not np.isnan(price) and person.budget is not None and price <= person.budget:
        return "within your budget"
    return None


def _taste(person: Person, candidates: Candidates, row: int, weights: dict[str, float]) -> str | None:
    liked_tags = [tag for tag in candidates.tags[row][:3] if weights.get(f"tag:{tag.casefold()}", 0) > 0]
    if liked_tags:
        return f"you like {liked_tags[0].casefold()}"
    category = candidates.categories[row]
    if category in person.interests or weights.get(f"category:{category}", 0) > 0:
        return f"you like {CATEGORIES.get(category, category).casefold()}"
    return None


def _when(candidates: Candidates, row: int) -> str:
    day = calendar.day_name[int(candidates.local_weekday[row])]
    part = part_of_day(int(candidates.local_hour[row]), all_day=bool(candidates.all_day[row]))
    return f"fits {day}" if part == "all-day" else f"fits {day} {part}"


def explain(
    person: Person,
    candidates: Candidates,
    features: ContentFeatures,
    *,
    similar_people: NDArray[np.bool_] | None = None,
) -> list[list[str]]:
    """The reasons of every candidate, most telling first. `similar_people` marks the events that people with
    the same tastes went for (the learned ranker's collaborative score)."""
    weights = token_weights(person)
    explained: list[list[str]] = []
    for row in range(len(candidates)):
        found: list[str | None] = [_taste(person, candidates, row, weights)]
        if features.feedback[row] > 0:
            found.append("like what you asked for more of")
        if similar_people is not None and similar_people[row]:
            found.append("popular with people like you")
        elif features.popularity[row] >= POPULAR_NEARBY:
            found.append("popular nearby" if person.home is not None else "popular this weekend")
        if not np.isnan(candidates.distance_km[row]):
            found.append(_distance_text(float(candidates.distance_km[row])))
        found.append(_price_text(person, candidates, row))
        if person.busy and features.free_time[row] == 1.0:
            found.append(_when(candidates, row))
        explained.append([reason for reason in found if reason][:MAX_REASONS])
    return explained
