import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.recommendations import evaluation


class Command(BaseCommand):
    help = (
        "Evaluates every registered ranker (learned with a model trained on the train side alone) and a random "
        "baseline on the newest --holdout-days of tracked clicks, saves and plans: nDCG, precision, recall and MAP "
        "at 10, catalogue coverage and the share of lists with 3 categories (docs/recommendations.md, 'Offline "
        "evaluation'). With --json the last line is the figures as JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--holdout-days", type=float, default=7.0)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["holdout_days"] <= 0:
            raise CommandError("--holdout-days takes a positive number of days.")
        found = evaluation.evaluate(holdout_days=options["holdout_days"], seed=options["seed"])
        split = found.split.isoformat() if found.split else "none"
        self.stdout.write(f"Hold-out from {split}: {found.people} people, {found.candidates} candidate events.")
        for name, why in sorted(found.skipped.items()):
            self.stdout.write(f"Skipped {name}: {why}.")
        if options["json"]:
            self.stdout.write(json.dumps(found.as_json(), separators=(",", ":")))
            return
        for line in evaluation.table(found):
            self.stdout.write(line)
