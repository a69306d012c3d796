import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.analytics import formatting, selectors
from apps.analytics.api.serializers import ResultsOut

COLUMNS = (
    ("variant", "key"), ("weight", "weight"), ("units", "units"), ("converted", "conversions"), ("rate", "rate"),
    ("lift", "lift"), ("95% CI of lift", "lift_ci"), ("relative", "relative_lift"), ("p (fixed)", "p_value"),
    ("p (sequential)", "sequential_p_value"), ("verdict", "verdict"),
)  # fmt: skip


def _table(metric: selectors.MetricResult) -> list[str]:
    rows = [[getattr(row, name) for _, name in COLUMNS] for row in formatting.table(metric).rows]
    widths = [max(len(title), *(len(row[i]) for row in rows)) for i, (title, _) in enumerate(COLUMNS)]

    def line(cells: list[str]) -> str:
        first, *rest = (cell.ljust(w) if i in (0, len(COLUMNS) - 1) else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(cells, widths, strict=True)))  # fmt: skip
        return "  ".join([first, *rest]).rstrip()

    return [line([title for title, _ in COLUMNS]), *(line(row) for row in rows)]


class Command(BaseCommand):
    help = "Prints an experiment's results: per variant, units, conversions, rate, lift and p-values, and SRM."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key", help="the experiment's key")
        parser.add_argument("--json", action="store_true", help="the JSON of GET /api/v1/experiments/{key}/results")

    def handle(self, *args: Any, **options: Any) -> None:
        experiment = selectors.experiment_by_key(key=options["key"])
        if experiment is None:
            raise CommandError(f"No experiment with the key {options['key']!r}.")
        results = selectors.experiment_results(experiment=experiment)
        if options["json"]:
            self.stdout.write(json.dumps(ResultsOut(selectors.results_data(results)).data, indent=2))
            return
        since = f"since {experiment.started_at:%Y-%m-%d %H:%M} UTC" if experiment.started_at else "never started"
        lines = [
            f"Experiment {experiment.key}: {experiment.status}, {since}; "
            f"{results.units:,} units over {results.looks} day(s) with data",
            "",
            f"Primary metric: {results.primary.event}",
            *_table(results.primary),
        ]
        for guardrail in results.guardrails:
            lines += ["", f"Guardrail: {guardrail.event}", *_table(guardrail)]
        srm = "MISMATCH: the split is broken, trust no figure" if results.srm_flag else "ok"
        lines += ["", f"Sample ratio: p = {formatting.p_value(results.srm_p_value)} ({srm})"]
        self.stdout.write("\n".join(lines))
