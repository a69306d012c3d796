"""manage.py experiment_report KEY [--json]: the results as a table, or as the API's JSON."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.analytics import selectors
from apps.analytics.api.serializers import ResultsOut
from apps.analytics.tests.factories import convert, expose, make_experiment

pytestmark = pytest.mark.django_db


def report(*args: str) -> str:
    out = StringIO()
    call_command("experiment_report", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def experiment():
    experiment = make_experiment("homepage", status="running", guardrails=["dismiss"])
    variants = expose(experiment, [f"u{n}" for n in range(1000)])
    convert([unit for unit, variant in variants.items() if int(unit[1:]) % (5 if variant == "control" else 3) == 0])
    return experiment


def test_the_text_report_shows_every_variant_and_the_sample_ratio(experiment):
    text = report("homepage")
    results = selectors.experiment_results(experiment=experiment)
    control, treatment = results.primary.variants
    assert "Experiment homepage: running" in text
    assert "1,000 units" in text
    assert "Primary metric: save" in text
    assert "Guardrail: dismiss" in text
    header, control_line, treatment_line = text.split("Primary metric: save\n")[1].splitlines()[:3]
    assert header.split()[:3] == ["variant", "weight", "units"]
    assert control_line.split()[:4] == ["control", "50%", f"{control.units:,}", f"{control.conversions:,}"]
    assert control_line.rstrip().endswith("Baseline")
    assert treatment_line.split()[:4] == ["treatment", "50%", f"{treatment.units:,}", f"{treatment.conversions:,}"]
    assert f"{treatment.rate * 100:.2f}%" in treatment_line
    assert "Sample ratio: p = " in text
    assert "(ok)" in text


def test_the_json_report_is_the_apis_results(experiment):
    data = json.loads(report("homepage", "--json"))
    expected = ResultsOut(selectors.results_data(selectors.experiment_results(experiment=experiment))).data
    assert data == json.loads(json.dumps(expected))
    assert [v["key"] for v in data["variants"]] == ["control", "treatment"]
    assert data["variants"][1]["p_value"] is not None
    assert data["srm_flag"] is False


def test_an_unknown_key_is_an_error():
    with pytest.raises(CommandError, match="No experiment with the key 'nope'"):
        report("nope")


def test_a_draft_reports_no_figures():
    make_experiment("later")
    text = report("later")
    assert "draft, never started; 0 units" in text
    assert "Sample ratio: p = — (ok)" in text
