"""The figures equal statsmodels' and scipy's on the same counts, and the textbook formulas they stand for."""

import math

import numpy as np
import pytest
from scipy.stats import chisquare, norm
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from apps.analytics import statistics

# (control units, control conversions, treatment units, treatment conversions)
COUNT_SETS = [
    (1000, 100, 1000, 120),
    (5000, 250, 5100, 240),
    (20000, 2000, 19850, 2150),
    (37, 3, 41, 9),
    (10, 1, 12, 0),  # one variant with no conversion
    (10, 10, 12, 11),  # one variant where everyone converted
    (1, 0, 1, 1),
    (123456, 7890, 120000, 7400),
]
EDGE_SETS = [
    (500, 0, 480, 0),  # nobody converted
    (500, 500, 480, 480),  # everybody converted
]


@pytest.mark.parametrize(("n_c", "x_c", "n_t", "x_t"), COUNT_SETS)
def test_p_value_and_interval_equal_statsmodels(n_c, x_c, n_t, x_t):
    result = statistics.compare(control_units=n_c, control_conversions=x_c, units=n_t, conversions=x_t)
    _, p_value = proportions_ztest([x_t, x_c], [n_t, n_c])
    low, high = confint_proportions_2indep(x_t, n_t, x_c, n_c, method="wald", compare="diff")
    assert result.p_value == pytest.approx(p_value, rel=1e-12, abs=1e-300)
    assert result.lift_ci_low == pytest.approx(low, rel=1e-12, abs=1e-15)
    assert result.lift_ci_high == pytest.approx(high, rel=1e-12, abs=1e-15)
    assert result.lift == pytest.approx(x_t / n_t - x_c / n_c, abs=1e-15)
    assert result.relative_lift == (pytest.approx((x_t / n_t - x_c / n_c) / (x_c / n_c)) if x_c else None)


@pytest.mark.parametrize(("n_c", "x_c", "n_t", "x_t"), COUNT_SETS)
def test_they_are_the_pooled_z_test_and_the_unpooled_wald_interval(n_c, x_c, n_t, x_t):
    p_c, p_t = x_c / n_c, x_t / n_t
    pooled = (x_c + x_t) / (n_c + n_t)
    z = (p_t - p_c) / math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))  # no continuity correction
    half_width = norm.ppf(0.975) * math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    result = statistics.compare(control_units=n_c, control_conversions=x_c, units=n_t, conversions=x_t)
    assert result.p_value == pytest.approx(2 * norm.sf(abs(z)), rel=1e-9, abs=1e-300)
    assert result.lift_ci_low == pytest.approx(p_t - p_c - half_width, abs=1e-12)
    assert result.lift_ci_high == pytest.approx(p_t - p_c + half_width, abs=1e-12)


@pytest.mark.parametrize(("n_c", "x_c", "n_t", "x_t"), EDGE_SETS)
def test_nobody_or_everybody_converting_gives_no_p_value_but_a_zero_interval(n_c, x_c, n_t, x_t):
    with np.errstate(invalid="ignore"):  # statsmodels divides 0 by 0 here
        _, reference = proportions_ztest([x_t, x_c], [n_t, n_c])
    assert math.isnan(reference)  # statsmodels' answer: the pooled variance is 0
    result = statistics.compare(control_units=n_c, control_conversions=x_c, units=n_t, conversions=x_t)
    assert result.p_value is None
    assert (result.lift, result.lift_ci_low, result.lift_ci_high) == (0.0, 0.0, 0.0)
    assert statistics.sequential_p_value([n_c], [x_c], [n_t], [x_t]) is None


@pytest.mark.parametrize(("n_c", "x_c", "n_t", "x_t"), [(0, 0, 10, 3), (10, 3, 0, 0), (0, 0, 0, 0)])
def test_a_variant_without_units_gives_nulls(n_c, x_c, n_t, x_t):
    result = statistics.compare(control_units=n_c, control_conversions=x_c, units=n_t, conversions=x_t)
    assert result == statistics.Comparison.empty()
    assert statistics.rate(0, 0) is None
    assert statistics.sequential_p_value([n_c], [x_c], [n_t], [x_t]) is None


@pytest.mark.parametrize(
    ("units", "weights"),
    [([5000, 5000], [50, 50]), ([5210, 4790], [50, 50]), ([1900, 3100, 5000], [20, 30, 50]), ([1, 0], [50, 50]),
     ([100, 900], [10, 90]), ([700, 300], [50, 50])],
)  # fmt: skip
def test_srm_equals_scipy_chisquare(units, weights):
    expected = [sum(units) * w / 100 for w in weights]
    assert statistics.srm_p_value(units, weights) == pytest.approx(chisquare(units, f_exp=expected).pvalue, rel=1e-12)


def test_srm_has_no_p_value_without_units():
    assert statistics.srm_p_value([0, 0], [50, 50]) is None


def test_the_mixture_ratio_is_the_documented_formula():
    n_c, x_c, n_t, x_t = 4000, 400, 4100, 470
    pooled = (x_c + x_t) / (n_c + n_t)
    variance = pooled * (1 - pooled) * (1 / n_t + 1 / n_c)
    tau2 = statistics.MIXING_SD**2 * pooled * (1 - pooled)
    lift = x_t / n_t - x_c / n_c
    ratio = math.sqrt(variance / (variance + tau2)) * math.exp(lift**2 / variance * tau2 / (2 * (variance + tau2)))
    log_lr = statistics.log_mixture_likelihood_ratios(n_c, x_c, n_t, x_t)
    assert float(log_lr) == pytest.approx(math.log(ratio), rel=1e-12)
    # Its z is statsmodels' pooled z.
    z, _ = proportions_ztest([x_t, x_c], [n_t, n_c])
    assert lift**2 / variance == pytest.approx(z**2, rel=1e-12)
    assert statistics.sequential_p_value([n_c], [x_c], [n_t], [x_t]) == pytest.approx(min(1.0, 1 / ratio))


def test_the_sequential_p_value_is_the_running_minimum_over_looks():
    # A difference that shows early and fades: the p-value keeps the strongest evidence seen.
    n_c = np.array([500, 1000, 2000, 4000])
    n_t = n_c.copy()
    x_c = np.array([40, 90, 200, 400])
    x_t = np.array([90, 150, 250, 410])
    running = statistics.sequential_p_values(n_c, x_c, n_t, x_t)
    per_look = np.minimum(1.0, np.exp(-statistics.log_mixture_likelihood_ratios(n_c, x_c, n_t, x_t)))
    assert np.all(np.diff(running) <= 0)
    assert running.tolist() == pytest.approx(np.minimum.accumulate(per_look).tolist())
    assert running[-1] < per_look[-1]
    assert statistics.sequential_p_value(n_c, x_c, n_t, x_t) == pytest.approx(running[-1])


def test_the_sequential_p_value_is_more_cautious_than_the_fixed_one_on_a_single_look():
    for n_c, x_c, n_t, x_t in COUNT_SETS:
        fixed = statistics.fixed_p_value(control_units=n_c, control_conversions=x_c, units=n_t, conversions=x_t)
        sequential = statistics.sequential_p_value([n_c], [x_c], [n_t], [x_t])
        assert fixed is not None
        assert sequential is not None
        assert sequential >= fixed
