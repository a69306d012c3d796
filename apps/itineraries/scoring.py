"""How much a person would like each candidate event: the one interface the planner scores through.

`score_candidates` is the recommendations ranker a "for you" list would use for the person (their experiment's
variant, else the default: learned, content or popularity), untracked and undiversified. Another scorer with the
same signature is a one-line switch in SCORER.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from apps.core.geo import LatLon
from apps.recommendations import services as recommendation_services
from apps.users.models import User


@dataclass(frozen=True)
class Scores:
    """Candidate events of a window (ids) with how much the person would like each (any scale, higher better)."""

    event_ids: NDArray[np.int64]
    values: NDArray[np.float64]
    ranker: str
    explain: Callable[[NDArray[np.int64]], list[list[str]]]  # reasons for the given rows, short and true


class Scorer(Protocol):
    def __call__(
        self, *, user: User, start: datetime, end: datetime, near: LatLon | None, tz: str, now: datetime
    ) -> Scores: ...


def score_candidates(
    *, user: User, start: datetime, end: datetime, near: LatLon | None, tz: str, now: datetime
) -> Scores:
    scored = recommendation_services.recommendations_score(user=user, start=start, end=end, near=near, tz=tz, now=now)
    return Scores(scored.candidates.event_ids, scored.scores, scored.ranker, scored.reasons)


SCORER: Scorer = score_candidates


def solver_scores(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rankers' scores on the solver's scale: positive, by rank (the best 100, falling quadratically to 1), so
    that a ranker's scale (a LambdaRank margin can be negative) never changes which day wins, only its order."""
    count = len(values)
    if count == 0:
        return np.zeros(0)
    ranks = np.empty(count, dtype=np.float64)
    ranks[np.argsort(-values, kind="stable")] = np.arange(count)
    share = 1.0 - ranks / count
    return np.round(1.0 + 99.0 * share**2, 3)
