"""The diversity step every ranker's list goes through: a greedy re-ranking (maximal marginal relevance with
category and venue as the similarity) so that a list is not ten jazz concerts at the same club."""

import numpy as np
from numpy.typing import NDArray

from apps.recommendations.context import NO_VENUE, Candidates

CATEGORY_PENALTY = 0.25  # subtracted, per event of the same category already listed, from the scaled score
VENUE_PENALTY = 0.15


def diversify(candidates: Candidates, scores: NDArray[np.float64], *, limit: int) -> NDArray[np.int64]:
    """The rows of the list, best first: each step takes the candidate whose score (scaled to [0, 1]) minus its
    similarity to what is already listed is highest. Equal scores keep the ranker's order (then the event id)."""
    count = len(candidates)
    if count == 0 or limit <= 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((candidates.event_ids, -scores))
    # Only the best few times `limit` can make the list: the re-ranking stays O(limit x pool).
    pool = order[: max(limit * 5, 50)]
    low, high = float(scores[pool].min()), float(scores[pool].max())
    scaled = (scores[pool] - low) / (high - low) if high > low else np.zeros(len(pool))
    # Venue ids renumbered 0..n within the pool; no venue gets its own number that is never penalised.
    venues, venue_index = np.unique(candidates.venue_codes[pool], return_inverse=True)
    categories = candidates.category_codes[pool]
    has_venue = venues[venue_index] != NO_VENUE
    category_counts = np.zeros(categories.max() + 1 if len(pool) else 1)
    venue_counts = np.zeros(len(venues))
    adjusted = scaled.copy()
    picked: list[int] = []
    for _ in range(min(limit, len(pool))):
        penalty = CATEGORY_PENALTY * category_counts[categories] + VENUE_PENALTY * venue_counts[venue_index] * has_venue
        best = int(np.argmax(adjusted - penalty))  # the first of equals: the ranker's order
        adjusted[best] = -np.inf
        picked.append(best)
        category_counts[categories[best]] += 1
        venue_counts[venue_index[best]] += 1
    return np.asarray(pool[picked], dtype=np.int64)
