"""Writes of the experiments: create, start, stop, assign (logging the exposure) and record a conversion.

Other apps call `experiment_variant(key=..., unit_id=...)` where a variant decides what to show, and treat None
(no such experiment, or it is not running) as the control's behaviour.
"""

from datetime import datetime
from typing import Any

import structlog
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.analytics import assignment
from apps.analytics.models import (
    Conversion,
    Experiment,
    ExperimentStatus,
    Exposure,
    TrackedEventType,
    is_unit_id,
)

logger = structlog.get_logger(__name__)


class ExperimentKeyTaken(Exception):
    pass


class TransitionRefused(Exception):
    """draft → running → stopped is the only way an experiment goes."""

    def __init__(self, experiment: Experiment, wanted: str) -> None:
        self.status = experiment.status
        super().__init__(f"Experiment {experiment.key!r} is {experiment.status}; it cannot become {wanted}.")


@transaction.atomic
def experiment_create(
    *,
    key: str,
    variants: list[dict[str, Any]],
    primary_metric: dict[str, Any],
    description: str = "",
    guardrails: list[dict[str, Any]] | None = None,
) -> Experiment:
    """A draft experiment; ValidationError naming the field at fault, ExperimentKeyTaken if the key is used."""
    experiment = Experiment(
        key=key,
        description=description,
        variants=variants,
        primary_metric=primary_metric,
        guardrails=guardrails or [],
    )
    experiment.full_clean(validate_unique=False)
    if Experiment.objects.filter(key=key).exists():
        raise ExperimentKeyTaken(f"An experiment with the key {key!r} already exists.")
    try:
        with transaction.atomic():
            experiment.save()
    except IntegrityError as exc:  # created by a concurrent request between the check and the insert
        raise ExperimentKeyTaken(f"An experiment with the key {key!r} already exists.") from exc
    logger.info("experiment_created", experiment=key)
    return experiment


def _transition(experiment: Experiment, *, source: str, target: str, **times: datetime) -> Experiment:
    # One conditional UPDATE: of two concurrent requests, exactly one moves the experiment.
    moved = Experiment.objects.filter(pk=experiment.pk, status=source).update(status=target, **times)
    experiment.refresh_from_db()
    if not moved:
        raise TransitionRefused(experiment, target)
    logger.info("experiment_status_changed", experiment=experiment.key, status=target)
    return experiment


@transaction.atomic
def experiment_start(*, experiment: Experiment) -> Experiment:
    return _transition(
        experiment, source=ExperimentStatus.DRAFT, target=ExperimentStatus.RUNNING, started_at=timezone.now()
    )


@transaction.atomic
def experiment_stop(*, experiment: Experiment) -> Experiment:
    return _transition(
        experiment, source=ExperimentStatus.RUNNING, target=ExperimentStatus.STOPPED, stopped_at=timezone.now()
    )


def _check_unit_id(unit_id: str) -> None:
    if not is_unit_id(unit_id):
        raise ValidationError({"unit_id": ["1 to 64 printable ASCII characters without spaces."]})


@transaction.atomic
def experiment_assign(*, experiment: Experiment, unit_id: str) -> str | None:
    """The unit's variant, its exposure logged the first time; None (and nothing logged) unless running."""
    _check_unit_id(unit_id)
    if experiment.status != ExperimentStatus.RUNNING:
        return None
    variant = assignment.assign(salt=experiment.salt, key=experiment.key, variants=experiment.variants, unit_id=unit_id)
    # INSERT ... ON CONFLICT DO NOTHING: the first exposure stays, and concurrent first calls cannot fail.
    Exposure.objects.bulk_create(
        [Exposure(experiment=experiment, unit_id=unit_id, variant=variant)], ignore_conflicts=True
    )
    return variant


def experiment_variant(*, key: str, unit_id: str) -> str | None:
    """What other apps call: the variant of `unit_id` (a user id or an anonymous id) in the experiment `key`,
    logging its exposure once; None when there is no such experiment or it is not running."""
    experiment = Experiment.objects.filter(key=key).first()
    if experiment is None:
        _check_unit_id(unit_id)
        return None
    return experiment_assign(experiment=experiment, unit_id=unit_id)


@transaction.atomic
def conversion_record(*, unit_id: str, event_type: str, occurred_at: datetime | None = None) -> Conversion:
    """What the results count: the seam tracking feeds (docs/experiments.md, "Where conversions come from")."""
    _check_unit_id(unit_id)
    if event_type not in TrackedEventType.values:
        raise ValidationError({"type": [f"Unknown event type {event_type!r}."]})
    return Conversion.objects.create(unit_id=unit_id, type=event_type, occurred_at=occurred_at or timezone.now())


@transaction.atomic
def experiment_data_erase(*, unit_ids: list[str]) -> None:
    """A person's exposures and conversions, on the deletion of their account."""
    Exposure.objects.filter(unit_id__in=unit_ids).delete()
    Conversion.objects.filter(unit_id__in=unit_ids).delete()
