"""Charts of the staff dashboard as server-rendered SVG: the geometry is computed here, in user units of a fixed
viewBox, and templates/analytics/_chart.html draws it. Pure functions of dates and numbers (no ORM, no request), so
the page needs no JavaScript and the Content-Security-Policy stays whole.

A line chart places each point by its date on a time axis from the range's first day to its last, so a day that was
never rolled up leaves a gap in the line rather than squeezing it; a bar chart gives each day (or week) its own
band. The y axis starts at zero and ends at a round number above the largest value."""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

WIDTH = 360.0
HEIGHT = 200.0
# The plot inside the viewBox: room on the left for the y labels and at the bottom for the dates.
LEFT, RIGHT, TOP, BOTTOM = 44.0, 22.0, 12.0, 28.0
NO_DATA = "No data for these dates"
X_TICKS = 4  # dates labelled on the x axis at most
Y_TICKS = 4  # steps of the y axis, about

# The funnel's drawing: one row a step.
FUNNEL_ROW = 46.0
FUNNEL_BAR = 16.0


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[date, float | None]]  # (day, value), oldest first; None where nothing was measured


@dataclass(frozen=True)
class Tick:
    at: float  # x or y in user units
    label: str


@dataclass(frozen=True)
class Line:
    name: str
    segments: list[str]  # polyline `points` attributes, one per run of measured days ("x,y x,y ...")
    dots: list[tuple[float, float]]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # the day and its value, for the bar's <title>


@dataclass(frozen=True)
class Chart:
    left: float
    top: float
    right: float
    bottom: float
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    lines: list[Line] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    note: str = ""  # NO_DATA when there is nothing to draw
    width: float = WIDTH
    height: float = HEIGHT

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width:g} {self.height:g}"

    @property
    def middle(self) -> tuple[float, float]:
        return _r((self.left + self.right) / 2), _r((self.top + self.bottom) / 2)

    @property
    def y_label_x(self) -> float:
        return self.left - 6

    @property
    def x_label_y(self) -> float:
        return self.bottom + 18


def _r(value: float) -> float:
    return round(value, 1)


def nice_step(largest: float, steps: int = Y_TICKS) -> float:
    """A round step (1, 2 or 5 times a power of ten) that covers `largest` in about `steps` steps."""
    if largest <= 0 or not math.isfinite(largest):
        return 1.0
    raw = largest / steps
    power = 10.0 ** math.floor(math.log10(raw))
    for multiple in (1.0, 2.0, 5.0):
        if raw <= multiple * power:
            return multiple * power
    return 10.0 * power


def format_value(value: float | None, unit: str = "") -> str:
    """A figure as people read it: 12, 1,234, 12.5k; ratios as 42.5%; milliseconds as 2,480 ms."""
    if value is None:
        return "—"
    if unit == "ratio":
        percent = value * 100
        return f"{percent:.0f}%" if percent == round(percent) else f"{percent:.1f}%"
    if unit == "ms":
        return f"{value:,.0f} ms"
    if abs(value) >= 10_000:
        return f"{value / 1000:,.1f}k".replace(".0k", "k")
    if value == round(value):
        return f"{value:,.0f}"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"


def short_date(day: date) -> str:
    return f"{day.day} {day:%b}"


def long_date(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def _y_axis(values: list[float], unit: str, top: float, bottom: float) -> tuple[float, list[Tick]]:
    """The axis' top (a whole number of round steps at or above the largest value) and its labelled ticks. A count
    is never split below one."""
    largest = max([0.0, *values])
    step = nice_step(largest)
    if not unit:
        step = max(step, 1.0)
    count = max(math.ceil(round(largest / step, 9)), 1)
    ceiling = step * count
    ticks = [
        Tick(_r(bottom - (bottom - top) * n / count), format_value(round(step * n, 9), unit)) for n in range(count + 1)
    ]
    return ceiling, ticks


def _spread(days: Sequence[date], count: int = X_TICKS) -> list[date]:
    """Up to `count` of `days` (sorted), evenly spread, the first and the last among them."""
    if len(days) <= count:
        return list(days)
    return list(dict.fromkeys(days[round(n * (len(days) - 1) / (count - 1))] for n in range(count)))


def _empty(x_ticks: list[Tick]) -> Chart:
    bottom = HEIGHT - BOTTOM
    return Chart(LEFT, TOP, WIDTH - RIGHT, bottom, x_ticks, [Tick(bottom, "0")], note=NO_DATA)


def line_chart(series: Sequence[Series], *, start: date, end: date, unit: str = "") -> Chart:
    """One polyline a series over the days from `start` to `end`; a None value breaks its line."""
    dates = [day for one in series for day, _ in one.points]
    first, last = min([start, *dates]), max([end, *dates])
    left, right, top, bottom = LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM
    span = max((last - first).days, 1)

    def x(day: date) -> float:
        return _r(left + (right - left) * (day - first).days / span)

    every_day = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    x_ticks = [Tick(x(day), short_date(day)) for day in _spread(every_day)]
    measured = [value for one in series for _, value in one.points if value is not None]
    if not measured:
        return _empty(x_ticks)
    ceiling, y_ticks = _y_axis(measured, unit, top, bottom)

    def y(value: float) -> float:
        return _r(bottom - (bottom - top) * value / ceiling)

    lines = []
    for one in series:
        runs: list[list[tuple[float, float]]] = [[]]
        for day, value in one.points:
            if value is None:
                runs.append([])
            else:
                runs[-1].append((x(day), y(value)))
        segments = [" ".join(f"{px:g},{py:g}" for px, py in run) for run in runs if run]
        lines.append(Line(one.name, segments, [point for run in runs for point in run]))
    return Chart(left, top, right, bottom, x_ticks, y_ticks, lines=lines)


def bar_chart(series: Series, *, start: date, end: date, unit: str = "", step_days: int = 1) -> Chart:
    """A bar a day (or a week, `step_days=7`) from `start` to `end`, each in its own band of the axis."""
    dates = [day for day, _ in series.points]
    first, last = min([start, *dates]), max([end, *dates])
    slots = [first + timedelta(days=n * step_days) for n in range((last - first).days // step_days + 1)]
    left, right, top, bottom = LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM
    band = (right - left) / len(slots)

    def centre(day: date) -> float:
        return left + band * ((day - first).days // step_days + 0.5)

    x_ticks = [Tick(_r(centre(day)), short_date(day)) for day in _spread(slots)]
    measured = [value for _, value in series.points if value is not None]
    if not any(measured):
        return _empty(x_ticks)
    ceiling, y_ticks = _y_axis(measured, unit, top, bottom)
    width = max(band * 0.7, 1.0)
    bars = []
    for day, value in series.points:
        if value is None:
            continue
        height = (bottom - top) * value / ceiling
        label = f"{short_date(day)}: {format_value(value, unit)}"
        bars.append(Bar(_r(centre(day) - width / 2), _r(bottom - height), _r(width), _r(height), label))
    return Chart(left, top, right, bottom, x_ticks, y_ticks, bars=bars)


@dataclass(frozen=True)
class FunnelRow:
    label: str
    figure: str  # "1,234 · 45.5% of the step before"
    y: float  # the top of the row's label line
    bar_y: float
    bar_width: float


@dataclass(frozen=True)
class FunnelChart:
    rows: list[FunnelRow]
    width: float
    height: float
    bar_height: float = FUNNEL_BAR
    note: str = ""

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width:g} {self.height:g}"

    @property
    def summary(self) -> str:
        return "; ".join(f"{row.label}: {row.figure}" for row in self.rows)


def funnel_chart(steps: Sequence[tuple[str, int, float | None]]) -> FunnelChart:
    """Horizontal bars, one a step (label, people, conversion from the step before), scaled to the first step's
    people (the largest: each step counts people who did every step before it)."""
    largest = max((people for _, people, _ in steps), default=0)
    rows = []
    for index, (label, people, conversion) in enumerate(steps):
        figure = f"{people:,}"
        if conversion is not None:
            figure += f" · {format_value(conversion, 'ratio')} of the step before"
        width = WIDTH * people / largest if largest else 0.0
        y = index * FUNNEL_ROW
        rows.append(FunnelRow(label, figure, _r(y + 14), _r(y + 22), _r(max(width, 2.0) if people else 0.0)))
    height = max(len(steps), 1) * FUNNEL_ROW
    return FunnelChart(rows, WIDTH, height, note="" if largest else NO_DATA)


HEAT_LEVELS = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5)  # a share at or above the n-th is level n + 1


def heat_level(share: float | None) -> int:
    """The shade of a retention cell, 0 (nobody came back) to 6 (half or more did); -1 for not measured yet."""
    if share is None:
        return -1
    if share <= 0:
        return 0
    return sum(1 for level in HEAT_LEVELS if share >= level)
