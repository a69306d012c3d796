"""The names and labels infra/deploy relies on, in the chart as the real helm renders it with the script's values.

The script's own tests use stand-in helm and kubectl; this checks that what it asks kubectl for (Deployments by
instance, the beat pod's labels, the colour Services and their port, the release ConfigMap, the router's
selector) is what the chart really produces, and that its smoke pod can reach web pods.
"""

import re
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.helm import render

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = (ROOT / "infra" / "deploy").read_text()
PRODUCTION = ["values-production.yaml"]
NAMESPACE = "weekend-planner-prod"
INSTANCE = "app.kubernetes.io/instance"
COMPONENT = "app.kubernetes.io/component"
COLOUR = "app.kubernetes.io/colour"


def script_default(name: str) -> str:
    match = re.search(rf'^{name}="\$\{{{name}:-([^}}]+)\}}"$', DEPLOY, flags=re.MULTILINE)
    assert match, name
    return match[1]


def objects(kind: str, rendered: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in rendered if o["kind"] == kind}


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"]["labels"]


@pytest.fixture(scope="module")
def green() -> list[dict[str, Any]]:
    return render(PRODUCTION, {"colour": "green", "beat.replicas": 0}, release="weekend-planner-green")


def test_a_colour_release_has_what_the_script_waits_for_and_checks(green: list[dict[str, Any]]) -> None:
    deployments = objects("Deployment", green)
    assert {"weekend-planner-green-web", "weekend-planner-green-beat"} <= deployments.keys()
    for name, deployment in deployments.items():
        # `kubectl get deployments --selector app.kubernetes.io/instance=<release>` finds every one of them.
        assert deployment["metadata"]["labels"][INSTANCE] == "weekend-planner-green", name
        assert pod_labels(deployment)[COLOUR] == "green", name
    assert deployments["weekend-planner-green-beat"]["spec"]["replicas"] == 0
    beat = pod_labels(deployments["weekend-planner-green-beat"])
    assert (beat[INSTANCE], beat[COMPONENT]) == ("weekend-planner-green", "beat")

    (port,) = objects("Service", green)["weekend-planner-green-web"]["spec"]["ports"]
    assert str(port["port"]) == script_default("SERVICE_PORT")
    config = objects("ConfigMap", green)["weekend-planner-green-config"]
    assert config["data"]["ALLOWED_HOSTS"]  # the smoke pod's public host for /api/schema/
    assert "weekend-planner-web" not in objects("Service", green)
    assert not objects("Ingress", green)


def test_the_router_release_only_selects_the_live_colour() -> None:
    router = render(PRODUCTION, {"router.enabled": True, "router.colour": "green"}, release="weekend-planner")
    assert not objects("Deployment", router)
    service = objects("Service", router)["weekend-planner-web"]
    assert service["spec"]["selector"][COLOUR] == "green"
    assert str(service["spec"]["ports"][0]["port"]) == script_default("SERVICE_PORT")
    assert objects("Ingress", router)


def test_a_rolling_release_has_the_public_service_the_beat_and_the_config_the_script_names() -> None:
    rolling = render(PRODUCTION, release="weekend-planner")
    assert "weekend-planner-web" in objects("Service", rolling)
    assert "weekend-planner-config" in objects("ConfigMap", rolling)
    beat = pod_labels(objects("Deployment", rolling)["weekend-planner-beat"])
    # The first blue-green deploy waits for this pod to be gone before the new beat starts.
    assert (beat[INSTANCE], beat[COMPONENT]) == ("weekend-planner", "beat")


def test_no_network_policy_stops_the_smoke_pod_from_reaching_web(green: list[dict[str, Any]]) -> None:
    labels_flag = re.search(r'--labels "([^"]+)"', DEPLOY)
    assert labels_flag
    smoke_labels = dict(item.split("=", 1) for item in labels_flag[1].replace("$APP", "weekend-planner").split(","))
    web = objects("Deployment", green)["weekend-planner-green-web"]
    web_pod = pod_labels(web)
    (container,) = web["spec"]["template"]["spec"]["containers"]
    web_port = next(port["containerPort"] for port in container["ports"] if port["name"] == "http")
    policies = objects("NetworkPolicy", green).values()
    assert policies
    for policy in policies:
        selector = policy["spec"]["podSelector"].get("matchLabels", {})
        # The smoke pod is selected by no policy, so its egress is open...
        assert not selector.items() <= smoke_labels.items(), policy["metadata"]["name"]
        if selector.items() <= web_pod.items():
            # ...and the policy on web pods lets any pod in on the http port.
            assert any(
                "from" not in rule and any(p["port"] == web_port for p in rule["ports"])
                for rule in policy["spec"]["ingress"]
            ), policy["metadata"]["name"]
