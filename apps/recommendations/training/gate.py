"""The quality gate: a new model serves only if it ranks the newest hold-out at least as well as the one serving.

`passes` is the rule, a pure function of the two models' metrics; `record` is the write that applies it: one
ModelVersion row per run and, when promoted, the switch of `is_current` in one transaction (the serving row locked,
the partial unique constraint guaranteeing one current row whatever happens concurrently).
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from apps.recommendations.models import ModelStatus, ModelVersion

METRIC = "ndcg@10"


def passes(new: dict[str, float], current: dict[str, float] | None) -> bool:
    """Promote when nothing serves (or what serves could not be evaluated), or when the new model's ndcg@10 on
    the same hold-out is at least the serving one's."""
    if not current or METRIC not in current:
        return True
    return METRIC in new and new[METRIC] >= current[METRIC]


@dataclass(frozen=True)
class Outcome:
    version: str
    artefact: str
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]  # the serving model's on the same hold-out; empty when none
    baseline_version: str | None  # the serving model evaluated, when there was one
    trained_until: datetime | None
    interactions: int
    people: int
    seconds: float
    note: str = ""


@transaction.atomic
def record(outcome: Outcome) -> ModelVersion:
    """The run's row, promoted (and made current) when the gate passes, else refused."""
    current = ModelVersion.objects.select_for_update().filter(is_current=True).first()
    note = outcome.note
    promote = passes(outcome.metrics, outcome.baseline_metrics)
    if current is not None and current.version != outcome.baseline_version:
        # Another run promoted a model while this one trained: it was not the model compared against.
        promote = False
        note = f"{note} Refused: {current.version} was promoted during training.".strip()
    elif not promote:
        note = (
            f"{note} Refused: {METRIC} {outcome.metrics.get(METRIC, 0.0):.4f} < "
            f"{outcome.baseline_metrics.get(METRIC, 0.0):.4f} of {outcome.baseline_version}."
        ).strip()
    row = ModelVersion.objects.create(
        version=outcome.version,
        status=ModelStatus.PROMOTED if promote else ModelStatus.REFUSED,
        artefact=outcome.artefact,
        trained_until=outcome.trained_until,
        interactions=outcome.interactions,
        people=outcome.people,
        metrics=outcome.metrics,
        baseline_metrics=outcome.baseline_metrics,
        seconds=round(outcome.seconds, 3),
        note=note,
    )
    if promote:
        if current is not None:
            current.is_current = False
            current.save(update_fields=["is_current"])
        row.is_current = True
        row.promoted_at = timezone.now()
        row.save(update_fields=["is_current", "promoted_at"])
    return row


@transaction.atomic
def record_failure(*, version: str, note: str, seconds: float, interactions: int = 0, people: int = 0) -> ModelVersion:
    return ModelVersion.objects.create(
        version=version,
        status=ModelStatus.FAILED,
        note=note[:2000],
        seconds=round(seconds, 3),
        interactions=interactions,
        people=people,
    )
