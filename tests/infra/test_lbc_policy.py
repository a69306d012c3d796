"""The AWS Load Balancer Controller's IAM policy is the upstream file of the release addons.yml installs.

The committed file must be the one its SOURCE note describes (sha256), the note must name the chart release the
addons playbook pins and the package version and integrity scripts/vendor_lbc_policy.py pins, and the eks role must
use that file. Offline: `make vendor-lbc-policy` is what fetches it.
"""

import hashlib
import json

import yaml

from scripts import vendor_lbc_policy
from tests.infra.conftest import ANSIBLE_DIR

FILES = ANSIBLE_DIR / "roles" / "eks" / "files"
POLICY = FILES / "aws-load-balancer-controller-policy.json"


def note() -> dict[str, str]:
    lines = (FILES / "aws-load-balancer-controller-policy.SOURCE").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if ": " in line)


def test_committed_policy_is_the_file_the_note_records() -> None:
    assert hashlib.sha256(POLICY.read_bytes()).hexdigest() == note()["sha256"]


def test_note_names_the_pinned_release_and_package() -> None:
    source = note()
    assert source["package"] == vendor_lbc_policy.PACKAGE == "aws-cdk-lib"
    assert source["version"] == vendor_lbc_policy.PACKAGE_VERSION
    assert source["integrity"] == vendor_lbc_policy.INTEGRITY
    assert source["path"] == f"aws-eks/lib/addons/alb-iam_policy-{vendor_lbc_policy.CONTROLLER}.json"
    assert source["controller"].startswith(
        f"{vendor_lbc_policy.CONTROLLER} (Helm chart aws-load-balancer-controller {vendor_lbc_policy.CHART},"
    )
    assert source["upstream"].endswith(f"/blob/{vendor_lbc_policy.CONTROLLER}/docs/install/iam_policy.json")


def test_addons_install_the_release_whose_policy_is_committed() -> None:
    [play] = yaml.safe_load((ANSIBLE_DIR / "playbooks" / "addons.yml").read_text())
    assert str(play["vars"]["addons_lbc_version"]) == vendor_lbc_policy.CHART
    # The chart's minor follows the controller's: chart 1.14.x ships controller v2.14.x.
    assert vendor_lbc_policy.CONTROLLER.startswith("v2." + vendor_lbc_policy.CHART.split(".")[1] + ".")


def test_policy_is_a_policy_document_without_account_ids() -> None:
    document = json.loads(POLICY.read_text())
    assert document["Version"] == "2012-10-17"
    assert len(document["Statement"]) > 10
    assert "123456789012" not in POLICY.read_text()


def test_eks_role_uses_the_committed_policy() -> None:
    tasks = yaml.safe_load((ANSIBLE_DIR / "roles" / "eks" / "tasks" / "present.yml").read_text())
    [task] = [t for t in tasks if t["name"] == "Policy of the AWS Load Balancer Controller"]
    assert (
        "lookup('ansible.builtin.file', 'aws-load-balancer-controller-policy.json')"
        in task["amazon.aws.iam_managed_policy"]["policy"]
    )
