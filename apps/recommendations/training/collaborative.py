"""Collaborative filtering over tokens (category:, venue:, tag:, price:, daypart:), not events: events live days,
so what people share is learned about what events are made of, and a new event scores on its first day.

ALS (implicit) factorises people × tokens, each cell a confidence grown from the person's weighted interactions
with the token (click 1, save 2, plan 3). Only the token factors are kept: a person is folded in at scoring time
from their current history by the same least-squares solve ALS makes for a person,
u = (YᵀCY + λI)⁻¹ YᵀCp, so a history that changed since training counts at once and nothing per person is stored.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from apps.recommendations.context import tokens_by_id

FACTORS = 32
ITERATIONS = 15
REGULARIZATION = 0.1
ALPHA = 4.0  # confidence = 1 + ALPHA * log1p(weight): a heavy user's hundredth concert adds little
MAX_TOKENS = 8  # an event has at most 3 + venue + 3 tags = 7 tokens


def confidence(weight: NDArray[np.float64] | float) -> NDArray[np.float64]:
    return np.asarray(1.0 + ALPHA * np.log1p(weight), dtype=np.float64)


@dataclass
class Factors:
    vocabulary: NDArray[np.str_]  # token of each row of `items`
    items: NDArray[np.float64]  # tokens × FACTORS
    regularization: float

    def __post_init__(self) -> None:
        self.index = {str(token): position for position, token in enumerate(self.vocabulary)}
        self.gram = self.items.T @ self.items + self.regularization * np.eye(self.items.shape[1])

    @property
    def size(self) -> int:
        return int(self.items.shape[1])

    def rows_for(self, token_ids: NDArray[np.int64]) -> NDArray[np.int64]:
        """`token_rows` for candidates' numbered tokens (context.token_ids): one lookup, the numbering's map to rows
        of `items` kept and grown as the process numbers new tokens."""
        numbered = tokens_by_id()
        known = getattr(self, "_rows_by_id", np.zeros(0, dtype=np.int64))
        if len(known) != len(numbered) + 1:
            known = np.array([self.index.get(token, -1) for token in numbered] + [-1], dtype=np.int64)
            self._rows_by_id = known
        return known[token_ids]

    def token_rows(self, tokens: Sequence[tuple[str, ...]]) -> NDArray[np.int64]:
        """Each candidate's known tokens as rows of `items`, padded with -1 (MAX_TOKENS columns)."""
        rows = np.full((len(tokens), MAX_TOKENS), -1, dtype=np.int64)
        for position, names in enumerate(tokens):
            known = [self.index[name] for name in names if name in self.index][:MAX_TOKENS]
            rows[position, : len(known)] = known
        return rows


def fit(
    *,
    people: NDArray[np.int64],
    tokens: NDArray[np.int64],
    weights: NDArray[np.float64],
    vocabulary: list[str],
    seed: int,
) -> Factors:
    """Token factors from (person row, token row, summed weight) triples."""
    import threadpoolctl  # type: ignore[import-untyped]  # a dependency of implicit's
    from implicit.cpu.als import AlternatingLeastSquares  # heavy imports, training only
    from scipy import sparse  # type: ignore[import-untyped]

    shape = (int(people.max()) + 1 if people.size else 1, len(vocabulary))
    matrix = sparse.csr_matrix((confidence(weights).astype(np.float32), (people, tokens)), shape=shape)
    # implicit parallelises itself; BLAS threads inside its threads only contend (it warns unless limited to 1).
    with threadpoolctl.threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=FACTORS, regularization=REGULARIZATION, iterations=ITERATIONS, random_state=seed, num_threads=2
        )
        model.fit(matrix, show_progress=False)
    items = np.asarray(model.item_factors, dtype=np.float64)
    return Factors(vocabulary=np.array(vocabulary, dtype=np.str_), items=items, regularization=REGULARIZATION)


def fold_in(factors: Factors, token_weights: dict[str, float]) -> NDArray[np.float64]:
    """The person's factors from their token weights (zeros for an empty or unknown history)."""
    known = [(factors.index[token], weight) for token, weight in token_weights.items() if token in factors.index]
    if not known:
        return np.zeros(factors.size)
    rows = np.array([row for row, _ in known], dtype=np.int64)
    trust = confidence(np.array([weight for _, weight in known], dtype=np.float64))
    vectors = factors.items[rows]
    gram = factors.gram + vectors.T @ ((trust - 1.0)[:, None] * vectors)
    return np.asarray(np.linalg.solve(gram, vectors.T @ trust), dtype=np.float64)


def scores(factors: Factors, person: NDArray[np.float64], token_rows: NDArray[np.int64]) -> NDArray[np.float64]:
    """Per candidate, the mean over its known tokens of person · token (0 with no known token)."""
    return batch_scores(factors, np.broadcast_to(person, (len(token_rows), factors.size)), token_rows)


def batch_scores(
    factors: Factors, people: NDArray[np.float64], token_rows: NDArray[np.int64], *, chunk: int = 100_000
) -> NDArray[np.float64]:
    """`scores` with one person vector per candidate row (training's rows, each with its person as of then)."""
    result = np.zeros(len(token_rows))
    for start in range(0, len(token_rows), chunk):
        rows = token_rows[start : start + chunk]
        vectors = people[start : start + chunk]
        total = np.zeros(len(rows))
        for column in range(rows.shape[1]):
            present = rows[:, column] >= 0
            if not present.any():
                continue
            total[present] += np.einsum("rf,rf->r", factors.items[rows[present, column]], vectors[present])
        counts = (rows >= 0).sum(axis=1)
        result[start : start + chunk] = np.divide(total, counts, out=np.zeros(len(rows)), where=counts > 0)
    return result


class IncrementalFoldIn:
    """`fold_in` for a person whose history grows in time order: keeps the normal equations and updates them
    with each new interaction's tokens instead of rebuilding them, so training can ask "as of then" for every
    list a person saw at the cost of one small solve."""

    def __init__(self, factors: Factors) -> None:
        self.factors = factors
        self.weights: dict[int, float] = {}
        self.gram = factors.gram.copy()
        self.target = np.zeros(factors.size)
        self.empty = True

    def add(self, token_weights: dict[str, float]) -> None:
        changes = []
        for token, added in token_weights.items():
            row = self.factors.index.get(token)
            if row is None:
                continue
            old = self.weights.get(row, 0.0)
            self.weights[row] = old + added
            changes.append((row, old, old + added))
        if not changes:
            return
        rows = np.array([row for row, _, _ in changes], dtype=np.int64)
        before = np.array([confidence(old) if old > 0 else 0.0 for _, old, _ in changes], dtype=np.float64)
        after = confidence(np.array([new for _, _, new in changes], dtype=np.float64))
        vectors = self.factors.items[rows]
        # confidence(0) - 1 == 0: a token first seen adds (c - 1) y yᵀ to the Gram matrix and c y to the target.
        grown = after - np.where(before > 0, before, 1.0)
        self.gram += vectors.T @ (grown[:, None] * vectors)
        self.target += vectors.T @ (after - before)
        self.empty = False

    def vector(self) -> NDArray[np.float64]:
        if self.empty:
            return np.zeros(self.factors.size)
        return np.asarray(np.linalg.solve(self.gram, self.target), dtype=np.float64)
