"""The learning-to-rank data: one row per (person, candidate) of a list, with its grade and model.FEATURES as they
were when the list was made.

- Lists: every recommendation list's impressions, grouped by request id (impressions without one by person and
  UTC day). An impression's grade is 3 when the person planned the event within LABEL_DAYS after, 2 saved, 1
  clicked, else 0.
- A click, save or plan that no impression led to (search, a shared link, the calendar) still counts: it joins the
  group of its person and UTC day as a positive.
- Groups without a positive are dropped: LambdaRank learns nothing from them. The newest groups are kept up to
  MAX_ROWS rows.
- Every group gets NEGATIVES random events of the same days (starting within NEGATIVE_WINDOW of its first positive)
  that the person did not touch: served lists hold what a ranker chose, and the model must choose among them all.

Features are computed as of the group's first moment: the history is the person's positives strictly before it,
kept incrementally per person (token weights, and the collaborative fold-in's normal equations), and popularity
is the decayed positives before it, so nothing is queried per row and nothing from later leaks in. Busy time is not
kept historically: `free_time` is 1 in training (the model learns nothing from it; serving passes it through).
"""

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from apps.core import geo
from apps.recommendations import features as content
from apps.recommendations import selectors
from apps.recommendations.context import INTERACTION_WEIGHTS, POSITIVE_TYPES
from apps.recommendations.rankers.content import content_score
from apps.recommendations.training import collaborative
from apps.recommendations.training.collaborative import Factors
from apps.recommendations.training.dataset import Data, feedback_as_of, haversine
from apps.recommendations.training.model import FEATURES

DAY = 86400.0
LABEL_DAYS = 7.0
NEGATIVES = 40
NEGATIVE_WINDOW = 1.5 * DAY
MAX_ROWS = 1_000_000
WEIGHTS = np.array([0.0] + [INTERACTION_WEIGHTS[kind] for kind in POSITIVE_TYPES])  # by grade


@dataclass
class LtrSet:
    matrix: NDArray[np.float64]  # rows × FEATURES, grouped: each group's rows together, groups in `sizes` order
    labels: NDArray[np.int64]
    sizes: NDArray[np.int64]

    @property
    def groups(self) -> int:
        return len(self.sizes)


class Popularity:
    """selectors.compute_popularity at any moment: per event, its positives of the POPULARITY_DAYS before, weighted
    like a history and halving every POPULARITY_HALF_LIFE_DAYS, for many (event, moment) pairs at once. Sums are
    kept per event relative to its first positive, so the exponentials stay small."""

    def __init__(self, data: Data, rows: NDArray[np.int64]) -> None:
        self.half_life = selectors.POPULARITY_HALF_LIFE_DAYS * DAY
        self.window = selectors.POPULARITY_DAYS * DAY
        order = rows[np.lexsort((data.at[rows], data.event[rows]))]
        self.events = data.event[order]
        self.times = data.at[order]
        first = np.zeros(len(data.events))
        if len(order):
            starts = np.r_[0, np.flatnonzero(np.diff(self.events)) + 1]
            first[self.events[starts]] = self.times[starts]
        self.first = first
        # Each event's positives take keys event × span + offset, the offsets a margin away from both ends, so a
        # query clipped into [0, span) stays within its event's keys and still sees every earlier positive.
        margin = self.window + DAY
        self.span = (float(self.times.max() - self.times.min()) if len(order) else 0.0) + 2 * margin
        self.origin = (float(self.times.min()) if len(order) else 0.0) - margin
        self.keys = self.events * self.span + (self.times - self.origin)
        values = WEIGHTS[data.grade[order]] * np.exp2((self.times - first[self.events]) / self.half_life)
        self.cumulative = np.r_[0.0, np.cumsum(values)]

    def at(self, events: NDArray[np.int64], moments: NDArray[np.float64]) -> NDArray[np.float64]:
        if len(self.keys) == 0:
            return np.zeros(len(events))
        offsets = np.clip(moments - self.origin, 0.0, self.span - 1.0)
        high = np.searchsorted(self.keys, events * self.span + offsets, side="left")
        low = np.searchsorted(self.keys, events * self.span + np.maximum(offsets - self.window, 0.0), side="left")
        total = self.cumulative[high] - self.cumulative[low]
        decay = np.exp2(-np.minimum((moments - self.first[events]) / self.half_life, 1000.0))
        return np.asarray(np.where(total > 0, total * decay, 0.0), dtype=np.float64)


Group = list[tuple[int, int, int]]  # (interaction row giving the moment, event row, grade)


def _groups(data: Data, rows: NDArray[np.int64], rng: np.random.Generator) -> dict[tuple[object, ...], Group]:
    """The lists with at least one positive, by key: (person, "request", id) or (person, "day", UTC day)."""
    users, events, grades, times = (data.user.tolist(), data.event.tolist(), data.grade.tolist(), data.at.tolist())
    positives: dict[tuple[int, int], list[int]] = defaultdict(list)
    for row in rows[data.grade[rows] > 0].tolist():
        positives[(users[row], events[row])].append(row)
    matched: set[int] = set()
    groups: dict[tuple[object, ...], Group] = defaultdict(list)
    touched: dict[int, set[int]] = defaultdict(set)
    horizon = LABEL_DAYS * DAY
    for row in rows.tolist():
        user, event = users[row], events[row]
        touched[user].add(event)
        if grades[row] != 0:
            continue
        grade = 0
        for later in positives.get((user, event), ()):
            if times[row] <= times[later] <= times[row] + horizon:
                grade = max(grade, grades[later])
                matched.add(later)
        request = data.request[row]
        key = (user, "request", request) if request else (user, "day", int(times[row] // DAY))
        groups[key].append((row, event, grade))
    for (user, event), later_rows in positives.items():
        orphans = [row for row in later_rows if row not in matched]
        if orphans:
            key = (user, "day", int(times[orphans[0]] // DAY))
            groups[key].append((orphans[0], event, max(grades[orphan] for orphan in orphans)))
    kept = {key: members for key, members in groups.items() if any(grade > 0 for _, _, grade in members)}
    # The newest lists up to MAX_ROWS rows (negatives included), which bounds training's time and memory as traffic
    # grows; older lists still shape the histories before them.
    moments = {key: min(times[row] for row, _, _ in members) for key, members in kept.items()}
    budget = MAX_ROWS
    chosen: dict[tuple[object, ...], Group] = {}
    for newest in sorted(kept, key=moments.__getitem__, reverse=True):
        budget -= len(kept[newest]) + NEGATIVES
        if budget < 0:
            break
        chosen[newest] = kept[newest]
    # Every list also gets events of the same days that nobody showed the person: a served list holds what a
    # ranker already chose, and a model that only learned to order those would not know how to choose among all
    # the events of a weekend, which is what it is asked to do.
    sampler = _NegativeSampler(data, touched, rng)
    for members in chosen.values():
        row, event, _ = next(member for member in members if member[2] > 0)
        members.extend((row, other, 0) for other in sampler.around(users[row], event))
    return chosen


class _NegativeSampler:
    def __init__(self, data: Data, touched: dict[int, set[int]], rng: np.random.Generator) -> None:
        self.starts = data.events.columns("UTC").start
        self.by_start = np.argsort(self.starts, kind="stable")
        self.sorted_starts = self.starts[self.by_start]
        self.touched = touched
        self.rng = rng

    def around(self, user: int, event: int) -> list[int]:
        """Up to NEGATIVES events starting within NEGATIVE_WINDOW of `event` that `user` never touched, each
        sampled once per person."""
        start = self.starts[event]
        low, high = np.searchsorted(self.sorted_starts, [start - NEGATIVE_WINDOW, start + NEGATIVE_WINDOW])
        found: list[int] = []
        if high - low <= 1:
            return found
        for pick in self.rng.integers(low, high, size=NEGATIVES * 3).tolist():
            other = int(self.by_start[pick])
            if other not in self.touched[user]:
                found.append(other)
                self.touched[user].add(other)
                if len(found) == NEGATIVES:
                    break
        return found


def build(data: Data, factors: Factors, *, until: float, seed: int) -> LtrSet:
    """The LTR rows from the interactions before `until`."""
    rng = np.random.default_rng(seed)
    rows = np.flatnonzero(data.at < until)
    groups = _groups(data, rows, rng)
    popularity = Popularity(data, rows[data.grade[rows] > 0])
    times, grades = data.at.tolist(), data.grade.tolist()
    # Per group: its person and first moment; people's groups in time order, for the incremental history.
    moments = {key: min(times[row] for row, _, _ in members) for key, members in groups.items()}
    ordered = sorted(groups.items(), key=lambda item: (item[0][0], moments[item[0]]))
    user: list[int] = []
    event: list[int] = []
    moment: list[float] = []
    labels: list[int] = []
    history_rows: list[tuple[float, float, float, float, float]] = []
    feedback: list[float] = []
    vectors: list[NDArray[np.float64]] = []
    positives: list[float] = []
    sizes = []
    current_user, pointer, state = -1, 0, _History(factors)
    for key, members in ordered:
        person = int(str(key[0]))
        if person != current_user:
            current_user, pointer, state = person, 0, _History(factors)
            history = data.by_user.get(person, np.zeros(0, dtype=np.int64)).tolist()
            zone = data.profile(person).timezone
            tokens, parts = data.events.columns(zone).tokens, data.events.parts(zone)
            given = data.feedback.get(person, [])
        when = moments[key]
        while pointer < len(history) and times[history[pointer]] < when:
            state.add(tokens[data.event[history[pointer]]], float(WEIGHTS[grades[history[pointer]]]))
            pointer += 1
        categories, venues = feedback_as_of(given, when) if given else ({}, {})
        weight = state.weights.get
        total = state.total or 1.0
        for _, candidate, grade in members:
            user.append(person)
            event.append(candidate)
            labels.append(grade)
            (category, venue, price, daypart), tags = parts[candidate]
            tag = max([weight(name, 0.0) for name in tags], default=0.0)
            history_rows.append(
                (
                    weight(category, 0.0) / total,
                    weight(venue, 0.0) / total if venue else 0.0,
                    weight(price, 0.0) / total,
                    weight(daypart, 0.0) / total,
                    tag / total,
                )
            )
            fed = 0.0
            if categories or venues:
                venue_id = data.events.columns("UTC").venue_ids[candidate]
                fed = categories.get(data.events.columns("UTC").categories[candidate], 0.0)
                fed = max(-1.0, min(1.0, fed + (venues.get(venue_id, 0.0) if venue_id is not None else 0.0)))
            feedback.append(fed)
        vectors.append(np.broadcast_to(state.vector(), (len(members), factors.size)))
        moment.extend([when] * len(members))
        positives.extend([math.log1p(state.positives)] * len(members))
        sizes.append(len(members))
    column = {name: position for position, name in enumerate(FEATURES)}
    matrix = np.zeros((len(user), len(FEATURES)))
    matrix[:, column["history_category"] : column["history_tag"] + 1] = np.array(history_rows).reshape(-1, 5)
    matrix[:, column["feedback"]] = feedback
    matrix[:, column["positives"]] = positives
    users, events = np.array(user, dtype=np.int64), np.array(event, dtype=np.int64)
    _content_columns(data, matrix, column, users, events, np.array(moment), popularity)
    stacked = np.concatenate(vectors) if vectors else np.zeros((0, factors.size))
    matrix[:, column["cf"]] = _cf_column(data, factors, users, events, stacked)
    _content_score_column(matrix, column, np.array(sizes, dtype=np.int64))
    return LtrSet(matrix=matrix, labels=np.array(labels, dtype=np.int64), sizes=np.array(sizes, dtype=np.int64))


class _History:
    """A person's positives so far: token weights (features.token_weights), their count and the fold-in (fed in
    one batch per list, since several positives usually come between two lists)."""

    def __init__(self, factors: Factors) -> None:
        self.weights: dict[str, float] = {}
        self.total = 0.0
        self.positives = 0
        self.fold = collaborative.IncrementalFoldIn(factors)
        self.pending: dict[str, float] = {}
        self.last: NDArray[np.float64] | None = None

    def add(self, tokens: tuple[str, ...], weight: float) -> None:
        for token in tokens:
            self.weights[token] = self.weights.get(token, 0.0) + weight
            self.pending[token] = self.pending.get(token, 0.0) + weight
        self.total += weight
        self.positives += 1

    def vector(self) -> NDArray[np.float64]:
        if self.pending or self.last is None:
            self.fold.add(self.pending)
            self.pending = {}
            self.last = self.fold.vector()
        return self.last


def _content_columns(
    data: Data,
    matrix: NDArray[np.float64],
    column: dict[str, int],
    user: NDArray[np.int64],
    event: NDArray[np.int64],
    moment: NDArray[np.float64],
    popularity: Popularity,
) -> None:
    """features.content_features, vectorised over rows of many people."""
    profiles = [data.profile(int(person)) for person in user]
    events = data.events.columns("UTC")
    home_lat = np.array([p.home.lat if p.home else math.nan for p in profiles])
    home_lon = np.array([p.home.lon if p.home else math.nan for p in profiles])
    distance = haversine(home_lat, home_lon, data.events.lat[event], data.events.lon[event])
    half = np.array(
        [content.HALF_DISTANCE_KM.get(p.travel_mode, content.HALF_DISTANCE_KM["transit"]) for p in profiles]
    )
    speed = np.array([geo.SPEED_KMH[geo.TravelMode(p.travel_mode)] for p in profiles])
    matrix[:, column["interest"]] = [
        1.0 if events.categories[e] in p.interests else 0.0 for e, p in zip(event, profiles, strict=True)
    ]
    matrix[:, column["nearness"]] = np.where(np.isnan(distance), content.NEUTRAL, 0.5 ** (distance / half))
    matrix[:, column["travel_minutes"]] = distance * geo.DETOUR_FACTOR / speed * 60.0
    price = events.price_min[event]
    budget = np.array([p.budget if p.budget is not None and p.budget > 0 else math.nan for p in profiles])
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(np.isnan(price), budget / 2, price) / budget
        fit = np.where(
            np.isnan(budget),
            np.where(np.isnan(price), content.NEUTRAL, 1.0 / (1.0 + np.nan_to_num(price) / 20.0)),
            np.clip(1.0 - share, 0.0, 1.0),
        )
    matrix[:, column["price_fit"]] = np.where(events.is_free[event], 1.0, fit)
    matrix[:, column["free_time"]] = 1.0
    age_days = np.maximum(moment - events.created[event], 0.0) / DAY
    matrix[:, column["freshness"]] = 0.5 ** (age_days / content.FRESH_DAYS)
    matrix[:, column["popularity"]] = np.log1p(popularity.at(event, moment))


def _content_score_column(matrix: NDArray[np.float64], column: dict[str, int], sizes: NDArray[np.int64]) -> None:
    """The content ranker's score of each row, its popularity scaled within the row's list as serving does."""
    names = ("interest", "feedback", "nearness", "price_fit", "free_time", "freshness", "popularity")
    for start, end in zip(np.r_[0, np.cumsum(sizes)[:-1]], np.cumsum(sizes), strict=True):
        block = matrix[start:end]
        values = {name: block[:, column[name]] for name in (*names, "travel_minutes")}
        matrix[start:end, column["content"]] = content_score(content.ContentFeatures(**values))


def _cf_column(
    data: Data, factors: Factors, user: NDArray[np.int64], event: NDArray[np.int64], vectors: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Collaborative score of each row's event for its person as of then; tokens in the person's time zone."""
    zones = np.array([data.profile(int(person)).timezone for person in user])
    result = np.zeros(len(user))
    for zone in np.unique(zones):
        rows = np.flatnonzero(zones == zone)
        token_rows = factors.token_rows(data.events.columns(str(zone)).tokens)
        result[rows] = collaborative.batch_scores(factors, vectors[rows], token_rows[event[rows]])
    return result
