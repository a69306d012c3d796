"""`content`: the person's stated interests, distance by their travel mode, price against their budget, fit with
their free time, freshness, and their "more/less like this", weighted by hand. Needs no history: what a person
with few interactions gets, and what the learned model is asked to beat."""

from datetime import datetime

import numpy as np

from apps.recommendations.context import Candidates, Person
from apps.recommendations.features import ContentFeatures, content_features, minmax
from apps.recommendations.rankers.registry import Ranking, register

NAME = "content"
WEIGHTS = {
    "interest": 1.0,
    "feedback": 0.8,
    "nearness": 0.6,
    "price_fit": 0.4,
    "free_time": 0.6,
    "freshness": 0.1,
    "popularity": 0.3,
}


def content_score(features: ContentFeatures) -> np.ndarray:
    return (
        WEIGHTS["interest"] * features.interest
        + WEIGHTS["feedback"] * features.feedback
        + WEIGHTS["nearness"] * features.nearness
        + WEIGHTS["price_fit"] * features.price_fit
        + WEIGHTS["free_time"] * features.free_time
        + WEIGHTS["freshness"] * features.freshness
        + WEIGHTS["popularity"] * minmax(features.popularity)
    )


class ContentRanker:
    name = NAME

    def rank(self, person: Person, candidates: Candidates, *, now: datetime) -> Ranking:
        features = content_features(person, candidates, now=now.timestamp())
        return Ranking(scores=np.asarray(content_score(features), dtype=np.float64), ranker=NAME, features=features)


register(ContentRanker())
