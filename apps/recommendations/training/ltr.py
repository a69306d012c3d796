"""Learning to rank: LightGBM's LambdaRank over the rows of rows.build, deterministic for a seed."""

from typing import Any

import numpy as np

from apps.recommendations.training.model import LTR_COLUMNS, LTR_FEATURES
from apps.recommendations.training.rows import LtrSet

# Below these, a LambdaRank model would learn noise: the model falls back to model.BLEND.
MIN_GROUPS = 20
MIN_POSITIVES = 50
ROUNDS = 100
# Small trees with a linear model in each leaf: the content score and the history shares act nearly linearly (a
# person likes a category, a venue, a part of the day), and deep trees over a few thousand lists overfit them
# (docs/recommendations.md, "Training", has the figures that chose this).
PARAMS = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "eval_at": [10],
    "learning_rate": 0.05,
    "num_leaves": 3,
    "min_data_in_leaf": 100,
    "linear_tree": True,
    "linear_lambda": 1.0,
    "feature_fraction": 0.9,
    "lambdarank_truncation_level": 20,
    "max_bin": 63,  # a quarter of the default: 3-4 times faster on a million rows, no loss on these features
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 2,
    "verbose": -1,
}


def enough(data: LtrSet) -> bool:
    return data.groups >= MIN_GROUPS and int((data.labels > 0).sum()) >= MIN_POSITIVES


def fit(data: LtrSet, *, seed: int) -> Any:
    """The trained booster (lightgbm.Booster)."""
    import lightgbm  # heavy import, training only

    dataset = lightgbm.Dataset(
        data.matrix[:, LTR_COLUMNS],
        label=data.labels,
        group=data.sizes,
        feature_name=list(LTR_FEATURES),
        free_raw_data=True,
        params={"verbose": -1, "max_bin": PARAMS["max_bin"]},
    )
    params = {**PARAMS, "seed": seed, "label_gain": [float(grade) for grade in range(int(np.max(data.labels)) + 2)]}
    return lightgbm.train(params, dataset, num_boost_round=ROUNDS)
