"""The chart behind Cloudflare: the ALB's security group from infra/ansible, and CF-Connecting-IP trusted where
Cloudflare is in front (docs/deployment.md, "The edge (Cloudflare)")."""

import pytest

from tests.deploy.helm import by_kind, render

SECURITY_GROUP = "sg-0123456789abcdef0"


def config(values_files: list[str]) -> dict[str, str]:
    return by_kind(render(values_files), "ConfigMap")["weekend-planner-config"]["data"]


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_behind_cloudflare_the_app_trusts_cf_connecting_ip_from_its_ranges_only(environment):
    data = config([f"values-{environment}.yaml"])
    assert data["CLOUDFLARE_TRUSTED"] == "true"
    # The ALB is still the one proxy whose X-Forwarded-For entry counts: Cloudflare's edge is that entry.
    assert data["TRUSTED_PROXY_COUNT"] == "1"


def test_off_by_default():
    assert config([])["CLOUDFLARE_TRUSTED"] == "false"


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_the_ingress_names_the_cloudflare_only_security_group(environment):
    # CI deploys with the values file alone (infra/deploy): the group is named by its Name tag there.
    ingress = by_kind(render([f"values-{environment}.yaml"]), "Ingress")["weekend-planner"]
    annotations = ingress["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/security-groups"] == f"weekend-planner-{environment}-alb"
    assert annotations["alb.ingress.kubernetes.io/manage-backend-security-group-rules"] == "true"


def test_deploy_yml_may_pass_the_groups_id_instead():
    ingress = by_kind(render(["values-production.yaml"], {"ingress.securityGroups": SECURITY_GROUP}), "Ingress")
    annotations = ingress["weekend-planner"]["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/security-groups"] == SECURITY_GROUP
    # The controller then opens the targets to a backend group of its own instead of to the frontend group.
    assert annotations["alb.ingress.kubernetes.io/manage-backend-security-group-rules"] == "true"


def test_without_a_security_group_the_controller_is_left_its_defaults():
    annotations = by_kind(render([]), "Ingress")["weekend-planner"]["metadata"]["annotations"]
    assert "alb.ingress.kubernetes.io/security-groups" not in annotations
    assert "alb.ingress.kubernetes.io/manage-backend-security-group-rules" not in annotations
