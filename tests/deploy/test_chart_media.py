"""Media live in the S3 media bucket (planner/settings.py, STORAGES), so no pod of the chart keeps any on disk: no
persistent or host volume anywhere, nothing mounted for media, and the environments name their bucket."""

from typing import Any

import pytest

from tests.deploy.helm import by_kind, render

VALUES_SETS = {"default": [], "staging": ["values-staging.yaml"], "production": ["values-production.yaml"]}
# What a pod may mount: scratch space that dies with it, and what Kubernetes projects in (the IRSA token).
EPHEMERAL_SOURCES = {"emptyDir", "projected", "configMap", "secret", "downwardAPI"}


def pod_specs(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every pod spec the chart renders, CronJobs' included, by "<kind>/<name>"."""
    specs = {}
    for obj in objects:
        spec = obj.get("spec", {})
        if obj["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        if "template" in spec and "spec" in spec["template"]:
            specs[f"{obj['kind']}/{obj['metadata']['name']}"] = spec["template"]["spec"]
        elif obj["kind"] == "Pod":
            specs[f"Pod/{obj['metadata']['name']}"] = spec
    return specs


@pytest.mark.parametrize("values_set", sorted(VALUES_SETS))
@pytest.mark.parametrize("variant", [{}, {"colour": "green"}], ids=["rolling", "colour"])
def test_no_pod_keeps_media_on_disk(values_set: str, variant: dict[str, Any]) -> None:
    objects = render(VALUES_SETS[values_set], variant)
    assert not [o for o in objects if o["kind"] in {"PersistentVolumeClaim", "PersistentVolume", "StatefulSet"}]
    specs = pod_specs(objects)
    assert any(name.startswith("Deployment/") for name in specs), "the chart rendered no workload"
    for name, spec in specs.items():
        where = f"{values_set} {variant} {name}"
        for volume in spec.get("volumes", []):
            sources = set(volume) - {"name"}
            assert sources <= EPHEMERAL_SOURCES, f"{where}: volume {volume['name']} is {sources}"
            assert "media" not in volume["name"].lower(), where
            if "emptyDir" in volume:
                # Scratch space is bounded: nothing can quietly accumulate uploads in it.
                assert volume["emptyDir"].get("sizeLimit"), f"{where}: emptyDir {volume['name']} has no sizeLimit"
        for container in spec["containers"] + spec.get("initContainers", []):
            for mount in container.get("volumeMounts", []):
                assert "media" not in f"{mount['name']} {mount['mountPath']}".lower(), f"{where}: {mount}"


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_the_environments_name_their_media_bucket(environment: str) -> None:
    config = by_kind(render(VALUES_SETS[environment]), "ConfigMap")["weekend-planner-config"]["data"]
    assert config["DJANGO_ENV"] == "production"
    # The settings refuse to start in production without it (media would otherwise go to the pod's /tmp).
    assert config["MEDIA_BUCKET"] == f"weekend-planner-{environment}-media"
