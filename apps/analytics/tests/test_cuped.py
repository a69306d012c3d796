"""CUPED: on simulations with a known pre-period correlation rho, the interval narrows by sqrt(1 - rho^2), the
variance falls by rho^2, and the estimate stays unbiased with its coverage; and on an experiment's rows, the
results carry the adjusted lift computed from the units' own x and y."""

import json
from datetime import timedelta
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from apps.analytics import cuped, selectors
from apps.analytics.models import Experiment
from apps.analytics.tests.factories import convert, expose, make_experiment, staff_user

SEED = 20261205
REPLICATIONS = 300
UNITS = 4_000  # per variant
TRUE_LIFT = 0.05


def _simulate(rng: np.random.Generator, rho: float) -> cuped.CupedLift:
    """y = lift * treated + rho * x + sqrt(1 - rho^2) * noise, x standard normal: corr(x, y) = rho in each arm."""
    x_c, x_t = rng.standard_normal(UNITS), rng.standard_normal(UNITS)
    y_c = rho * x_c + np.sqrt(1 - rho**2) * rng.standard_normal(UNITS)
    y_t = TRUE_LIFT + rho * x_t + np.sqrt(1 - rho**2) * rng.standard_normal(UNITS)
    adjusted = cuped.lift(cuped.Moments.of(x_c - x_c.min() + 1, y_c), cuped.Moments.of(x_t - x_c.min() + 1, y_t))
    assert adjusted is not None
    return adjusted


@pytest.mark.parametrize("rho", [0.3, 0.6, 0.9])
def test_the_interval_narrows_by_the_expected_amount_and_the_estimate_stays_unbiased(rho: float) -> None:
    rng = np.random.default_rng(SEED)
    runs = [_simulate(rng, rho) for _ in range(REPLICATIONS)]
    lifts = np.array([run.lift for run in runs])
    raw = np.array([run.unadjusted_lift for run in runs])
    width = np.array([run.ci_high - run.ci_low for run in runs])
    raw_width = np.array([run.unadjusted_ci_high - run.unadjusted_ci_low for run in runs])

    assert np.median(width / raw_width) == pytest.approx(np.sqrt(1 - rho**2), abs=0.01)
    assert np.median([run.variance_reduction for run in runs]) == pytest.approx(rho**2, abs=0.01)
    # Unbiased: the mean estimate is within three standard errors of the truth (the standard error from the runs).
    assert abs(lifts.mean() - TRUE_LIFT) < 3 * lifts.std(ddof=1) / np.sqrt(REPLICATIONS)
    # And less spread than the unadjusted estimate, by the same factor.
    assert lifts.std(ddof=1) / raw.std(ddof=1) == pytest.approx(np.sqrt(1 - rho**2), abs=0.05)
    covered = np.mean([run.ci_low <= TRUE_LIFT <= run.ci_high for run in runs])
    assert covered == pytest.approx(0.95, abs=0.035)


def test_a_biased_covariate_would_be_caught() -> None:
    """The unbiasedness check can fail: an adjustment that shifted the treatment's mean by 0.02 does not pass it."""
    rng = np.random.default_rng(SEED)
    lifts = np.array([_simulate(rng, 0.6).lift + 0.02 for _ in range(REPLICATIONS)])
    assert abs(lifts.mean() - TRUE_LIFT) > 3 * lifts.std(ddof=1) / np.sqrt(REPLICATIONS)


def test_nothing_to_adjust_with_is_no_adjustment() -> None:
    quiet = cuped.Moments.of(np.zeros(50), np.r_[np.ones(5), np.zeros(45)])
    assert cuped.lift(quiet, quiet) is None  # nobody was active before: x does not vary
    tiny = cuped.Moments.of([1.0], [1.0])
    assert cuped.lift(tiny, quiet) is None


def _seed_with_pre_period(experiment: Experiment) -> tuple[dict[str, str], dict[str, int], dict[str, int]]:
    """400 units exposed an hour after the start; each with x ~ Poisson(1.5) saves in the 14 days before it and a
    chance to save after exposure that grows with x (and by 5 points in treatment). ({unit: variant}, x, y)."""
    started = experiment.started_at
    assert started is not None
    variants = expose(experiment, [f"u{n}" for n in range(400)], at=started + timedelta(hours=1))
    rng = np.random.default_rng(SEED)
    x: dict[str, int] = {}
    y: dict[str, int] = {}
    for unit, variant in variants.items():
        x[unit] = int(rng.poisson(1.5))  # saves in the 14 days before the start
        y[unit] = int(rng.random() < 0.1 + 0.12 * min(x[unit], 3) + (0.05 if variant != "control" else 0))
        for n in range(x[unit]):
            convert([unit], at=started - timedelta(days=1 + n % 13, hours=3))
        if y[unit]:
            convert([unit], at=started + timedelta(hours=2))
            convert([unit], at=started + timedelta(hours=5))  # a second save counts once
    convert(["u0"], at=started - timedelta(days=20))  # before the pre-period: not counted
    return variants, x, y


@pytest.mark.django_db
def test_the_results_carry_the_adjusted_lift_of_the_units_own_rows(clock) -> None:  # type: ignore[no-untyped-def]
    experiment = make_experiment(status="running")
    variants, x, y = _seed_with_pre_period(experiment)

    data = selectors.results_data(selectors.experiment_results(experiment=experiment))

    def moments(variant: str) -> cuped.Moments:
        units = [unit for unit, v in variants.items() if v == variant]
        return cuped.Moments.of([x[unit] for unit in units], [y[unit] for unit in units])

    expected = cuped.lift(moments("control"), moments("treatment"))
    assert expected is not None
    assert data["cuped_pre_period_days"] == 14
    (adjusted,) = data["cuped"]
    assert adjusted["variant"] == "treatment"
    for name in ("lift", "ci_low", "ci_high", "unadjusted_lift", "theta", "variance_reduction"):
        assert adjusted[name] == pytest.approx(getattr(expected, name)), name
    assert adjusted["units_with_pre_period"] == sum(1 for unit in variants if x[unit] > 0)
    # The unadjusted lift is the rate difference the results table shows.
    treatment = next(v for v in data["variants"] if v["key"] == "treatment")
    assert adjusted["unadjusted_lift"] == pytest.approx(treatment["lift"])
    assert adjusted["variance_reduction"] > 0  # the units with more saves before save more after


@pytest.mark.django_db
def test_without_pre_period_activity_there_is_no_adjusted_lift(clock) -> None:  # type: ignore[no-untyped-def]
    started = timezone.now()
    experiment = make_experiment(status="running")
    variants = expose(experiment, [f"u{n}" for n in range(100)], at=started + timedelta(hours=1))
    convert([unit for n, unit in enumerate(variants) if n % 4 == 0], at=started + timedelta(hours=2))
    data = selectors.results_data(selectors.experiment_results(experiment=experiment))
    assert data["cuped"] == []


@pytest.mark.django_db
def test_the_api_report_and_staff_page_show_it(client, client_for, clock) -> None:  # type: ignore[no-untyped-def]
    experiment = make_experiment(status="running")
    _seed_with_pre_period(experiment)
    expected = selectors.results_data(selectors.experiment_results(experiment=experiment))
    (adjusted,) = expected["cuped"]

    # The API's serializer declares every field, so none is dropped on the way out.
    api = client_for(staff_user()).get(f"/api/v1/experiments/{experiment.key}/results").json()
    assert api["cuped_pre_period_days"] == 14
    assert api["cuped"] == [pytest.approx(adjusted)]
    out = StringIO()
    call_command("experiment_report", experiment.key, "--json", stdout=out)
    assert json.loads(out.getvalue())["cuped"] == [pytest.approx(adjusted)]

    client.force_login(staff_user())
    page = client.get(reverse("admin:analytics_experiment_results", args=[experiment.key])).content.decode()
    assert "Adjusted for behaviour before the start (CUPED)" in page
    assert f"variance reduced by {adjusted['variance_reduction'] * 100:.0f}%" in page
    assert f"({adjusted['units_with_pre_period']} units active before the start)" in page
