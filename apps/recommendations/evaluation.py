"""Offline evaluation of every ranker on the tracked interactions (docs/recommendations.md, "Offline evaluation"),
as `manage.py evaluate_recommendations`, the tests and bench/recommendations_quality.py run it.

A time-based split: the newest `holdout_days` of clicks, saves and plans are the hold-out (training.run.split_time,
as the training's own hold-out), everything before is what the rankers may know. For each person with a positive
in the hold-out, a list is ranked as serving would have ranked it when they came back:

- the person as of the split (profile, history and feedback before it; no calendar, whose past is not kept), ranked
  at `now` = their first tracked event in the hold-out (an impression when a list was served);
- the candidates: every canonical, not-cancelled event starting between that moment and the last start of an event
  anyone went for in the hold-out, within the person's distance of their home, minus what they went for before
  the split. Popularity counts everyone's positives before that moment, as serving would have;
- each ranker's scores, then the diversity step (apps.recommendations.diversity) to a top K;
- relevance: the person's best grade per hold-out event among the candidates (click 1, save 2, plan 3); a person
  whose hold-out events are none of their candidates (too far, started already) is left out.

Every registered ranker is evaluated, `learned` with a model trained here on the train side alone (training.run.fit,
never the promoted model, which may have seen the hold-out), and a `random` baseline (the mean of RANDOM_DRAWS
seeded shuffles). Per ranker: the mean
nDCG, precision, recall and MAP at K (apps.recommendations.metrics), the catalogue coverage (distinct events in any
top K over distinct candidate events) and the share of lists with at least 3 categories.
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import structlog
from numpy.typing import NDArray

from apps.analytics import selectors as analytics_selectors
from apps.events import selectors as event_selectors
from apps.events.models import Event
from apps.recommendations import diversity, metrics, rankers, selectors
from apps.recommendations.context import INTERACTION_WEIGHTS, POSITIVE_TYPES, Candidates, Person
from apps.recommendations.rankers import learned
from apps.recommendations.rankers.registry import Ranker

if TYPE_CHECKING:  # training is imported on call: its libraries load only when an evaluation runs
    from apps.recommendations.training.dataset import Data

logger = structlog.get_logger(__name__)

K = 10
RANDOM = "random"
RANDOM_DRAWS = 10  # the random baseline is the mean of this many seeded shuffles: chance, not one lucky draw
MIN_CATEGORIES = 3
DAY = 86400.0
WEIGHTS = np.array([0.0, *INTERACTION_WEIGHTS.values()])  # by grade: click 1, save 2, plan 3


@dataclass(frozen=True)
class Case:
    person: Person
    now: datetime
    candidates: Candidates
    relevant: dict[int, float]


@dataclass
class Evaluation:
    split: datetime | None
    people: int
    rankers: dict[str, dict[str, float]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # ranker: why it was not evaluated
    candidates: int = 0  # distinct candidate events over all lists

    def as_json(self) -> dict[str, Any]:
        return {
            "rankers": {
                name: {metric: round(value, 4) for metric, value in figures.items()}
                for name, figures in self.rankers.items()
            },
            "people": self.people,
            "split": self.split.isoformat() if self.split else None,
        }


def list_quality(
    candidates: Candidates, scores: NDArray[np.float64], relevant: dict[int, float], *, k: int = K
) -> tuple[list[int], dict[str, float], int]:
    """The top k after the diversity step, its metrics, and how many categories it holds."""
    rows = diversity.diversify(candidates, scores, limit=k)
    ranked = [int(candidates.event_ids[row]) for row in rows]
    categories = len({candidates.categories[row] for row in rows})
    return ranked, metrics.list_metrics(ranked, relevant, k=k), categories


def score_lists(cases: list[Case], scorer: Any, *, k: int = K) -> dict[str, float]:
    """Mean metrics over the cases for one scorer (person, candidates, now -> scores), with coverage and the share
    of lists holding MIN_CATEGORIES categories or more."""
    totals: dict[str, float] = defaultdict(float)
    listed: set[int] = set()
    offered: set[int] = set()
    varied = 0
    for case in cases:
        scores = np.asarray(scorer(case.person, case.candidates, case.now), dtype=np.float64)
        ranked, measured, categories = list_quality(case.candidates, scores, case.relevant, k=k)
        for name, value in measured.items():
            totals[name] += value
        listed.update(ranked)
        offered.update(int(pk) for pk in case.candidates.event_ids)
        varied += categories >= MIN_CATEGORIES
    count = len(cases)
    if not count:
        return {}
    found = {name: value / count for name, value in totals.items()}
    found["coverage"] = len(listed) / len(offered) if offered else 0.0
    found["lists_with_3_categories"] = varied / count
    return found


def ranker_scorer(ranker: Ranker) -> Any:
    def scorer(person: Person, candidates: Candidates, now: datetime) -> NDArray[np.float64]:
        return ranker.rank(person, candidates, now=now).scores

    return scorer


def random_scorer(*, seed: int) -> Any:
    rng = np.random.default_rng(seed)

    def scorer(person: Person, candidates: Candidates, now: datetime) -> NDArray[np.float64]:
        return rng.random(len(candidates))

    return scorer


class _Crowd:
    """selectors.compute_popularity at any moment, for the window's events, from the positives in memory: each
    weighted like a history and halving every POPULARITY_HALF_LIFE_DAYS, over the POPULARITY_DAYS before."""

    def __init__(self, data: "Data", window_ids: NDArray[np.int64]) -> None:
        positive = np.flatnonzero(data.grade > 0)
        ids = data.events.ids[data.event[positive]]
        order = np.argsort(window_ids)
        found = np.searchsorted(window_ids[order], ids).clip(0, max(len(window_ids) - 1, 0))
        known = (window_ids[order][found] == ids) if len(window_ids) else np.zeros(len(ids), dtype=bool)
        self.where = order[found[known]]
        self.at = data.at[positive][known]
        self.weight = WEIGHTS[data.grade[positive][known]]
        self.size = len(window_ids)

    def at_moment(self, moment: float) -> NDArray[np.float64]:
        counted = (self.at < moment) & (self.at >= moment - selectors.POPULARITY_DAYS * DAY)
        decay = 0.5 ** ((moment - self.at[counted]) / (selectors.POPULARITY_HALF_LIFE_DAYS * DAY))
        totals = np.bincount(self.where[counted], weights=self.weight[counted] * decay, minlength=self.size)
        return np.asarray(totals, dtype=np.float64)


def window_table(*, split: float, last_start: float) -> Any:
    """The canonical, not-cancelled events starting in [split, last_start], as training's EventTable."""
    from apps.recommendations.training import dataset

    start = datetime.fromtimestamp(split, tz=UTC)
    end = datetime.fromtimestamp(last_start, tz=UTC) + timedelta(seconds=1)
    ids = list(event_selectors.upcoming_rows(start=start, end=end).values_list("id", flat=True))
    return dataset.EventTable(list(Event.objects.filter(pk__in=ids).values_list(*dataset.EVENT_FIELDS)))


def cases_from(data: "Data", *, split: float) -> list[Case]:
    """The lists to rank (see the module's docstring) from training's dataset (training.dataset.Data)."""
    after = np.flatnonzero(data.at >= split)
    positive_after = after[data.grade[after] > 0]
    if not len(positive_after):
        return []
    starts = data.events.columns("UTC").start
    table = window_table(split=split, last_start=float(starts[data.event[positive_after]].max()))
    window_start = table.columns("UTC").start
    crowd = _Crowd(data, table.ids)
    came_back: dict[int, float] = {}
    relevant: dict[int, dict[int, float]] = defaultdict(dict)
    for row in after:  # oldest first
        user, event_id = int(data.user[row]), int(data.events.ids[data.event[row]])
        came_back.setdefault(user, float(data.at[row]))
        if data.grade[row] > 0:
            relevant[user][event_id] = max(relevant[user].get(event_id, 0.0), float(data.grade[row]))
    found = []
    for user in sorted(relevant):
        person = data.person_as_of(user, split)
        moment = came_back[user]
        before = (data.user == user) & (data.at < split) & (data.grade > 0)
        rows = np.flatnonzero(window_start >= moment)
        rows = rows[~np.isin(table.ids[rows], data.events.ids[data.event[before]])]
        distance = table.distances(person.home, rows)
        if person.home is not None:
            keep = distance <= person.max_distance_km
            rows, distance = rows[keep], distance[keep]
        listed = {int(pk) for pk in table.ids[rows]}
        grades = {pk: grade for pk, grade in relevant[user].items() if pk in listed}
        if not grades:
            continue
        candidates = table.columns(person.timezone).take(rows)
        candidates.distance_km = distance
        candidates.popularity = crowd.at_moment(moment)[rows]
        found.append(Case(person, datetime.fromtimestamp(moment, tz=UTC), candidates, grades))
    return found


def load(*, holdout_days: float) -> tuple["Data | None", float | None]:
    """Training's dataset of the tracked interactions (training's window, up to the newest positive: what a
    training run then would have loaded) and the split."""
    from apps.recommendations.training import dataset, run

    newest = analytics_selectors.event_interactions(types=POSITIVE_TYPES, limit=1)
    if not newest:
        return None, None
    data = dataset.load(until=newest[0].at + timedelta(seconds=1))
    if not (data.grade > 0).any():
        return data, None
    return data, run.split_time(data, holdout_days=holdout_days)


def learned_model(data: "Data", *, split: float, seed: int) -> learned.ScoringModel:
    """The learned model trained on the interactions before the split alone."""
    from apps.recommendations.training import run

    moment = datetime.fromtimestamp(split, tz=UTC)
    return run.fit(data, until=split, seed=seed, version=f"evaluation-{seed}", now=moment)


def evaluate(*, holdout_days: float = 7, seed: int = 0, k: int = K, train_learned: bool = True) -> Evaluation:
    """Every registered ranker and the random baseline on the newest `holdout_days` (see the module's docstring)."""
    data, split = load(holdout_days=holdout_days)
    if data is None or split is None:
        return Evaluation(split=None, people=0, skipped={"*": "no click, save or plan has been tracked"})
    cases = cases_from(data, split=split)
    result = Evaluation(
        split=datetime.fromtimestamp(split, tz=UTC),
        people=len(cases),
        candidates=len({int(pk) for case in cases for pk in case.candidates.event_ids}),
    )
    if not cases:
        result.skipped["*"] = "nobody with a click, save or plan in the hold-out had it among their candidates"
        return result
    for name in rankers.names():
        ranker: Ranker = rankers.get(name)
        if name == learned.NAME:
            if not train_learned:
                result.skipped[name] = "not trained (train_learned is off)"
                continue
            if not (data.grade[data.at < split] > 0).any():  # split_time makes sure there is, unless it cannot
                result.skipped[name] = "nothing before the split to train on"
                continue
            try:
                ranker = learned.LearnedRanker(model=learned_model(data, split=split, seed=seed))
            except ImportError as error:  # the training libraries are not installed here
                result.skipped[name] = f"cannot train here ({error})"
                continue
        result.rankers[name] = score_lists(cases, ranker_scorer(ranker), k=k)
    draws = [score_lists(cases, random_scorer(seed=seed + draw), k=k) for draw in range(RANDOM_DRAWS)]
    result.rankers[RANDOM] = {name: float(np.mean([found[name] for found in draws])) for name in draws[0]}
    logger.info("recommendations_evaluated", split=result.split, people=result.people, rankers=sorted(result.rankers))
    return result


def table(evaluation: Evaluation, *, k: int = K) -> list[str]:
    """The figures as an aligned text table, best nDCG first."""
    names = (f"ndcg@{k}", f"precision@{k}", f"recall@{k}", f"map@{k}", "coverage", "lists_with_3_categories")
    lines = [f"{'ranker':<12}" + "".join(f"{name:>26}" if len(name) > 14 else f"{name:>14}" for name in names)]
    ordered = sorted(evaluation.rankers.items(), key=lambda item: -item[1].get(f"ndcg@{k}", math.nan))
    for ranker, found in ordered:
        cells = "".join(
            f"{found.get(name, math.nan):>26.4f}" if len(name) > 14 else f"{found.get(name, math.nan):>14.4f}"
            for name in names
        )
        lines.append(f"{ranker:<12}{cells}")
    return lines
