"""`manage.py solve_optw FILE`: solves an orienteering benchmark instance (KU Leuven text format) with the planner's
solver and prints the score, the tours and the time; with --json the last line is machine-readable. Needs no
database content."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.itineraries import solver


class Command(BaseCommand):
    help = "Solve an OPTW/TOPTW benchmark instance (KU Leuven format) and print its score and tours."
    requires_system_checks: list[str] = []  # a benchmark run needs neither the database nor the checks

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="an instance in the KU Leuven (T)OPTW text format")
        parser.add_argument("--tours", type=int, default=1, help="number of tours (days); default 1")
        parser.add_argument("--decimals", type=int, default=1, help="travel times truncated to N decimals; default 1")
        parser.add_argument("--time-limit", type=float, default=10.0, help="seconds of search; default 10")
        parser.add_argument("--seed", type=int, default=0, help="the search's seed; default 0")
        parser.add_argument("--json", action="store_true", help="end with one line of JSON: score, tours, seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["tours"] < 1:
            raise CommandError("--tours must be at least 1.")
        if not 0 <= options["decimals"] <= 6:
            raise CommandError("--decimals must be from 0 to 6.")
        if options["time_limit"] <= 0:
            raise CommandError("--time-limit must be positive.")
        path: Path = options["file"]
        try:
            text = path.read_text()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from None
        try:
            instance = solver.parse_kuleuven(text, decimals=options["decimals"], tours=options["tours"])
        except solver.FormatError as exc:
            raise CommandError(f"{path} is not a KU Leuven instance: {exc}") from None
        found = solver.solve(instance, time_limit=options["time_limit"], seed=options["seed"])
        problems = solver.check(instance, found)
        if problems:  # never expected: the search only keeps feasible solutions
            raise CommandError(f"The solution is infeasible: {'; '.join(problems)}")
        score = int(found.score) if float(found.score).is_integer() else found.score
        if options["json"]:
            tours = [list(tour) for tour in found.tours]
            self.stdout.write(json.dumps({"score": score, "tours": tours, "seconds": round(found.seconds, 3)}))
            return
        self.stdout.write(f"{path.name}: score {score} with {options['tours']} tour(s), feasible, "
                          f"{found.iterations} iterations in {found.seconds:.2f} s")  # fmt: skip
        for number, tour in enumerate(found.tours, start=1):
            self.stdout.write(f"  tour {number}: {' '.join(str(node_id) for node_id in tour) or '(empty)'}")
