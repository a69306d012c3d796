"""The pieces every ranker shares, on plain data: the diversity step, the content features and the reasons."""

from datetime import UTC, datetime

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from apps.core.geo import LatLon
from apps.recommendations import diversity, reasons
from apps.recommendations.context import Candidates, HistoryItem, Person
from apps.recommendations.features import content_features
from apps.recommendations.rankers.content import ContentRanker

SATURDAY_15H = datetime(2026, 6, 20, 13, 0, tzinfo=UTC).timestamp()  # 15:00 in Berlin
NOW = datetime(2026, 6, 17, 10, 0, tzinfo=UTC)


def candidates(categories: list[str], **columns: object) -> Candidates:
    count = len(categories)
    values: dict[str, object] = {
        "event_ids": np.arange(1, count + 1, dtype=np.int64),
        "categories": categories,
        "venue_ids": [None] * count,
        "tags": [()] * count,
        "start": np.full(count, SATURDAY_15H),
        "end": np.full(count, SATURDAY_15H + 7200),
        "local_weekday": np.full(count, 5),
        "local_hour": np.full(count, 15),
        "all_day": np.zeros(count, dtype=bool),
        "distance_km": np.full(count, 2.0),
        "price_min": np.full(count, 10.0),
        "is_free": np.zeros(count, dtype=bool),
        "created": np.full(count, NOW.timestamp()),
        "popularity": np.zeros(count),
    }
    values.update(columns)
    return Candidates(**values)  # type: ignore[arg-type]


def test_diversity_keeps_one_category_from_filling_the_list() -> None:
    listed = candidates(["music"] * 10 + ["film", "markets", "outdoors"])
    scores = np.linspace(1.0, 0.5, 13)  # every concert outscores every other event
    rows = diversity.diversify(listed, scores, limit=5)
    assert len({listed.categories[row] for row in rows}) >= 3
    assert rows[0] == 0  # the best event still leads


@given(st.lists(st.sampled_from(["music", "film", "markets"]), min_size=0, max_size=40), st.integers(1, 30))
def test_diversity_returns_distinct_candidates_up_to_the_limit(categories: list[str], limit: int) -> None:
    listed = candidates(categories)
    scores = np.random.default_rng(7).random(len(categories))
    rows = diversity.diversify(listed, scores, limit=limit)
    assert len(rows) == min(limit, len(categories))
    assert len(set(rows.tolist())) == len(rows)


def test_content_ranks_interests_nearness_and_budget() -> None:
    someone = Person(user_id=1, home=LatLon(52.52, 13.405), interests=frozenset({"film"}), budget=20.0)
    listed = candidates(
        ["film", "film", "film", "music"],
        distance_km=np.array([1.0, 9.0, 1.0, 1.0]),
        price_min=np.array([5.0, 5.0, 60.0, 5.0]),
    )
    ranking = ContentRanker().rank(someone, listed, now=NOW)
    assert ranking.scores[0] > ranking.scores[1] > ranking.scores[3]  # nearer beats farther; interest beats neither
    assert ranking.scores[0] > ranking.scores[2]  # within budget beats over it


def test_reasons_are_true_to_the_features() -> None:
    music = HistoryItem(9, "save", NOW, "music", None, ("category:music", "tag:jazz"))
    someone = Person(
        user_id=1,
        home=LatLon(52.52, 13.405),
        budget=20.0,
        history=(music,),
        busy=((SATURDAY_15H + 86400, SATURDAY_15H + 90000),),
    )
    listed = candidates(
        ["music", "film"],
        tags=[("Jazz",), ()],
        distance_km=np.array([1.234, 0.4]),
        price_min=np.array([12.0, np.nan]),
        is_free=np.array([False, True]),
    )
    said = reasons.explain(someone, listed, content_features(someone, listed, now=NOW.timestamp()))
    assert said[0] == ["you like jazz", "1.2 km away", "within your budget", "fits Saturday afternoon"]
    assert said[1] == ["400 m away", "free", "fits Saturday afternoon"]


def test_a_busy_afternoon_is_never_said_to_fit() -> None:
    someone = Person(user_id=1, home=LatLon(52.52, 13.405), busy=((SATURDAY_15H - 600, SATURDAY_15H + 600),))
    listed = candidates(["music"])
    features = content_features(someone, listed, now=NOW.timestamp())
    assert features.free_time[0] == 0.0
    assert not any(reason.startswith("fits") for reason in reasons.explain(someone, listed, features)[0])
