"""Offline evaluation (apps.recommendations.evaluation): the metrics on lists small enough to compute by hand, the
list figures (coverage, categories) on plain data, and every ranker on a simulated population, where the hidden
tastes make `content` (which reads the stated interests) beat `popularity`, and both beat chance."""

import io
import json
import math
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pytest
import time_machine
from django.core.management import call_command

from apps.recommendations import evaluation, metrics, simulation
from apps.recommendations.context import Candidates, Person

CATALOGUE_DATE = date(2027, 5, 3)  # the demo catalogue's weekends of 8, 15 and 22 May 2027
SEED = 424242
NOW = datetime(2027, 5, 6, 12, 0, tzinfo=UTC)


def _log2(position: int) -> float:
    return math.log2(position + 1)


def test_ndcg_is_graded_by_plan_save_and_click() -> None:
    relevant = {1: 3.0, 2: 1.0}  # planned 1, clicked 2
    assert metrics.ndcg_at_k([1, 2, 3], relevant, 10) == pytest.approx(1.0)
    # Clicked first, planned third: (1/log2(2) + 3/log2(4)) / (3/log2(2) + 1/log2(3)).
    expected = (1 / _log2(1) + 3 / _log2(3)) / (3 / _log2(1) + 1 / _log2(2))
    assert metrics.ndcg_at_k([2, 9, 1], relevant, 10) == pytest.approx(expected)
    assert metrics.ndcg_at_k([7, 8, 9], relevant, 10) == 0.0
    assert metrics.ndcg_at_k([7, 8, 1], relevant, 2) == 0.0  # beyond k does not count
    assert metrics.ndcg_at_k([1, 2], {}, 10) == 0.0


def test_precision_recall_and_average_precision_by_hand() -> None:
    relevant = {1: 1.0, 3: 2.0, 5: 3.0, 11: 1.0}
    ranked = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert metrics.precision_at_k(ranked, relevant, 10) == pytest.approx(3 / 10)
    assert metrics.recall_at_k(ranked, relevant, 10) == pytest.approx(3 / 4)
    # Hits at 1, 3 and 5: (1/1 + 2/3 + 3/5) / min(10, 4).
    assert metrics.average_precision_at_k(ranked, relevant, 10) == pytest.approx((1 + 2 / 3 + 3 / 5) / 4)
    assert metrics.precision_at_k([1], relevant, 10) == pytest.approx(1 / 10)  # a short list is not rewarded
    assert metrics.average_precision_at_k([2, 1], {1: 1.0}, 10) == pytest.approx(1 / 2)


def _candidates(categories: list[str]) -> Candidates:
    count = len(categories)
    moment = NOW.timestamp()
    return Candidates(
        event_ids=np.arange(1, count + 1, dtype=np.int64),
        categories=categories,
        venue_ids=list(range(100, 100 + count)),
        tags=[()] * count,
        start=np.full(count, moment + 86400),
        end=np.full(count, moment + 90000),
        local_weekday=np.full(count, 5),
        local_hour=np.full(count, 15),
        all_day=np.zeros(count, dtype=bool),
        distance_km=np.full(count, 2.0),
        price_min=np.full(count, 10.0),
        is_free=np.zeros(count, dtype=bool),
        created=np.full(count, moment),
        popularity=np.zeros(count),
    )


def test_coverage_and_category_share_over_lists() -> None:
    person = Person(user_id=1, home=None)
    one = evaluation.Case(person, NOW, _candidates(["music"] * 12), {1: 3.0})
    two = evaluation.Case(person, NOW, _candidates(["music", "film", "sports", *["music"] * 9]), {2: 1.0})

    def by_id(person: Person, candidates: Candidates, now: datetime) -> Any:
        return -candidates.event_ids.astype(np.float64)  # event 1 first

    found = evaluation.score_lists([one, two], by_id, k=10)
    # Both lists are events 1..10 of 1..12 (the diversity step cannot vary a one-category list): 10 of 12 listed.
    assert found["coverage"] == pytest.approx(10 / 12)
    assert found["lists_with_3_categories"] == pytest.approx(1 / 2)
    # The second list: the diversity step puts film and sports (events 2 and 3) right after event 1.
    second, _, categories = evaluation.list_quality(two.candidates, by_id(person, two.candidates, NOW), {2: 1.0})
    assert second[:3] == [1, 2, 3]
    assert categories == 3
    assert found["ndcg@10"] == pytest.approx((1.0 + 1 / _log2(2)) / 2)
    assert found["precision@10"] == pytest.approx(0.1)
    assert evaluation.score_lists([], by_id) == {}


@pytest.fixture
def catalogue(db: None, clock: time_machine.Traveller) -> None:
    # Seeded, and its people simulated, on the catalogue's Monday morning whatever TEST_NOW is: the sessions of the
    # weekends after it lie ahead of the clock, and the holdout split falls among them.
    clock.move_to(datetime(2027, 5, 3, 7, 0, tzinfo=UTC))
    call_command("seed_demo", date=CATALOGUE_DATE, stdout=io.StringIO())


@pytest.fixture
def population(catalogue: None) -> simulation.SimulationResult:
    return simulation.simulate(people=40, seed=SEED, weekends=2)


def test_on_a_simulated_population_content_beats_popularity_and_both_beat_chance(
    population: simulation.SimulationResult,
) -> None:
    found = evaluation.evaluate(holdout_days=7, seed=0, train_learned=False)

    assert found.split is not None
    assert date(2027, 5, 7) <= found.split.date() < date(2027, 5, 12)  # after the first weekend's sessions
    assert 25 <= found.people <= 40
    assert "learned" in found.skipped
    ndcg = {name: figures["ndcg@10"] for name, figures in found.rankers.items()}
    assert set(ndcg) == {"content", "popularity", "random"}
    assert ndcg["content"] > ndcg["popularity"] > ndcg["random"]
    for figures in found.rankers.values():
        assert 0.0 <= figures["coverage"] <= 1.0
        assert 0.0 <= figures["lists_with_3_categories"] <= 1.0


def test_learned_trained_on_the_train_side_doubles_popularity(catalogue: None) -> None:
    # As bench/recommendations_quality.py does, at its size: a model needs a few hundred people's weeks to learn
    # from (with 40 people it has too few lists and falls back to its fixed blend).
    simulation.simulate(people=300, seed=SEED, weekends=3)
    found = evaluation.evaluate(holdout_days=7, seed=0)

    ndcg = {name: figures["ndcg@10"] for name, figures in found.rankers.items()}
    assert ndcg["learned"] >= 2 * ndcg["popularity"], ndcg
    assert ndcg["learned"] > ndcg["random"]


def test_the_command_prints_the_figures_as_json_last(catalogue: None) -> None:
    simulation.simulate(people=20, seed=SEED, weekends=2)
    out = io.StringIO()
    call_command("evaluate_recommendations", "--json", "--holdout-days", "7", "--seed", "1", stdout=out)
    lines = out.getvalue().strip().splitlines()
    body = json.loads(lines[-1])

    assert set(body) == {"rankers", "people", "split"}
    assert body["people"] > 0
    assert datetime.fromisoformat(body["split"]).year == 2027
    assert {"content", "popularity", "random", "learned"} <= set(body["rankers"])
    for figures in body["rankers"].values():
        assert set(figures) == {
            "ndcg@10", "precision@10", "recall@10", "map@10", "coverage", "lists_with_3_categories",
        }  # fmt: skip
        assert all(isinstance(value, float) for value in figures.values())


@pytest.mark.django_db
def test_with_nothing_tracked_nothing_is_evaluated() -> None:
    found = evaluation.evaluate()
    assert found.people == 0
    assert found.split is None
    assert found.rankers == {}
