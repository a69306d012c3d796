"""The orienteering solver behind "plan my weekend": a pure Python package (no Django), so that the benchmark
command, the tests and the planner share it. See apps/itineraries/solver/search.py for the algorithm."""

from apps.itineraries.solver.check import check, schedule
from apps.itineraries.solver.model import Instance, Node, Solution, Stop, TourSchedule, TourSpec
from apps.itineraries.solver.parse import FormatError, parse_kuleuven
from apps.itineraries.solver.search import greedy, solve

__all__ = [
    "FormatError",
    "Instance",
    "Node",
    "Solution",
    "Stop",
    "TourSchedule",
    "TourSpec",
    "check",
    "greedy",
    "parse_kuleuven",
    "schedule",
    "solve",
]
