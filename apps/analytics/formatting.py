"""Figures of the results in words, for the staff page and `manage.py experiment_report`."""

from dataclasses import dataclass

from apps.analytics.cuped import CupedLift
from apps.analytics.models import CONTROL
from apps.analytics.selectors import MetricResult, VariantResult

SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class VariantRow:
    key: str
    weight: str
    units: str
    conversions: str
    rate: str
    lift: str
    lift_ci: str
    relative_lift: str
    p_value: str
    sequential_p_value: str
    verdict: str


def _percent(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value * 100:+.2f} pp" if signed else f"{value * 100:.2f}%"


def p_value(value: float | None) -> str:
    if value is None:
        return "—"
    return "< 0.0001" if value < 0.0001 else f"{value:.4f}"


def _verdict(variant: VariantResult) -> str:
    if variant.key == CONTROL:
        return "Baseline"
    if variant.sequential_p_value is None or variant.lift is None:
        return "No data yet"
    if variant.sequential_p_value < SIGNIFICANCE:
        # Higher or lower, not better or worse: for a guardrail such as dismiss, higher is the bad direction.
        return "Higher than control" if variant.lift > 0 else "Lower than control"
    return "No difference shown yet"


def row(variant: VariantResult) -> VariantRow:
    if variant.lift_ci_low is None or variant.lift_ci_high is None:
        lift_ci = "—"
    else:
        lift_ci = f"{_percent(variant.lift_ci_low, signed=True)} to {_percent(variant.lift_ci_high, signed=True)}"
    relative = "—" if variant.relative_lift is None else f"{variant.relative_lift * 100:+.1f}%"
    return VariantRow(
        key=variant.key,
        weight=f"{variant.weight}%",
        units=f"{variant.units:,}",
        conversions=f"{variant.conversions:,}",
        rate=_percent(variant.rate),
        lift=_percent(variant.lift, signed=True),
        lift_ci=lift_ci,
        relative_lift=relative,
        p_value=p_value(variant.p_value),
        sequential_p_value=p_value(variant.sequential_p_value),
        verdict=_verdict(variant),
    )


@dataclass(frozen=True)
class Table:
    event: str
    rows: list[VariantRow]


def table(metric: MetricResult) -> Table:
    return Table(event=metric.event, rows=[row(variant) for variant in metric.variants])


def cuped_lines(lifts: dict[str, CupedLift | None]) -> list[str]:
    """One sentence per treatment variant that CUPED adjusted, for the results page."""
    lines = []
    for key, adjusted in lifts.items():
        if adjusted is None:
            continue

        def pp(value: float) -> str:
            return _percent(value, signed=True)

        lines.append(
            f"{key}: CUPED lift {pp(adjusted.lift)} (95% CI {pp(adjusted.ci_low)} to {pp(adjusted.ci_high)}), "
            f"unadjusted {pp(adjusted.unadjusted_lift)} "
            f"({pp(adjusted.unadjusted_ci_low)} to {pp(adjusted.unadjusted_ci_high)}); "
            f"variance reduced by {adjusted.variance_reduction * 100:.0f}% "
            f"({adjusted.units_with_pre_period} units active before the start)."
        )
    return lines
