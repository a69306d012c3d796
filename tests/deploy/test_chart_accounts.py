"""The environments' values files carry no AWS account id: playbooks/deploy.yml fills the ECR repository, the IRSA
role and the ACM certificate from the inventory and lookups, and the chart checks render them with marked stand-ins.
"""

import re
import subprocess

import yaml

from scripts.validate_chart import ACCOUNT_STANDINS, CHART, HELM
from tests.deploy.helm import by_kind, render, require_helm

ACCOUNT_ID = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")
ENVIRONMENTS = ("values-staging.yaml", "values-production.yaml")


def test_environment_values_name_no_account() -> None:
    for name in ENVIRONMENTS:
        text = (CHART / name).read_text()
        assert not ACCOUNT_ID.search(text), f"{name}: {ACCOUNT_ID.findall(text)}"
        values = yaml.safe_load(text)
        assert values["image"]["repository"] == ""
        assert values["serviceAccount"]["roleArn"] == ""
        assert values["ingress"]["certificateArn"] == ""


def test_without_the_deploy_values_the_chart_refuses_to_render() -> None:
    # What helm gets when nothing fills the repository (neither deploy.yml nor --image-repository).
    require_helm()
    for name in ENVIRONMENTS:
        done = subprocess.run(
            [str(HELM), "template", "weekend-planner", str(CHART), "--values", str(CHART / name)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode != 0, name
        assert "repository" in done.stderr, done.stderr


def test_the_stand_ins_are_marked_and_reach_the_objects() -> None:
    standins = yaml.safe_load(ACCOUNT_STANDINS.read_text())
    assert "TEST STAND-INS" in ACCOUNT_STANDINS.read_text()
    assert set(ACCOUNT_ID.findall(ACCOUNT_STANDINS.read_text())) == {"000000000000"}
    objects = render(["values-production.yaml"])
    account = by_kind(objects, "ServiceAccount")["weekend-planner"]
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == standins["serviceAccount"]["roleArn"]
    [ingress] = by_kind(objects, "Ingress").values()
    annotations = ingress["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/certificate-arn"] == standins["ingress"]["certificateArn"]
