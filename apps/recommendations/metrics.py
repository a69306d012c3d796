"""Ranking quality of one list against what the person went for: pure numpy, shared by the training's hold-out
(the quality gate) and the offline evaluation.

`ranked_ids` is the list, best first; `relevant` maps each event the person went for to its grade (click 1, save 2,
plan 3). Gains are the grades themselves (linear), so a plan counts three clicks."""

from collections.abc import Sequence

import numpy as np


def _top(ranked_ids: Sequence[int], k: int) -> list[int]:
    return [int(event_id) for event_id in list(ranked_ids)[:k]]


def ndcg_at_k(ranked_ids: Sequence[int], relevant: dict[int, float], k: int) -> float:
    """DCG of the top k over the DCG of the ideal order; 0 when nothing is relevant."""
    if not relevant or k <= 0:
        return 0.0
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    gains = np.array([relevant.get(event_id, 0.0) for event_id in _top(ranked_ids, k)], dtype=np.float64)
    dcg = float(gains @ discounts[: gains.size])
    ideal = np.sort(np.fromiter(relevant.values(), dtype=np.float64))[::-1][:k]
    best = float(ideal @ discounts[: ideal.size])
    return dcg / best if best > 0 else 0.0


def precision_at_k(ranked_ids: Sequence[int], relevant: dict[int, float], k: int) -> float:
    """Share of the top k that is relevant (a list shorter than k is not rewarded for it)."""
    if k <= 0:
        return 0.0
    return sum(1 for event_id in _top(ranked_ids, k) if event_id in relevant) / k


def recall_at_k(ranked_ids: Sequence[int], relevant: dict[int, float], k: int) -> float:
    """Share of the relevant events that made the top k."""
    if not relevant:
        return 0.0
    return sum(1 for event_id in _top(ranked_ids, k) if event_id in relevant) / len(relevant)


def average_precision_at_k(ranked_ids: Sequence[int], relevant: dict[int, float], k: int) -> float:
    """Mean of the precision at each relevant position of the top k, over min(k, relevant events)."""
    if not relevant or k <= 0:
        return 0.0
    hits, total = 0, 0.0
    for position, event_id in enumerate(_top(ranked_ids, k), start=1):
        if event_id in relevant:
            hits += 1
            total += hits / position
    return total / min(k, len(relevant))


def list_metrics(ranked_ids: Sequence[int], relevant: dict[int, float], *, k: int = 10) -> dict[str, float]:
    """All four at k, named as ModelVersion.metrics stores them ("ndcg@10", ...)."""
    return {
        f"ndcg@{k}": ndcg_at_k(ranked_ids, relevant, k),
        f"precision@{k}": precision_at_k(ranked_ids, relevant, k),
        f"recall@{k}": recall_at_k(ranked_ids, relevant, k),
        f"map@{k}": average_precision_at_k(ranked_ids, relevant, k),
    }
