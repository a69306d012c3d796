"""Fetches the AWS Load Balancer Controller's IAM policy again from npm: `make vendor-lbc-policy`.

The policy is the controller's own `docs/install/iam_policy.json` of the release the addons playbook installs. GitHub
is out of reach from where this project is built, so the file comes from a registry that ships it unchanged: the
npm package aws-cdk-lib carries `aws-eks/lib/addons/alb-iam_policy-<release>.json` for every controller release its
AlbController construct supports (and maps each to its Helm chart: v2.14.0 to chart 1.14.0).

Reproducible: the tarball of the pinned aws-cdk-lib version must have the pinned integrity (the registry's sha512),
or nothing is written; the policy is copied byte for byte, and the sidecar SOURCE file records where it came from and
its sha256 (tests/infra/test_lbc_policy.py checks the committed file against it). Never part of `make test`.

To move to another controller release: raise addons_lbc_version in infra/ansible/playbooks/addons.yml and
CONTROLLER/CHART below, pick an aws-cdk-lib version that ships that release's file (`npm pack aws-cdk-lib@<v>` and
list aws-eks/lib/addons/), set PACKAGE_VERSION and INTEGRITY (`npm view aws-cdk-lib@<v> dist.integrity`), run
`make vendor-lbc-policy` and read the policy's diff before applying it.
"""

import datetime
import hashlib
import sys
import tarfile
import tempfile
from pathlib import Path

from scripts.support import npm

CONTROLLER = "v2.14.0"
CHART = "1.14.0"
PACKAGE = "aws-cdk-lib"
PACKAGE_VERSION = "2.278.0"
INTEGRITY = "sha512-E5OfaAeWGpZk9TWUodhsNLLCPzM8ObydK5BewEgfOGwYt6UA+8po/+SyLLuFr4DoSjw17vMZg9eCNP6nlymNJg=="
MEMBER = f"package/aws-eks/lib/addons/alb-iam_policy-{CONTROLLER}.json"
UPSTREAM = (
    f"https://github.com/kubernetes-sigs/aws-load-balancer-controller/blob/{CONTROLLER}/docs/install/iam_policy.json"
)
RAW_UPSTREAM = (
    "https://raw.githubusercontent.com/kubernetes-sigs/aws-load-balancer-controller/"
    f"{CONTROLLER}/docs/install/iam_policy.json"
)

ROOT = Path(__file__).resolve().parent.parent
FILES = ROOT / "infra" / "ansible" / "roles" / "eks" / "files"
DESTINATION = FILES / "aws-load-balancer-controller-policy.json"
SOURCE_NOTE = FILES / "aws-load-balancer-controller-policy.SOURCE"


def source_note(policy: bytes) -> str:
    lines = [
        "what: IAM policy of the AWS Load Balancer Controller, the upstream docs/install/iam_policy.json",
        f"controller: {CONTROLLER} (Helm chart aws-load-balancer-controller {CHART}, addons_lbc_version in "
        "infra/ansible/playbooks/addons.yml)",
        f"upstream: {UPSTREAM}",
        f"package: {PACKAGE}",
        f"version: {PACKAGE_VERSION}",
        f"tarball: {npm.REGISTRY}{PACKAGE}/-/{PACKAGE}-{PACKAGE_VERSION}.tgz",
        f"integrity: {INTEGRITY}",
        f"path: {MEMBER.removeprefix('package/')}",
        "licence: Apache-2.0 (the controller's; aws-cdk-lib is Apache-2.0 too)",
        f"sha256: {hashlib.sha256(policy).hexdigest()}",
        f"check against GitHub (not reachable where this was fetched): curl -sL {RAW_UPSTREAM} | sha256sum",
        f"fetched: {datetime.date.today().isoformat()}",
        "refresh: make vendor-lbc-policy (scripts/vendor_lbc_policy.py; versions and integrity are pinned there)",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    with tempfile.TemporaryDirectory() as temporary:
        tarball = npm.pack(f"{PACKAGE}@{PACKAGE_VERSION}", Path(temporary))
        found = npm.integrity(tarball.read_bytes())
        if found != INTEGRITY:
            print(f"{tarball.name}: integrity {found}, pinned {INTEGRITY}; nothing written", file=sys.stderr)
            return 1
        with tarfile.open(tarball, "r:gz") as archive:
            extracted = archive.extractfile(MEMBER)
            if extracted is None:
                raise SystemExit(f"{MEMBER} is not a file in {tarball.name}")
            policy = extracted.read()
    DESTINATION.write_bytes(policy)
    SOURCE_NOTE.write_text(source_note(policy))
    print(f"{DESTINATION.relative_to(ROOT)}: the controller {CONTROLLER} policy from {PACKAGE} {PACKAGE_VERSION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
