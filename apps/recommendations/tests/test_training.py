"""Training: the dataset as of the past, the model, the hold-out evaluation, the quality gate and the task."""

import io
import json
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.core.cache import cache
from django.core.files.storage import storages
from django.core.management import call_command

from apps.recommendations import artefacts, metrics, tasks
from apps.recommendations.features import token_weights
from apps.recommendations.models import ModelStatus, ModelVersion
from apps.recommendations.tests.factories import event
from apps.recommendations.tests.factories_training import NOW, Interaction, people, population, tiny_model, write
from apps.recommendations.training import collaborative, dataset, gate, rows, run, train
from apps.recommendations.training.model import FEATURES, LearnedModel, feature_matrix

pytestmark = pytest.mark.django_db


# --- Metrics ------------------------------------------------------------------------------------------------


def test_metrics_on_a_hand_computed_list():
    relevant = {1: 3.0, 4: 1.0}
    ranked = [1, 2, 3, 4]
    ideal = 3 + 1 / np.log2(3)
    assert metrics.ndcg_at_k(ranked, relevant, 10) == pytest.approx((3 + 1 / np.log2(5)) / ideal)
    assert metrics.ndcg_at_k([1, 4], relevant, 10) == pytest.approx(1.0)
    assert metrics.precision_at_k(ranked, relevant, 2) == 0.5
    assert metrics.recall_at_k(ranked, relevant, 2) == 0.5
    assert metrics.average_precision_at_k(ranked, relevant, 10) == pytest.approx((1 / 1 + 2 / 4) / 2)
    assert metrics.ndcg_at_k(ranked, {}, 10) == 0.0


# --- The gate ------------------------------------------------------------------------------------------------


def test_the_gate_passes_with_nothing_serving_or_at_least_as_good_and_refuses_worse():
    assert gate.passes({"ndcg@10": 0.1}, None)
    assert gate.passes({"ndcg@10": 0.1}, {})
    assert gate.passes({"ndcg@10": 0.5}, {"ndcg@10": 0.5})
    assert not gate.passes({"ndcg@10": 0.49}, {"ndcg@10": 0.5})
    assert not gate.passes({"people": 0.0}, {"ndcg@10": 0.5})


def _outcome(version: str, ndcg: float, baseline: dict[str, float], baseline_version: str | None) -> gate.Outcome:
    return gate.Outcome(
        version=version,
        artefact=version,
        metrics={"ndcg@10": ndcg},
        baseline_metrics=baseline,
        baseline_version=baseline_version,
        trained_until=NOW,
        interactions=10,
        people=2,
        seconds=1.0,
    )


def test_recording_promotes_the_first_then_refuses_a_worse_one_and_keeps_one_current():
    first = gate.record(_outcome("v1", 0.4, {}, None))
    assert first.status == ModelStatus.PROMOTED
    assert first.is_current
    assert first.promoted_at is not None
    worse = gate.record(_outcome("v2", 0.3, {"ndcg@10": 0.4}, "v1"))
    assert worse.status == ModelStatus.REFUSED
    assert not worse.is_current
    assert "0.3000 < 0.4000" in worse.note
    better = gate.record(_outcome("v3", 0.5, {"ndcg@10": 0.4}, "v1"))
    assert better.is_current
    assert list(ModelVersion.objects.filter(is_current=True).values_list("version", flat=True)) == ["v3"]
    # Compared against v1, but v3 serves now: not a fair comparison any more.
    late = gate.record(_outcome("v4", 0.9, {"ndcg@10": 0.4}, "v1"))
    assert late.status == ModelStatus.REFUSED
    assert "v3 was promoted during training" in late.note


# --- Training end to end ---------------------------------------------------------------------------------------


def test_training_learns_tastes_beats_random_and_the_first_model_is_promoted():
    population(people_count=24, days=21)
    row = train(now=NOW, holdout_days=7, seed=0)
    assert row.status == ModelStatus.PROMOTED
    assert row.is_current
    assert row.baseline_metrics == {}
    assert row.interactions > 0
    assert row.people == 24
    assert row.trained_until is not None
    assert row.trained_until < NOW - timedelta(days=6)
    assert row.metrics["people"] == 24
    assert row.metrics["ndcg@10"] > row.metrics["random_ndcg@10"] + 0.2, row.metrics
    assert set(row.metrics) >= {"ndcg@10", "precision@10", "recall@10", "map@10"}
    model = artefacts.load(row.artefact)
    assert model.booster is not None  # enough lists for LambdaRank
    assert model.meta["lists"] > 0

    # A second run on the same data and seed makes another version; the gate promotes it (as good, not worse).
    again = train(now=NOW, holdout_days=7, seed=0)
    assert again.version != row.version
    assert again.baseline_metrics["ndcg@10"] == pytest.approx(row.metrics["ndcg@10"])
    assert again.status == ModelStatus.PROMOTED
    row.refresh_from_db()
    assert not row.is_current


class _Backwards(LearnedModel):
    """The trained model, scoring in reverse: what a broken training run could produce."""

    def score(self, person: Any, candidates: Any, *, now: Any) -> Any:
        scores, similar = super().score(person, candidates, now=now)
        return -scores, similar


def test_a_worse_model_is_refused_and_the_serving_one_stays(monkeypatch):
    population(people_count=16, days=21)
    good = train(now=NOW, seed=0)
    assert good.is_current
    real_fit = run.fit

    def worse_fit(*args: Any, **kwargs: Any) -> LearnedModel:
        model = real_fit(*args, **kwargs)
        return _Backwards(version=model.version, factors=model.factors, booster=model.booster, meta=model.meta)

    monkeypatch.setattr(run, "fit", worse_fit)
    refused = train(now=NOW, seed=0)
    assert refused.status == ModelStatus.REFUSED
    assert refused.metrics["ndcg@10"] < refused.baseline_metrics["ndcg@10"]
    assert not refused.is_current
    good.refresh_from_db()
    assert good.is_current
    assert storages["models"].exists(f"{refused.artefact}/meta.json")  # kept, for a look


def test_without_positives_the_run_is_recorded_as_failed():
    write([Interaction(user_id=1, type="impression", event_id=1, at=NOW - timedelta(days=1))])
    row = train(now=NOW)
    assert row.status == ModelStatus.FAILED
    assert not row.is_current


def test_too_few_lists_fall_back_to_the_fixed_blend():
    population(people_count=2, days=10)
    row = train(now=NOW, seed=0)
    model = artefacts.load(row.artefact)
    assert model.booster is None
    assert model.meta["ranker"] == "blend"
    assert "fixed blend" in row.note


# --- As of the past -------------------------------------------------------------------------------------------


def test_training_rows_have_the_features_serving_computes_as_of_then():
    someone, other = people(2)
    day = timedelta(days=1)
    a, b, c, d, e = (
        event(f"e{n}", start=NOW - day * (4 - n), category=category, tags=["Jazz"] if n % 2 else [])
        for n, category in enumerate(["music", "film", "music", "sports", "music"])
    )
    request_at = NOW - day
    write(
        [
            Interaction(someone.pk, "click", a.pk, NOW - 3 * day),
            Interaction(someone.pk, "save", b.pk, NOW - 2 * day),
            *(Interaction(someone.pk, "impression", x.pk, request_at, "r1", n) for n, x in enumerate([c, d, e], 1)),
            Interaction(someone.pk, "click", c.pk, request_at + timedelta(minutes=5), "r1"),
            Interaction(other.pk, "plan", a.pk, NOW - 3 * day),
            Interaction(other.pk, "click", c.pk, NOW - 2 * day),
        ]
    )
    data = dataset.load(until=NOW)
    factors = run.factors_from(data, until=NOW.timestamp(), seed=0)
    lists = rows.build(data, factors, until=NOW.timestamp(), seed=0)
    assert lists.matrix.shape == (len(lists.labels), len(FEATURES))
    # Groups go by person, then time: someone's orphan click, orphan save, then the list of request r1.
    offset = int(lists.sizes[:2].sum())
    assert lists.sizes[2] == 3
    assert sorted(lists.labels[offset : offset + 3]) == [0, 0, 1]
    learned_rows = lists.matrix[offset : offset + 3]

    # The same list through the serving path: the person as of the request, the features of model.score.
    when = request_at.timestamp()
    person = data.person_as_of(someone.pk, when)
    assert [item.event_id for item in person.history] == [a.pk, b.pk]
    positions = data.events.positions(np.array([c.pk, d.pk, e.pk], dtype=np.int64))
    candidates = data.events.columns(person.timezone).take(positions)
    candidates.distance_km = data.events.distances(person.home, positions)
    candidates.popularity = rows.Popularity(data, np.flatnonzero(data.grade > 0)).at(positions, np.full(3, when))
    vector = collaborative.fold_in(factors, token_weights(person))
    cf = collaborative.scores(factors, vector, factors.token_rows(candidates.tokens))
    assert np.abs(cf).max() > 0
    served = feature_matrix(person, candidates, now=when, cf=cf)
    assert np.allclose(
        np.nan_to_num(served[np.lexsort(served.T[::-1])]), np.nan_to_num(learned_rows[np.lexsort(learned_rows.T[::-1])])
    )


def test_popularity_as_of_any_moment_decays_like_serving():
    someone, other = people(2)
    concert = event()
    write(
        [
            Interaction(someone.pk, "plan", concert.pk, NOW - timedelta(days=3)),
            Interaction(other.pk, "click", concert.pk, NOW - timedelta(days=20)),  # out of the 14 days
        ]
    )
    data = dataset.load(until=NOW)
    index = rows.Popularity(data, np.flatnonzero(data.grade > 0))
    at = data.events.positions(np.array([concert.pk] * 3, dtype=np.int64))
    moments = np.array([NOW.timestamp(), (NOW - timedelta(days=3)).timestamp(), (NOW - timedelta(days=10)).timestamp()])
    assert index.at(at, moments) == pytest.approx([3 * 0.5, 0.0, 1 * 0.5 ** (10 / 3)])


# --- The command and the task --------------------------------------------------------------------------------


def test_the_command_prints_json(clock):
    population(people_count=8, days=14)
    clock.move_to(NOW)
    out = io.StringIO()
    call_command("train_recommendations", "--json", "--holdout-days", "5", stdout=out)
    summary = json.loads(out.getvalue())
    assert set(summary) == {"version", "status", "metrics", "baseline_metrics", "interactions", "people", "seconds"}
    assert summary["status"] == "promoted"


def test_the_task_does_not_train_while_another_training_holds_the_lock(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks, "train", lambda **kwargs: calls.append(kwargs) or tiny_row())
    cache.delete(tasks.LOCK_KEY)
    assert cache.add(tasks.LOCK_KEY, "someone-else", timeout=60)
    try:
        assert tasks.train_recommendations() is None
        assert calls == []
    finally:
        cache.delete(tasks.LOCK_KEY)
    assert tasks.train_recommendations() == "v-task"
    assert len(calls) == 1
    assert cache.get(tasks.LOCK_KEY) is None  # released


def tiny_row() -> ModelVersion:
    model = tiny_model("v-task")
    artefacts.save(model, "v-task")
    return ModelVersion(version="v-task", status=ModelStatus.PROMOTED, artefact="v-task")


def test_the_incremental_fold_in_equals_the_fold_in_of_the_whole_history():
    model = tiny_model("v-fold", tokens=("category:music", "category:film", "venue:1", "tag:jazz", "price:low"))
    fold = collaborative.IncrementalFoldIn(model.factors)
    assert not fold.vector().any()
    steps = [{"category:music": 1.0, "venue:1": 1.0}, {"category:music": 2.0, "tag:jazz": 2.0}, {"unknown:x": 3.0}]
    total: dict[str, float] = {}
    for step in steps:
        fold.add(step)
        for token, weight in step.items():
            total[token] = total.get(token, 0.0) + weight
        assert np.allclose(fold.vector(), collaborative.fold_in(model.factors, total))
