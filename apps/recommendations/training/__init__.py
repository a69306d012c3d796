"""Training the learned model: collaborative filtering over event tokens (collaborative), learning to rank over
the features of each list a person saw (rows, ltr), the hold-out evaluation (evaluate) and the quality gate (gate);
run.py puts them together. The model that serves is model.LearnedModel, saved by apps.recommendations.artefacts."""

from datetime import datetime

from apps.recommendations.models import ModelVersion


def train(*, now: datetime, holdout_days: float = 7, seed: int = 0) -> ModelVersion:
    """See run.train; imported on call, so that the serving path (which imports training.model) does not load
    the training code and its libraries."""
    from apps.recommendations.training.run import train as run

    return run(now=now, holdout_days=holdout_days, seed=seed)


__all__ = ["train"]
