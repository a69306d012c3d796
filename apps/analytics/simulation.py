"""Simulated experiments at the level of counts, for the tests and the benchmark (docs/experiments.md quotes them).

Each simulated experiment gets `units_per_day` new units a day, split between control and treatment by a fair
coin, each converting with its arm's rate; the counts are cumulative at the end of each day, as the results'
looks are. A numpy Generator with a given seed makes every run the same.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from apps.analytics import statistics


@dataclass(frozen=True)
class DailyCounts:
    """Cumulative counts, shape (experiments, days)."""

    control_units: NDArray[np.int64]
    control_conversions: NDArray[np.int64]
    units: NDArray[np.int64]
    conversions: NDArray[np.int64]


def simulate(
    rng: np.random.Generator,
    *,
    experiments: int,
    days: int,
    units_per_day: int,
    control_rate: float,
    treatment_rate: float,
) -> DailyCounts:
    shape = (experiments, days)
    treated = rng.binomial(units_per_day, 0.5, size=shape)
    control = units_per_day - treated
    return DailyCounts(
        control_units=np.cumsum(control, axis=1),
        control_conversions=np.cumsum(rng.binomial(control, control_rate), axis=1),
        units=np.cumsum(treated, axis=1),
        conversions=np.cumsum(rng.binomial(treated, treatment_rate), axis=1),
    )


def fixed_p_values(counts: DailyCounts) -> NDArray[np.float64]:
    """The fixed-horizon p-value (statistics.fixed_p_value, as the results give it) at every look; 1 where the
    test cannot be made."""
    p_values = np.ones(counts.units.shape)
    for index in np.ndindex(counts.units.shape):
        p_value = statistics.fixed_p_value(
            control_units=int(counts.control_units[index]),
            control_conversions=int(counts.control_conversions[index]),
            units=int(counts.units[index]),
            conversions=int(counts.conversions[index]),
        )
        p_values[index] = 1.0 if p_value is None else p_value
    return p_values


def sequential_p_values(counts: DailyCounts) -> NDArray[np.float64]:
    return statistics.sequential_p_values(
        counts.control_units, counts.control_conversions, counts.units, counts.conversions
    )


@dataclass(frozen=True)
class FalsePositiveRates:
    """Shares of A/A experiments (no true difference) declared different at ALPHA."""

    experiments: int
    days: int
    fixed_once: float  # the fixed test read once, on the last day
    fixed_daily: float  # the fixed test read every day, stopping at the first p < ALPHA
    sequential_daily: float  # the sequential p-value read every day, the same way


def aa_false_positive_rates(
    seed: int, *, experiments: int = 200, days: int = 28, units_per_day: int = 400, rate: float = 0.1
) -> FalsePositiveRates:
    rng = np.random.default_rng(seed)
    counts = simulate(
        rng, experiments=experiments, days=days, units_per_day=units_per_day, control_rate=rate, treatment_rate=rate
    )
    fixed = fixed_p_values(counts)
    sequential = sequential_p_values(counts)
    alpha = statistics.ALPHA
    return FalsePositiveRates(
        experiments=experiments,
        days=days,
        fixed_once=float(np.mean(fixed[:, -1] < alpha)),
        fixed_daily=float(np.mean((fixed < alpha).any(axis=1))),
        sequential_daily=float(np.mean((sequential < alpha).any(axis=1))),
    )
