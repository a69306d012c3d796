"""Builders for experiment tests: experiments through the services, and exposures and conversions in bulk (as a
busy site would have logged them) when a test needs thousands."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.utils import timezone

from apps.analytics import assignment, services
from apps.analytics.models import Conversion, Experiment, Exposure
from apps.users.tests.factories import UserFactory

HALVES = [{"key": "control", "weight": 50}, {"key": "treatment", "weight": 50}]


def make_experiment(
    key: str = "ranker-v2",
    *,
    variants: Sequence[dict[str, Any]] = HALVES,
    metric: str = "save",
    guardrails: Iterable[str] = (),
    status: str = "draft",
) -> Experiment:
    experiment = services.experiment_create(
        key=key,
        description=f"Test experiment {key}",
        variants=[dict(variant) for variant in variants],
        primary_metric={"event": metric},
        guardrails=[{"event": event} for event in guardrails],
    )
    if status in ("running", "stopped"):
        experiment = services.experiment_start(experiment=experiment)
    if status == "stopped":
        experiment = services.experiment_stop(experiment=experiment)
    return experiment


def staff_user(**fields: Any) -> Any:
    return UserFactory(is_staff=True, **fields)


def expose(experiment: Experiment, unit_ids: Iterable[str], *, at: datetime | None = None) -> dict[str, str]:
    """Exposures for these units in their assigned variants, written in one bulk insert; {unit id: variant}."""
    variants = {
        unit: assignment.assign(salt=experiment.salt, key=experiment.key, variants=experiment.variants, unit_id=unit)
        for unit in unit_ids
    }
    moment = at or timezone.now()
    Exposure.objects.bulk_create(
        [
            Exposure(experiment=experiment, unit_id=unit, variant=variant, exposed_at=moment)
            for unit, variant in variants.items()
        ],
        batch_size=5000,
    )
    return variants


def convert(unit_ids: Iterable[str], event: str = "save", *, at: datetime | None = None) -> None:
    moment = at or timezone.now()
    Conversion.objects.bulk_create(
        [Conversion(unit_id=unit, type=event, occurred_at=moment) for unit in unit_ids], batch_size=5000
    )
