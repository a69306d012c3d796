"""The application Secret from AWS Secrets Manager through External Secrets Operator: the chart's SecretStore and
ExternalSecret (templates/externalsecret.yaml), checked field by field because kubernetes-validate has no schema for
the operator's kinds (scripts/validate_chart.py lets only their missing-schema warning through)."""

import pytest
import yaml

from scripts import validate_chart
from tests.deploy.helm import by_kind, render, render_error


@pytest.mark.parametrize("env", ["staging", "production"])
def test_the_environment_reads_its_secret_from_secrets_manager(env: str) -> None:
    objects = render([f"values-{env}.yaml"])

    external = by_kind(objects, "ExternalSecret")["weekend-planner-secrets"]
    assert external["apiVersion"] == "external-secrets.io/v1"
    spec = external["spec"]
    # roles/secrets writes this one secret; every key of its JSON becomes a key of the Secret.
    assert spec["dataFrom"] == [{"extract": {"key": f"weekend-planner/{env}/app"}}]
    assert spec["target"]["name"] == "weekend-planner-secrets"
    assert spec["target"]["creationPolicy"] == "Orphan"
    assert spec["refreshInterval"] == "1h"

    store = by_kind(objects, "SecretStore")[spec["secretStoreRef"]["name"]]
    assert spec["secretStoreRef"]["kind"] == "SecretStore"
    assert store["spec"]["provider"]["aws"] == {"service": "SecretsManager", "region": "us-west-2"}

    # Created before the migrate Job, which on a first install needs the Secret already.
    migrate = next(o for o in objects if o["kind"] == "Job" and o["metadata"]["name"].endswith("-migrate"))
    migrate_weight = int(migrate["metadata"]["annotations"]["helm.sh/hook-weight"])
    for obj in (store, external):
        annotations = obj["metadata"]["annotations"]
        assert set(annotations["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
        assert int(annotations["helm.sh/hook-weight"]) < migrate_weight

    # The pods (and the migrate Job) read that Secret, and the chart renders no Secret of its own.
    assert by_kind(objects, "Secret") == {}
    for workload in (o for o in objects if o["kind"] in ("Deployment", "Job")):
        pod = workload["spec"]["template"]["spec"]
        refs = [e["secretRef"]["name"] for c in pod["containers"] for e in c.get("envFrom", []) if "secretRef" in e]
        assert refs == ["weekend-planner-secrets"], workload["metadata"]["name"]


def test_both_colours_render_the_same_objects_and_the_router_none() -> None:
    blue = render(["values-production.yaml"], {"colour": "blue"}, release="weekend-planner-blue")
    green = render(["values-production.yaml"], {"colour": "green"}, release="weekend-planner-green")
    for kind in ("ExternalSecret", "SecretStore"):
        assert by_kind(blue, kind).keys() == by_kind(green, kind).keys() != set()
        assert [o["spec"] for o in by_kind(blue, kind).values()] == [o["spec"] for o in by_kind(green, kind).values()]
    router = render(["values-production.yaml"], {"router.enabled": "true", "router.colour": "green"})
    assert by_kind(router, "ExternalSecret") == {}


def test_off_by_default_and_refused_without_the_names_it_needs() -> None:
    assert by_kind(render(), "ExternalSecret") == {}
    assert "remoteKey" in render_error(["values-production.yaml"], {"externalSecrets.remoteKey": ""})
    assert "existingSecret" in render_error(["values-production.yaml"], {"secret.existingSecret": ""})


def test_the_validation_lets_the_operator_kinds_through_and_nothing_else() -> None:
    target = validate_chart.TARGET_KUBERNETES
    for kind in ("ExternalSecret", "SecretStore"):
        document = yaml.safe_dump({"apiVersion": "external-secrets.io/v1", "kind": kind, "metadata": {"name": "x"}})
        assert validate_chart.validation_problems(document, target) == []
    other = yaml.safe_dump({"apiVersion": "external-secrets.io/v1", "kind": "ClusterWidget", "metadata": {"name": "x"}})
    assert validate_chart.validation_problems(other, target)
