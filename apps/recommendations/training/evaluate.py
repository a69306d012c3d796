"""The hold-out evaluation the quality gate reads.

For every person with a click, save or plan in the hold-out (at most MAX_PEOPLE, a seeded sample), a list is
ranked as of the split: the person as of then (history, profile, feedback before the split), and as candidates
every event they went for in the hold-out plus up to NEGATIVES others that somebody interacted with in the
hold-out (impressions included: what lists showed) and they did not click, save or plan, sampled with the seed.
Relevance is the best grade per event (click 1, save 2, plan 3). Sampled candidates keep the evaluation to seconds
at any size; the metrics are then comparable between models on the same hold-out and seed (the gate's use), not
with a full-catalogue figure.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from apps.recommendations import metrics
from apps.recommendations.context import Candidates, Person
from apps.recommendations.rankers.learned import ScoringModel
from apps.recommendations.training.dataset import Data
from apps.recommendations.training.rows import Popularity

K = 10
MAX_PEOPLE = 1000
NEGATIVES = 100


@dataclass(frozen=True)
class Case:
    person: Person
    candidates: Candidates
    relevant: dict[int, float]


def cases(data: Data, *, split: float, seed: int) -> list[Case]:
    rng = np.random.default_rng(seed)
    after = np.flatnonzero(data.at >= split)
    before = np.flatnonzero(data.at < split)
    pool = np.unique(data.event[after])
    popularity = Popularity(data, before[data.grade[before] > 0])
    relevant: dict[int, dict[int, float]] = {}
    for row in after[data.grade[after] > 0]:
        user, event = int(data.user[row]), int(data.event[row])
        grades = relevant.setdefault(user, {})
        grades[event] = max(grades.get(event, 0.0), float(data.grade[row]))
    people = sorted(relevant)
    if len(people) > MAX_PEOPLE:
        people = sorted(int(user) for user in rng.choice(people, size=MAX_PEOPLE, replace=False))
    found = []
    for user in people:
        others = np.setdiff1d(pool, np.fromiter(relevant[user], dtype=np.int64))
        if len(others) > NEGATIVES:
            others = rng.choice(others, size=NEGATIVES, replace=False)
        # Shuffled, so that ties (a model scoring many candidates alike) do not put the relevant ones first.
        rows = rng.permutation(np.r_[np.fromiter(relevant[user], dtype=np.int64), others].astype(np.int64))
        person = data.person_as_of(user, split)
        candidates = data.events.columns(person.timezone).take(rows)
        candidates.distance_km = data.events.distances(person.home, rows)
        candidates.popularity = popularity.at(rows, np.full(len(rows), split))
        found.append(
            Case(
                person=person,
                candidates=candidates,
                relevant={int(data.events.ids[row]): grade for row, grade in relevant[user].items()},
            )
        )
    return found


def evaluate(cases: list[Case], scorer: Callable[[Person, Candidates], NDArray[np.float64]]) -> dict[str, float]:
    """Mean metrics@K over the cases, and how many people they are."""
    totals: dict[str, float] = {}
    for case in cases:
        scores = scorer(case.person, case.candidates)
        ranked = case.candidates.event_ids[np.argsort(-scores, kind="stable")]
        for name, value in metrics.list_metrics([int(i) for i in ranked], case.relevant, k=K).items():
            totals[name] = totals.get(name, 0.0) + value
    count = len(cases)
    result = {name: round(value / count, 6) for name, value in totals.items()} if count else {}
    result["people"] = float(count)
    return result


def model_scorer(model: ScoringModel, *, split: float) -> Callable[[Person, Candidates], NDArray[np.float64]]:
    moment = datetime.fromtimestamp(split, tz=UTC)

    def scorer(person: Person, candidates: Candidates) -> NDArray[np.float64]:
        return model.score(person, candidates, now=moment)[0]

    return scorer


def random_scorer(*, seed: int) -> Callable[[Person, Candidates], NDArray[np.float64]]:
    rng = np.random.default_rng(seed)

    def scorer(person: Person, candidates: Candidates) -> NDArray[np.float64]:
        return rng.random(len(candidates))

    return scorer
