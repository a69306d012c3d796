import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.recommendations.training import train


class Command(BaseCommand):
    help = (
        "Trains a recommendation model on every tracked interaction, evaluates it on the newest --holdout-days "
        "against the serving model and promotes it when the quality gate passes (as the nightly task does, "
        "without its lock). With --json the output is one JSON object."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--holdout-days", type=float, default=7.0)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["holdout_days"] <= 0:
            raise CommandError("--holdout-days must be positive.")
        row = train(now=timezone.now(), holdout_days=options["holdout_days"], seed=options["seed"])
        summary = {
            "version": row.version,
            "status": row.status,
            "metrics": row.metrics,
            "baseline_metrics": row.baseline_metrics,
            "interactions": row.interactions,
            "people": row.people,
            "seconds": row.seconds,
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary, sort_keys=True))
            return
        self.stdout.write(f"Model {row.version}: {row.status}{' (serving)' if row.is_current else ''}")
        self.stdout.write(f"  trained on {row.interactions} interactions of {row.people} people in {row.seconds:.1f} s")
        for label, values in (("new", row.metrics), ("serving", row.baseline_metrics)):
            if values:
                shown = ", ".join(f"{name} {value:.4f}" for name, value in sorted(values.items()) if name != "people")
                self.stdout.write(f"  {label}: {shown} ({int(values.get('people', 0))} people)")
        if row.note:
            self.stdout.write(f"  {row.note}")
