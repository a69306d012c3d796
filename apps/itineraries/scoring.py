"""How much a person would like each candidate event: the one interface the planner scores through.

`score_candidates` is the recommendations ranker a "for you" list would use for the person (their experiment's
variant, else the default: learned, content or popularity), untracked and undiversified. Another scorer with the
same signature is a one-line switch in SCORER.
"""

from collections.abc import Callable, Sequence
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


def shared_scorer(companions: Sequence[User]) -> Scorer:
    """A scorer for the person with `companions` (a group going together): each event's mean over all of them of
    their own rank score (solver_scores: 1 to 100; 0 for someone whose candidates it is not), so the plan suits the
    group rather than whoever asked."""

    def score(*, user: User, start: datetime, end: datetime, near: LatLon | None, tz: str, now: datetime) -> Scores:
        people = [user, *companions]
        each = [SCORER(user=p, start=start, end=end, near=near, tz=tz, now=now) for p in people]
        event_ids = np.unique(np.concatenate([s.event_ids for s in each])).astype(np.int64)
        total = np.zeros(len(event_ids))
        keen = np.zeros(len(event_ids), dtype=np.int64)  # how many of them rank it in their better half
        for scores in each:
            rows = np.searchsorted(event_ids, scores.event_ids)
            values = solver_scores(scores.values)
            total[rows] += values
            keen[rows] += values >= 25.75  # 1 + 99 * 0.5**2: the better half by rank
        count = len(people)

        def explain(rows: NDArray[np.int64]) -> list[list[str]]:
            return [[f"Suits {int(keen[row])} of the {count} of you"] for row in rows]

        return Scores(event_ids, total / count, each[0].ranker, explain)

    return score


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
