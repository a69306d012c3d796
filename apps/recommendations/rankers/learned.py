"""`learned`: the trained model (apps.recommendations.training): collaborative filtering over what people did with
events' categories, venues, tags, price bands and parts of the day, blended with the content features and
popularity by a learning-to-rank model. Serves the promoted model (apps.recommendations.serving) unless given one,
as the evaluation and the quality gate do."""

from datetime import datetime
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from apps.recommendations.context import Candidates, Person
from apps.recommendations.features import content_features
from apps.recommendations.rankers.registry import Ranking, register

NAME = "learned"


class ModelUnavailable(Exception):
    """No promoted model could be loaded: the caller falls back to another ranker."""


class ScoringModel(Protocol):
    version: str

    def score(
        self, person: Person, candidates: Candidates, *, now: datetime
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """One score per candidate, and which candidates people with the person's tastes went for."""
        ...


class LearnedRanker:
    name = NAME

    def __init__(self, model: ScoringModel | None = None) -> None:
        self.model = model

    def rank(self, person: Person, candidates: Candidates, *, now: datetime) -> Ranking:
        model = self.model
        if model is None:
            from apps.recommendations import serving  # loads numpy artefacts and LightGBM: only when serving

            model = serving.current_model()
        if model is None:
            raise ModelUnavailable
        scores, similar = model.score(person, candidates, now=now)
        features = content_features(person, candidates, now=now.timestamp())
        return Ranking(
            scores=np.asarray(scores, dtype=np.float64),
            ranker=NAME,
            features=features,
            similar_people=similar,
            model_version=model.version,
        )


register(LearnedRanker())
