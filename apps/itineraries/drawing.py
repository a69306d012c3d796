"""A plain drawing of a day's route: the start point and the stops placed by their coordinates in a small box,
joined in visit order. What the page shows with no map tiles configured (and in tests)."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, MARGIN = 320, 200, 18


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str  # "1", "2", ... or "Start"


@dataclass(frozen=True)
class Route:
    width: int
    height: int
    points: list[Point]  # the start point first, then the stops in order
    path: str  # SVG path data: start → stops → start

    @property
    def stops(self) -> list[Point]:
        return self.points[1:]


def route(origin: Sequence[float], stops: Sequence[tuple[float | None, float | None]]) -> Route:
    """Equirectangular projection around the places' mean latitude (true enough within a city), scaled to fit."""
    places = [(float(origin[0]), float(origin[1]))] + [
        (lat, lon) for lat, lon in stops if lat is not None and lon is not None
    ]
    mean_lat = math.radians(sum(lat for lat, _ in places) / len(places))
    xs = [lon * math.cos(mean_lat) for _, lon in places]
    ys = [-lat for lat, _ in places]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-6)
    scale = min((WIDTH - 2 * MARGIN), (HEIGHT - 2 * MARGIN)) / span
    left = (WIDTH - (max(xs) - min(xs)) * scale) / 2
    top = (HEIGHT - (max(ys) - min(ys)) * scale) / 2
    points = [
        Point(
            round(left + (x - min(xs)) * scale, 1), round(top + (y - min(ys)) * scale, 1), "Start" if i == 0 else str(i)
        )
        for i, (x, y) in enumerate(zip(xs, ys, strict=True))
    ]
    ordered = [*points, points[0]] if len(points) > 1 else points
    path = " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(ordered))
    return Route(WIDTH, HEIGHT, points, path)
