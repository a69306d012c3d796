"""CUPED (Deng, Xu, Kohavi and Walker, 2013): a treatment's lift with the variance that units' pre-experiment
behaviour explains taken out. Pure arithmetic on per-variant sums, so the database returns six numbers per variant
and never a row per unit.

For a unit, y is the outcome (converted or not) and x its pre-period covariate (how many times it did the primary
metric's event in the PRE_PERIOD before the experiment started: the experiment cannot have changed it). With
theta = cov(x, y) / var(x), pooled over the two variants compared, the adjusted outcome y - theta (x - mean x) has
the same expected difference between variants and a variance smaller by the share rho^2 that x explains, so the
interval narrows by sqrt(1 - rho^2) (docs/experiments.md, "CUPED").
"""

import math
from dataclasses import dataclass
from datetime import timedelta
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike

PRE_PERIOD = timedelta(days=14)
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Moments:
    """Sums over one variant's units: count, Σx, Σy, Σx², Σy², Σxy, and how many units had any pre-period activity."""

    n: float
    sx: float
    sy: float
    sxx: float
    syy: float
    sxy: float
    active_before: int = 0

    @classmethod
    def of(cls, x: ArrayLike, y: ArrayLike) -> "Moments":
        xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        return cls(
            float(xs.size), xs.sum(), ys.sum(), (xs * xs).sum(), (ys * ys).sum(), (xs * ys).sum(), int((xs > 0).sum())
        )

    def __add__(self, other: "Moments") -> "Moments":
        return Moments(
            self.n + other.n,
            self.sx + other.sx,
            self.sy + other.sy,
            self.sxx + other.sxx,
            self.syy + other.syy,
            self.sxy + other.sxy,
            self.active_before + other.active_before,
        )

    def mean_x(self) -> float:
        return self.sx / self.n

    def mean_y(self) -> float:
        return self.sy / self.n

    def var_x(self) -> float:
        return (self.sxx - self.sx * self.sx / self.n) / (self.n - 1)

    def var_y(self) -> float:
        return (self.syy - self.sy * self.sy / self.n) / (self.n - 1)

    def cov(self) -> float:
        return (self.sxy - self.sx * self.sy / self.n) / (self.n - 1)


@dataclass(frozen=True)
class CupedLift:
    """Treatment minus control, in the outcome's units (a difference of conversion rates), with its interval."""

    lift: float
    ci_low: float
    ci_high: float
    unadjusted_lift: float
    unadjusted_ci_low: float
    unadjusted_ci_high: float
    theta: float
    variance_reduction: float  # 1 - var(adjusted) / var(unadjusted), pooled: about rho^2
    units_with_pre_period: int


def lift(control: Moments, treatment: Moments, *, confidence: float = CONFIDENCE) -> CupedLift | None:
    """The adjusted and unadjusted lifts; None when there is nothing to adjust with (fewer than two units on a side,
    no unit active before, or a covariate that does not vary)."""
    if control.n < 2 or treatment.n < 2:
        return None
    pooled = control + treatment
    var_x = pooled.var_x()
    if pooled.active_before == 0 or var_x <= 0:
        return None
    theta = pooled.cov() / var_x
    mean_x = pooled.mean_x()

    def adjusted(side: Moments) -> tuple[float, float]:
        mean = side.mean_y() - theta * (side.mean_x() - mean_x)
        variance = side.var_y() + theta * theta * side.var_x() - 2 * theta * side.cov()
        return mean, max(variance, 0.0)

    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    (adjusted_control, var_c), (adjusted_treatment, var_t) = adjusted(control), adjusted(treatment)
    difference = adjusted_treatment - adjusted_control
    half = z * math.sqrt(var_t / treatment.n + var_c / control.n)
    raw = treatment.mean_y() - control.mean_y()
    raw_half = z * math.sqrt(treatment.var_y() / treatment.n + control.var_y() / control.n)
    var_y = pooled.var_y()
    residual = var_y + theta * theta * var_x - 2 * theta * pooled.cov()
    return CupedLift(
        lift=difference,
        ci_low=difference - half,
        ci_high=difference + half,
        unadjusted_lift=raw,
        unadjusted_ci_low=raw - raw_half,
        unadjusted_ci_high=raw + raw_half,
        theta=theta,
        variance_reduction=1 - residual / var_y if var_y > 0 else 0.0,
        units_with_pre_period=pooled.active_before,
    )
