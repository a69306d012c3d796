"""Simulated experiments (counts drawn with a seeded numpy Generator, no database): a real lift is found, and
under no difference the fixed test is wrong 5% of the time when read once, far more when read daily, while the
sequential p-value read daily stays within 5%."""

import numpy as np
import pytest
from scipy.stats import binom

from apps.analytics import simulation, statistics

SIMULATIONS = 200
ALPHA = statistics.ALPHA
# The false-positive count of 200 A/A tests is Binomial(200, 5%) when the test is right: these bounds hold it
# with probability > 99.9% (from 2 to 21 of 200: 1% to 10.5%), so a wrong test, not chance, fails them.
LOW, HIGH = binom.ppf(0.0005, SIMULATIONS, ALPHA) / SIMULATIONS, binom.ppf(0.9995, SIMULATIONS, ALPHA) / SIMULATIONS


@pytest.fixture(scope="module")
def aa_rates() -> simulation.FalsePositiveRates:
    return simulation.aa_false_positive_rates(20261204, experiments=SIMULATIONS, days=28, units_per_day=400)


def test_a_known_lift_is_detected_and_covered_by_the_interval():
    rng = np.random.default_rng(7)
    counts = simulation.simulate(
        rng, experiments=1, days=28, units_per_day=1500, control_rate=0.10, treatment_rate=0.12
    )
    n_c, x_c, n_t, x_t = (int(a[0, -1]) for a in (counts.control_units, counts.control_conversions, counts.units,
                                                    counts.conversions))  # fmt: skip
    result = statistics.compare(control_units=n_c, control_conversions=x_c, units=n_t, conversions=x_t)
    assert result.p_value is not None
    assert result.p_value < 0.001
    assert result.lift_ci_low is not None
    assert result.lift_ci_high is not None
    assert result.lift_ci_low < 0.02 < result.lift_ci_high
    assert result.relative_lift == pytest.approx(0.2, abs=0.08)
    sequential = simulation.sequential_p_values(counts)[0]
    assert sequential[-1] < ALPHA
    assert np.all(np.diff(sequential) <= 0)


def test_most_simulated_experiments_with_a_known_lift_are_found_by_the_sequential_test():
    rng = np.random.default_rng(11)
    counts = simulation.simulate(
        rng, experiments=SIMULATIONS, days=28, units_per_day=1000, control_rate=0.10, treatment_rate=0.12
    )
    found = (simulation.sequential_p_values(counts) < ALPHA).any(axis=1)
    assert found.mean() > 0.9


def test_the_fixed_test_read_once_is_wrong_about_5_percent_of_the_time(aa_rates):
    assert LOW <= aa_rates.fixed_once <= HIGH


def test_reading_the_fixed_test_daily_inflates_its_false_positives(aa_rates):
    assert aa_rates.fixed_daily > HIGH
    assert aa_rates.fixed_daily > 2 * aa_rates.fixed_once


def test_reading_the_sequential_p_value_daily_keeps_false_positives_within_5_percent(aa_rates):
    assert aa_rates.sequential_daily <= HIGH
    assert aa_rates.sequential_daily < aa_rates.fixed_daily / 3
