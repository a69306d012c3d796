"""The statistics of an experiment's results, from counts alone (docs/experiments.md explains each number).

Against the control, for a variant with `units` exposed of which `conversions` converted:
- `lift` = rate − control rate, with its 95% Wald confidence interval from the unpooled variance
  p_t(1 − p_t)/n_t + p_c(1 − p_c)/n_c (statsmodels' confint_proportions_2indep, method "wald");
- `relative_lift` = lift / control rate;
- `p_value`: the two-sided two-proportion z-test with the pooled variance p̄(1 − p̄)(1/n_t + 1/n_c) and no
  continuity correction (statsmodels' proportions_ztest). Valid when read once, at a sample size fixed ahead;
- `sequential_p_value`: the always-valid p-value of a normal-mixture SPRT (Johari, Koomen, Pekelis and Walsh,
  "Always valid inference", 2017) on the same pooled z, so reading it every day does not raise the rate of
  false positives above 5%. Each look n has the likelihood ratio of a N(0, τ²) mixture over the difference
  against none, with V = p̄(1 − p̄)(1/n_t + 1/n_c) and z² = lift² / V:

      Λ_n = sqrt(V / (V + τ²)) · exp(z² τ² / (2 (V + τ²))),   p_n = min(1, min over looks k ≤ n of 1 / Λ_k)

  The mixing variance is τ² = φ² p̄(1 − p̄) with φ = MIXING_SD = 0.05: the difference measured in Bernoulli
  standard deviations has a N(0, 0.05²) prior, which makes the test most sensitive around 10⁴ units per variant
  and keeps it useful from 10³ to 10⁶. Then τ²/V = φ² / (1/n_t + 1/n_c) depends on the sample sizes only.
  Looks where V is 0 (no conversions yet, or all converted) carry no evidence (Λ = 1).
- SRM (sample ratio mismatch): the chi-square test of the units per variant against the weights
  (scipy.stats.chisquare), flagged when p < 0.001: then the split itself is broken and no figure can be trusted.

scipy and statsmodels are imported where they are used: they cost seconds and ~100 MB in every process that
imports them, and only the results need them.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

ALPHA = 0.05  # the confidence intervals are 1 − ALPHA
MIXING_SD = 0.05  # φ: the mixture's standard deviation of the difference, in Bernoulli standard deviations
SRM_ALPHA = 0.001


@dataclass(frozen=True)
class Comparison:
    """A variant against the control; None where the counts cannot give the figure."""

    lift: float | None
    lift_ci_low: float | None
    lift_ci_high: float | None
    relative_lift: float | None
    p_value: float | None

    @classmethod
    def empty(cls) -> "Comparison":
        return cls(None, None, None, None, None)


def rate(conversions: int, units: int) -> float | None:
    return conversions / units if units else None


def fixed_p_value(*, control_units: int, control_conversions: int, units: int, conversions: int) -> float | None:
    """The pooled two-proportion z-test's two-sided p-value; None without units in both or when no unit, or every
    unit, converted (the pooled variance is 0 and the test says nothing)."""
    from statsmodels.stats.proportion import proportions_ztest  # type: ignore[import-untyped]

    total_units, total_conversions = units + control_units, conversions + control_conversions
    if not units or not control_units or total_conversions in (0, total_units):
        return None
    _, p_value = proportions_ztest([conversions, control_conversions], [units, control_units])
    return float(p_value)


def compare(*, control_units: int, control_conversions: int, units: int, conversions: int) -> Comparison:
    from statsmodels.stats.proportion import confint_proportions_2indep

    if not units or not control_units:
        return Comparison.empty()
    rate_t, rate_c = conversions / units, control_conversions / control_units
    low, high = confint_proportions_2indep(
        conversions, units, control_conversions, control_units, method="wald", compare="diff", alpha=ALPHA
    )
    p_value = fixed_p_value(
        control_units=control_units, control_conversions=control_conversions, units=units, conversions=conversions
    )
    return Comparison(
        lift=rate_t - rate_c,
        lift_ci_low=float(low),
        lift_ci_high=float(high),
        relative_lift=(rate_t - rate_c) / rate_c if rate_c else None,
        p_value=p_value,
    )


def srm_p_value(units: Sequence[int], weights: Sequence[int]) -> float | None:
    """The chi-square goodness-of-fit p-value of the units per variant against the weights (summing to 100)."""
    from scipy.stats import chisquare  # type: ignore[import-untyped]

    total = sum(units)
    if not total:
        return None
    expected = [total * weight / 100 for weight in weights]
    return float(chisquare(list(units), f_exp=expected).pvalue)


def _floats(*counts: ArrayLike) -> list[NDArray[np.float64]]:
    return [np.asarray(count, dtype=np.float64) for count in counts]


def log_mixture_likelihood_ratios(
    control_units: ArrayLike,
    control_conversions: ArrayLike,
    units: ArrayLike,
    conversions: ArrayLike,
    mixing_sd: float = MIXING_SD,
) -> NDArray[np.float64]:
    """log Λ at each look (element-wise over arrays of cumulative counts); 0 where a look carries no evidence."""
    n_c, x_c, n_t, x_t = _floats(control_units, control_conversions, units, conversions)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (x_c + x_t) / (n_c + n_t)
        inverse_n = 1 / n_t + 1 / n_c
        variance = pooled * (1 - pooled) * inverse_n
        z_squared = (x_t / n_t - x_c / n_c) ** 2 / variance
        ratio = mixing_sd**2 / inverse_n  # τ² / V
        log_lr = 0.5 * (z_squared * ratio / (1 + ratio) - np.log1p(ratio))
    usable = (n_c > 0) & (n_t > 0) & (variance > 0)
    return np.where(usable, log_lr, 0.0)


def sequential_p_values(
    control_units: ArrayLike,
    control_conversions: ArrayLike,
    units: ArrayLike,
    conversions: ArrayLike,
    mixing_sd: float = MIXING_SD,
) -> NDArray[np.float64]:
    """The always-valid p-value after each look: cumulative counts with the looks on the last axis."""
    log_lr = log_mixture_likelihood_ratios(control_units, control_conversions, units, conversions, mixing_sd)
    strongest = np.maximum.accumulate(np.maximum(log_lr, 0.0), axis=-1)
    result: NDArray[np.float64] = np.exp(-strongest)
    return result


def sequential_p_value(
    control_units: ArrayLike, control_conversions: ArrayLike, units: ArrayLike, conversions: ArrayLike
) -> float | None:
    """The always-valid p-value after the last of these looks (cumulative counts, oldest first); None when no
    look could be tested, as for the fixed p-value."""
    n_c, x_c, n_t, x_t = _floats(control_units, control_conversions, units, conversions)
    pooled_total = x_c + x_t
    testable = (n_c > 0) & (n_t > 0) & (pooled_total > 0) & (pooled_total < n_c + n_t)
    if not testable.any():
        return None
    return float(sequential_p_values(n_c, x_c, n_t, x_t)[-1])
