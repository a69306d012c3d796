"""Rankers by name, so that experiments, staff and the evaluation can pick one. Each module in this package
registers its ranker on import (apps.recommendations.rankers imports them all)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from apps.recommendations import reasons
from apps.recommendations.context import Candidates, Person
from apps.recommendations.features import ContentFeatures


@dataclass(frozen=True)
class Ranking:
    """A ranker's answer: one score per candidate (higher is better), and what its reasons are made from, so that
    only the listed few are explained."""

    scores: NDArray[np.float64]
    ranker: str
    features: ContentFeatures
    similar_people: NDArray[np.bool_] | None = None  # events that people with the person's tastes went for
    model_version: str | None = None

    def reasons(self, person: Person, candidates: Candidates, rows: NDArray[np.int64]) -> list[list[str]]:
        similar = None if self.similar_people is None else self.similar_people[rows]
        return reasons.explain(person, candidates.take(rows), self.features.take(rows), similar_people=similar)


class Ranker(Protocol):
    name: str

    def rank(self, person: Person, candidates: Candidates, *, now: datetime) -> Ranking:
        """One score per candidate (higher first) with its reasons; the diversity step reorders afterwards."""
        ...


_RANKERS: dict[str, Ranker] = {}


def register(ranker: Ranker) -> Ranker:
    if ranker.name in _RANKERS:
        raise ValueError(f"A ranker named {ranker.name!r} is already registered.")
    _RANKERS[ranker.name] = ranker
    return ranker


def get(name: str) -> Ranker:
    """The ranker of that name; KeyError when there is none."""
    return _RANKERS[name]


def names() -> list[str]:
    return sorted(_RANKERS)
