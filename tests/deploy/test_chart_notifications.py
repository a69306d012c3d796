"""Email runs on a worker of its own (the notifications queue), which reads EMAIL_URL from the release's Secret, and
the links in emails point at the app's host (SITE_URL)."""

import base64
from typing import Any

import pytest

from tests.deploy.helm import by_kind, render

VALUES_SETS = {"default": [], "staging": ["values-staging.yaml"], "production": ["values-production.yaml"]}
WORKER = "weekend-planner-worker-notifications"


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("env", []) if "value" in item}


@pytest.mark.parametrize("values_set", sorted(VALUES_SETS))
def test_the_notifications_queue_has_a_worker_of_its_own(values_set: str) -> None:
    deployments = by_kind(render(VALUES_SETS[values_set]), "Deployment")
    container = deployments[WORKER]["spec"]["template"]["spec"]["containers"][0]
    assert _env(container)["CELERY_QUEUES"] == "notifications"
    for name, deployment in deployments.items():
        if name != WORKER and "CELERY_QUEUES" in _env(deployment["spec"]["template"]["spec"]["containers"][0]):
            queues = _env(deployment["spec"]["template"]["spec"]["containers"][0])["CELERY_QUEUES"].split(",")
            assert "notifications" not in queues, name


def test_the_worker_reads_email_url_from_the_release_secret() -> None:
    objects = render([], {"secret.values.EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.test:587"})
    container = by_kind(objects, "Deployment")[WORKER]["spec"]["template"]["spec"]["containers"][0]
    [secret_name] = [source["secretRef"]["name"] for source in container["envFrom"] if "secretRef" in source]
    secret = by_kind(objects, "Secret")[secret_name]
    assert base64.b64decode(secret["data"]["EMAIL_URL"]).decode() == "smtp+tls://mailer:secret@smtp.example.test:587"
    # Never as a plain environment value or in the ConfigMap, where kubectl describe would show the password.
    assert "EMAIL_URL" not in _env(container)
    assert all("EMAIL_URL" not in c.get("data", {}) for c in by_kind(objects, "ConfigMap").values())


def test_production_reads_every_secret_key_from_secrets_manager_so_email_url_needs_no_chart_change() -> None:
    objects = render(["values-production.yaml"])
    [external] = by_kind(objects, "ExternalSecret").values()
    assert [list(item) for item in external["spec"]["dataFrom"]] == [["extract"]]
    container = by_kind(objects, "Deployment")[WORKER]["spec"]["template"]["spec"]["containers"][0]
    assert {"secretRef": {"name": external["spec"]["target"]["name"]}} in container["envFrom"]


@pytest.mark.parametrize("values_set", sorted(VALUES_SETS))
def test_links_in_emails_point_at_the_app_host(values_set: str) -> None:
    configs = [c for c in by_kind(render(VALUES_SETS[values_set]), "ConfigMap").values() if "SITE_URL" in c["data"]]
    assert configs
    for config in configs:
        assert config["data"]["SITE_URL"] == f"https://{config['data']['ALLOWED_HOSTS'].split(',')[0]}"
    overridden = render(VALUES_SETS[values_set], {"hosts.app": "plan.example.test"})
    assert {c["data"]["SITE_URL"] for c in by_kind(overridden, "ConfigMap").values() if "SITE_URL" in c["data"]} == {
        "https://plan.example.test"
    }
