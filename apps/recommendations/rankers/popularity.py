"""`popularity`: what people around here did with each event lately (time-decayed clicks, saves and plans),
nearer first among equals. The baseline, and what anonymous callers and newcomers get."""

from datetime import datetime

import numpy as np

from apps.recommendations.context import Candidates, Person
from apps.recommendations.features import content_features
from apps.recommendations.rankers.registry import Ranking, register

NAME = "popularity"


class PopularityRanker:
    name = NAME

    def rank(self, person: Person, candidates: Candidates, *, now: datetime) -> Ranking:
        features = content_features(person, candidates, now=now.timestamp())
        # Nearness only breaks ties between equally popular events (most new events have no interactions yet).
        scores = features.popularity + 0.01 * features.nearness
        return Ranking(scores=np.asarray(scores, dtype=np.float64), ranker=NAME, features=features)


register(PopularityRanker())
