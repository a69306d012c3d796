import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.recommendations import simulation


class Command(BaseCommand):
    help = (
        "Creates N simulated people (sim-<seed>-<i>@example.test, no usable password) with hidden tastes, and plays "
        "their sessions before each of the catalogue's first W weekends (on or after --start) through the real "
        "services: served lists (impressions), clicks, saves and plans, each at its simulated moment. Deterministic "
        "for a seed (docs/recommendations.md, 'Simulation'). With --json the last line is the summary."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--people", type=int, required=True)
        parser.add_argument("--seed", type=int, required=True)
        parser.add_argument("--weekends", type=int, default=2)
        parser.add_argument("--start", type=date.fromisoformat, default=None, help="YYYY-MM-DD")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["people"] < 1 or options["weekends"] < 1:
            raise CommandError("--people and --weekends take 1 or more.")
        try:
            result = simulation.simulate(
                people=options["people"], seed=options["seed"], weekends=options["weekends"], start=options["start"]
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        summary = result.summary()
        if options["json"]:
            self.stdout.write(json.dumps(summary, separators=(",", ":")))
            return
        self.stdout.write(
            f"{summary['people']} people over the weekends of {', '.join(summary['weekends'])}: "
            f"{summary['impressions']} impressions, {summary['clicks']} clicks, {summary['saves']} saves, "
            f"{summary['plans']} plans."
        )
