"""One training run, start to finish: load, split by time, fit, evaluate against the serving model, gate, save.

What serves is exactly what was evaluated: the model trained on the interactions before the split. Retraining on
everything after the gate would serve an artefact nobody measured, and the next run's comparison would favour
it (it would have seen most of that run's hold-out). The price is that the token factors and the ranking model
lag the newest `holdout_days`; a person's own newest interactions still count at once, since serving folds each
person in from their current history.
"""

import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import numpy as np
import structlog

from apps.recommendations import artefacts, selectors
from apps.recommendations.models import ModelVersion
from apps.recommendations.training import collaborative, dataset, evaluate, gate, ltr, rows
from apps.recommendations.training.collaborative import Factors
from apps.recommendations.training.dataset import Data
from apps.recommendations.training.model import LearnedModel

logger = structlog.get_logger(__name__)

DAY = 86400.0
FALLBACK_QUANTILE = 80  # the split when the newest holdout_days hold every interaction


def train(*, now: datetime, holdout_days: float = 7, seed: int = 0) -> ModelVersion:
    """Trains on every tracked interaction before `now`, evaluates on the newest `holdout_days` against the serving
    model and records the run (promoted, refused, or failed with its error). Safe to run twice: each run is a new
    version and the gate decides."""
    began = time.perf_counter()
    version = f"{now.astimezone(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"
    counts = {"interactions": 0, "people": 0}
    try:
        data = dataset.load(until=now)
        if not (data.grade > 0).any():
            return gate.record_failure(
                version=version, note="No click, save or plan to learn from.", seconds=time.perf_counter() - began
            )
        split = split_time(data, holdout_days=holdout_days)
        before = data.at < split
        counts = {"interactions": int(before.sum()), "people": int(np.unique(data.user[before]).size)}
        model = fit(data, until=split, seed=seed, version=version, now=now)
        outcome = _evaluated(data, model, split=split, seed=seed, began=began, counts=counts)
        artefacts.save(model, version)
        row = gate.record(outcome)
    except Exception as error:
        logger.exception("recommendation_training_failed", version=version)
        gate.record_failure(
            version=version, note=f"{type(error).__name__}: {error}", seconds=time.perf_counter() - began, **counts
        )
        raise
    logger.info(
        "recommendation_model_trained",
        version=row.version,
        status=row.status,
        ndcg=row.metrics.get(gate.METRIC),
        baseline_ndcg=row.baseline_metrics.get(gate.METRIC),
        seconds=row.seconds,
    )
    return row


def split_time(data: Data, *, holdout_days: float) -> float:
    """The newest interaction's time minus `holdout_days`; the 80th percentile of the times when that leaves no
    click, save or plan to train on."""
    split = float(data.at.max()) - holdout_days * DAY
    if not (data.grade[data.at < split] > 0).any():
        split = float(np.percentile(data.at, FALLBACK_QUANTILE))
    return split


def factors_from(data: Data, *, until: float, seed: int) -> Factors:
    """ALS over people × tokens: each positive's weight (click 1, save 2, plan 3) on every token of its event."""
    cells: dict[tuple[int, str], float] = defaultdict(float)
    for row in np.flatnonzero((data.at < until) & (data.grade > 0)):
        user = int(data.user[row])
        weight = float(rows.WEIGHTS[data.grade[row]])
        for token in data.tokens(user, int(row)):
            cells[(user, token)] += weight
    people = {user: position for position, user in enumerate(sorted({user for user, _ in cells}))}
    vocabulary = sorted({token for _, token in cells})
    tokens = {token: position for position, token in enumerate(vocabulary)}
    return collaborative.fit(
        people=np.fromiter((people[user] for user, _ in cells), dtype=np.int64, count=len(cells)),
        tokens=np.fromiter((tokens[token] for _, token in cells), dtype=np.int64, count=len(cells)),
        weights=np.fromiter(cells.values(), dtype=np.float64, count=len(cells)),
        vocabulary=vocabulary,
        seed=seed,
    )


def fit(data: Data, *, until: float, seed: int, version: str, now: datetime) -> LearnedModel:
    """Token factors, then LambdaRank over the lists before `until` (the fixed blend when they are too few)."""
    started = time.perf_counter()
    factors = factors_from(data, until=until, seed=seed)
    factors_s = time.perf_counter() - started
    lists = rows.build(data, factors, until=until, seed=seed)
    rows_s = time.perf_counter() - started - factors_s
    booster = ltr.fit(lists, seed=seed) if ltr.enough(lists) else None
    meta: dict[str, Any] = {
        "created_at": now.isoformat(),
        "trained_until": datetime.fromtimestamp(until, tz=UTC).isoformat(),
        "seed": seed,
        "tokens": int(factors.vocabulary.size),
        "lists": lists.groups,
        "rows": len(lists.labels),
        "positives": int((lists.labels > 0).sum()),
        "seconds": {
            "factors": round(factors_s, 2),
            "rows": round(rows_s, 2),
            "ranker": round(time.perf_counter() - started - factors_s - rows_s, 2),
        },
    }
    return LearnedModel(version=version, factors=factors, booster=booster, meta=meta)


def _evaluated(
    data: Data, model: LearnedModel, *, split: float, seed: int, began: float, counts: dict[str, int]
) -> gate.Outcome:
    started = time.perf_counter()
    cases = evaluate.cases(data, split=split, seed=seed)
    measured = evaluate.evaluate(cases, evaluate.model_scorer(model, split=split))
    measured["random_ndcg@10"] = evaluate.evaluate(cases, evaluate.random_scorer(seed=seed)).get(gate.METRIC, 0.0)
    baseline: dict[str, float] = {}
    current = selectors.current_model_version()
    notes = [
        f"Trained on the {counts['interactions']} interactions before {_iso(split)} "
        f"({'LambdaRank' if model.booster is not None else 'fixed blend: too few lists to learn a ranking'}); "
        f"evaluated on the {len(cases)} people with a positive after it."
    ]
    if current is not None:
        try:
            serving = artefacts.load(current.artefact or current.version)
        except artefacts.ArtefactError as error:
            notes.append(f"The serving model {current.version} could not be loaded ({error}): compared with nothing.")
        else:
            baseline = evaluate.evaluate(cases, evaluate.model_scorer(serving, split=split))
    model.meta["seconds"]["evaluation"] = round(time.perf_counter() - started, 2)
    return gate.Outcome(
        version=model.version,
        artefact=model.version,
        metrics=measured,
        baseline_metrics=baseline,
        baseline_version=current.version if current is not None else None,
        trained_until=datetime.fromtimestamp(split, tz=UTC),
        interactions=counts["interactions"],
        people=counts["people"],
        seconds=time.perf_counter() - began,
        note=" ".join(notes),
    )


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=UTC).isoformat(timespec="minutes")
