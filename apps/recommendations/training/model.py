"""The learned model as it serves: token factors (collaborative filtering, see collaborative) and a LambdaRank
model (LightGBM) over the features of each (person, candidate) pair, or a fixed blend when there was too little
data to learn one. Implements rankers.learned.ScoringModel."""

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from apps.recommendations.context import Candidates, Person
from apps.recommendations.features import content_features, history_features, token_weights
from apps.recommendations.rankers.content import content_score
from apps.recommendations.training import collaborative
from apps.recommendations.training.collaborative import Factors

# The columns the ranking model reads, in order; training (rows.py) computes the same values as of the past.
FEATURES = (
    "cf",
    "interest",
    "feedback",
    "nearness",
    "travel_minutes",
    "price_fit",
    "free_time",
    "freshness",
    "popularity",
    "history_category",
    "history_venue",
    "history_price",
    "history_daypart",
    "history_tag",
    "positives",
    "content",
)
# What the ranking model reads of them. Not freshness nor the history's size: within a training window they mostly
# say when a list was made (every list of one week shares them), which a tree extrapolates badly to the next week;
# the content ranker's score (`content`) still holds freshness.
LTR_FEATURES = tuple(name for name in FEATURES if name not in ("freshness", "positives"))
LTR_COLUMNS = [FEATURES.index(name) for name in LTR_FEATURES]
# The fallback when training had too few lists with a positive to learn from (a new site): collaborative
# filtering and the person's own history first, the content ranker's signals after, by hand.
BLEND = {
    "cf": 1.0,
    "interest": 0.5,
    "feedback": 0.5,
    "nearness": 0.3,
    "price_fit": 0.2,
    "free_time": 0.3,
    "freshness": 0.05,
    "popularity": 0.2,
    "history_category": 1.0,
    "history_venue": 1.0,
    "history_price": 0.2,
    "history_daypart": 0.2,
    "history_tag": 0.5,
}
RERANK = 500  # candidates the ranking model scores; the diversity step looks at the best 5 x limit (at most 500)
SIMILAR_QUANTILE = 0.75  # "popular with people like you": the top quarter by collaborative score, above zero


def feature_matrix(
    person: Person, candidates: Candidates, *, now: float, cf: NDArray[np.float64]
) -> NDArray[np.float64]:
    content = content_features(person, candidates, now=now)
    history = history_features(person, candidates)
    positives = np.full(len(candidates), math.log1p(person.positives))
    columns = [
        cf,
        content.interest,
        content.feedback,
        content.nearness,
        content.travel_minutes,
        content.price_fit,
        content.free_time,
        content.freshness,
        content.popularity,
        history.category,
        history.venue,
        history.price,
        history.daypart,
        history.tag,
        positives,
        content_score(content),
    ]
    return np.column_stack(columns).astype(np.float64) if len(candidates) else np.zeros((0, len(FEATURES)))


def blend_scores(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    weights = np.array([BLEND.get(name, 0.0) for name in FEATURES])
    return np.asarray(np.nan_to_num(matrix, nan=0.0) @ weights, dtype=np.float64)


def similar_mask(cf: NDArray[np.float64]) -> NDArray[np.bool_]:
    if cf.size == 0:
        return np.zeros(0, dtype=np.bool_)
    return np.asarray((cf >= np.quantile(cf, SIMILAR_QUANTILE)) & (cf > 0), dtype=np.bool_)


@dataclass
class LearnedModel:
    version: str
    factors: Factors
    booster: Any = None  # lightgbm.Booster, or None for the BLEND fallback
    meta: dict[str, Any] = field(default_factory=dict)

    def score(
        self, person: Person, candidates: Candidates, *, now: datetime
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        if len(candidates) == 0:
            return np.zeros(0), np.zeros(0, dtype=np.bool_)
        vector = collaborative.fold_in(self.factors, token_weights(person))
        cf = collaborative.scores(self.factors, vector, self.factors.rows_for(candidates.token_ids))
        matrix = feature_matrix(person, candidates, now=now.timestamp(), cf=cf)
        return self.score_matrix(matrix), similar_mask(cf)

    def score_matrix(self, matrix: NDArray[np.float64]) -> NDArray[np.float64]:
        """The ranking model's scores; with more than RERANK candidates, only the RERANK best by the blend are
        scored by it (two stages, as rankers commonly are: the model's time grows with the rows it scores), and the
        others follow them in the blend's order."""
        first = blend_scores(matrix)
        if self.booster is None:
            return first
        if len(first) <= RERANK:
            return self._predict(matrix)
        top = np.argpartition(-first, RERANK)[:RERANK]
        scores = np.empty(len(first))
        scores[top] = self._predict(matrix[top])
        rest = np.ones(len(first), dtype=bool)
        rest[top] = False
        spread = float(first.max() - first.min()) or 1.0
        scores[rest] = float(scores[top].min()) - 1.0 - (first.max() - first[rest]) / spread
        return scores

    def _predict(self, matrix: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(self.booster.predict(matrix[:, LTR_COLUMNS], num_threads=1), dtype=np.float64)
