"""The experiments API end to end on PostgreSQL, with real JWTs: staff only, every error naming its field."""

import numpy as np
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from apps.analytics import services
from apps.analytics.models import Experiment, Exposure
from apps.analytics.tests.factories import make_experiment, staff_user

pytestmark = pytest.mark.django_db

BASE = "/api/v1/experiments"
DESIGN = {
    "key": "ranker-v2",
    "description": "Does the new ranker get more saves?",
    "variants": [{"key": "control", "weight": 50}, {"key": "treatment", "weight": 50}],
    "primary_metric": {"event": "save"},
    "guardrails": [{"event": "dismiss"}],
}
ENDPOINTS = [
    ("post", BASE),
    ("post", f"{BASE}/ranker-v2/start"),
    ("post", f"{BASE}/ranker-v2/stop"),
    ("get", f"{BASE}/ranker-v2/assignment?unit_id=user-1"),
    ("get", f"{BASE}/ranker-v2/results"),
]


@pytest.fixture
def staff(client_for):
    return client_for(staff_user())


def assert_error(response, status, field=None):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    if field is not None:
        assert field in error["fields"], error


def test_the_experiment_lifecycle_end_to_end(staff):
    created = staff.post(BASE, DESIGN)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft"
    assert body["started_at"] is None
    assert body["variants"] == DESIGN["variants"]
    assert body["guardrails"] == [{"event": "dismiss"}]
    assert "salt" not in body
    assert staff.get(f"{BASE}/ranker-v2/assignment", {"unit_id": "user-1"}).json() == {"variant": None}
    assert_error(staff.post(f"{BASE}/ranker-v2/stop"), 409, "status")

    started = staff.post(f"{BASE}/ranker-v2/start")
    assert started.status_code == 200
    assert started.json()["status"] == "running"
    assert started.json()["started_at"]
    assert_error(staff.post(f"{BASE}/ranker-v2/start"), 409, "status")

    assigned = {unit: staff.get(f"{BASE}/ranker-v2/assignment", {"unit_id": unit}).json()["variant"]
                for unit in ("user-1", "user-2", "anon-3")}  # fmt: skip
    assert set(assigned.values()) <= {"control", "treatment"}
    assert staff.get(f"{BASE}/ranker-v2/assignment", {"unit_id": "user-1"}).json()["variant"] == assigned["user-1"]
    assert Exposure.objects.count() == 3
    services.conversion_record(unit_id="user-1", event_type="save")

    results = staff.get(f"{BASE}/ranker-v2/results")
    assert results.status_code == 200
    data = results.json()
    assert data["units"] == 3
    assert data["primary_metric"] == {"event": "save"}
    by_key = {v["key"]: v for v in data["variants"]}
    assert sum(v["units"] for v in data["variants"]) == 3
    assert by_key[assigned["user-1"]]["conversions"] == 1
    assert set(by_key["treatment"]) == {
        "key", "weight", "units", "conversions", "rate", "lift", "lift_ci_low", "lift_ci_high", "relative_lift",
        "p_value", "sequential_p_value",
    }  # fmt: skip
    assert {"srm_p_value", "srm_flag", "guardrails", "looks"} <= set(data)
    assert data["guardrails"][0]["event"] == "dismiss"

    stopped = staff.post(f"{BASE}/ranker-v2/stop")
    assert stopped.status_code == 200
    assert stopped.json()["status"] == "stopped"
    assert stopped.json()["stopped_at"]
    assert staff.get(f"{BASE}/ranker-v2/assignment", {"unit_id": "user-9"}).json() == {"variant": None}
    assert Exposure.objects.count() == 3
    assert_error(staff.post(f"{BASE}/ranker-v2/start"), 409, "status")
    assert_error(staff.post(f"{BASE}/ranker-v2/stop"), 409, "status")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"variants": [{"key": "control", "weight": 60}, {"key": "treatment", "weight": 50}]}, "variants"),
        ({"variants": [{"key": "control", "weight": 50}, {"key": "control", "weight": 50}]}, "variants"),
        ({"variants": [{"key": "a", "weight": 50}, {"key": "b", "weight": 50}]}, "variants"),
        ({"variants": [{"key": "control", "weight": "50"}, {"key": "b", "weight": 50}]}, "variants"),
        ({"variants": [{"key": "control", "weight": 100}]}, "variants"),
        ({"primary_metric": {"event": "purchase"}}, "primary_metric"),
        ({"primary_metric": "save"}, "primary_metric"),
        ({"guardrails": [{"event": "nope"}]}, "guardrails"),
        ({"guardrails": [{"event": "save"}]}, "guardrails"),
        ({"key": "Has Spaces"}, "key"),
        ({"key": None}, "key"),
    ],
)
def test_creating_refuses_a_bad_design_with_a_400_naming_the_field(staff, changes, field):
    assert_error(staff.post(BASE, {**DESIGN, **changes}), 400, field)


def test_a_key_taken_is_a_409_naming_key(staff):
    assert staff.post(BASE, DESIGN).status_code == 201
    assert_error(staff.post(BASE, DESIGN), 409, "key")


@pytest.mark.parametrize("unit_id", [None, "", "a" * 65, "has space"])
def test_the_assignment_needs_a_unit_id_of_at_most_64_characters(staff, unit_id):
    make_experiment(status="running")
    query = {} if unit_id is None else {"unit_id": unit_id}
    assert_error(staff.get(f"{BASE}/ranker-v2/assignment", query), 400, "unit_id")
    assert not Exposure.objects.exists()


@pytest.mark.parametrize(("method", "url"), ENDPOINTS[1:])
def test_an_unknown_key_is_a_404(staff, method, url):
    assert_error(getattr(staff, method)(url.replace("ranker-v2", "no-such-key")), 404)


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_people_who_are_not_staff_get_403_and_anonymous_clients_401(auth_client, api_client, method, url):
    make_experiment(status="running")
    assert_error(getattr(auth_client, method)(url, DESIGN if url == BASE else None), 403)
    assert_error(getattr(api_client, method)(url, DESIGN if url == BASE else None), 401)
    assert not Exposure.objects.exists()


def test_a_simulated_experiment_through_the_api_matches_statsmodels(staff):
    """400 units assigned through the API, conversions drawn with a known lift, results against statsmodels."""
    assert staff.post(BASE, {**DESIGN, "key": "simulated"}).status_code == 201
    # The salt is random by design; a fixed one makes the split, and so the draws below, the same on every run.
    Experiment.objects.filter(key="simulated").update(salt="simulation-salt")
    staff.post(f"{BASE}/simulated/start")
    rng = np.random.default_rng(20261204)
    rates = {"control": 0.15, "treatment": 0.35}
    units: dict[str, list[str]] = {"control": [], "treatment": []}
    converted: dict[str, int] = {"control": 0, "treatment": 0}
    for n in range(400):
        unit = f"sim-{n}"
        variant = staff.get(f"{BASE}/simulated/assignment", {"unit_id": unit}).json()["variant"]
        units[variant].append(unit)
        if rng.random() < rates[variant]:
            services.conversion_record(unit_id=unit, event_type="save")
            converted[variant] += 1
        if rng.random() < 0.1:
            services.conversion_record(unit_id=unit, event_type="dismiss")

    data = staff.get(f"{BASE}/simulated/results").json()
    control, treatment = data["variants"]
    n_c, x_c, n_t, x_t = len(units["control"]), converted["control"], len(units["treatment"]), converted["treatment"]
    assert (control["key"], control["units"], control["conversions"]) == ("control", n_c, x_c)
    assert (treatment["key"], treatment["units"], treatment["conversions"]) == ("treatment", n_t, x_t)
    assert control["rate"] == pytest.approx(x_c / n_c)
    assert treatment["rate"] == pytest.approx(x_t / n_t)
    _, p_value = proportions_ztest([x_t, x_c], [n_t, n_c])
    low, high = confint_proportions_2indep(x_t, n_t, x_c, n_c, method="wald", compare="diff")
    assert treatment["p_value"] == pytest.approx(p_value, rel=1e-9)
    assert (treatment["lift_ci_low"], treatment["lift_ci_high"]) == pytest.approx((low, high), rel=1e-9)
    assert treatment["lift"] == pytest.approx(x_t / n_t - x_c / n_c)
    assert treatment["relative_lift"] == pytest.approx((x_t / n_t - x_c / n_c) / (x_c / n_c))
    assert treatment["p_value"] < 0.001  # the lift is found
    # The sequential test pays for daily reading with caution: at 200 units a variant it needs z ≈ 5.6.
    assert treatment["p_value"] <= treatment["sequential_p_value"] <= 1
    assert control["lift"] is None
    assert control["p_value"] is None
    assert data["srm_flag"] is False
    assert data["srm_p_value"] > 0.001
    assert data["guardrails"][0]["event"] == "dismiss"
    assert sum(v["units"] for v in data["guardrails"][0]["variants"]) == 400
