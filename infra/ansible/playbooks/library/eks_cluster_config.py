#!/usr/bin/python
# Weekend Planner's own module: community.aws.eks_cluster can set neither the API endpoint's access, nor envelope
# encryption of Secrets, nor control-plane logging, and encryption can only be given when a cluster is created or
# associated once later, so this module creates the cluster with all three and brings an existing one in line.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Ansible's module format puts DOCUMENTATION, EXAMPLES and RETURN before the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: eks_cluster_config
short_description: Create an EKS cluster with its endpoint access, Secrets encryption and logging, or align them
description:
  - Creates the cluster when there is none, with the API endpoint's access, envelope encryption of Kubernetes
    Secrets with a KMS key and the control-plane log types in the same CreateCluster call.
  - For an existing cluster, compares those three settings with DescribeCluster and changes only what differs, with
    UpdateClusterConfig for the endpoint access, another UpdateClusterConfig for the logging (EKS takes one kind of
    update per call and one update at a time), AssociateEncryptionConfig when Secrets are not encrypted yet.
  - Secrets encryption can be added once and never changed or removed (EKS has no call for either); a different key
    than the cluster's fails the task rather than being reported as done.
  - The Kubernetes version, role, subnets and security groups of an existing cluster are not changed (a version
    upgrade is a deliberate step); a differing version is reported as a warning.
  - Deleting the cluster is left to M(community.aws.eks_cluster) with O(state=absent).
  - Not part of the C(group/aws) module_defaults group, so O(region) and O(endpoint_url) are parameters.
version_added: "1.0.0"
author: Weekend Planner maintainers
options:
  name:
    description: Name of the cluster.
    type: str
    required: true
  version:
    description: Kubernetes version of a new cluster.
    type: str
  role_arn:
    description: ARN of the control plane's IAM role (needed to create the cluster).
    type: str
  subnets:
    description: Subnet ids of a new cluster (needed to create it).
    type: list
    elements: str
  security_groups:
    description: Security group ids of a new cluster.
    type: list
    elements: str
    default: []
  endpoint_private_access:
    description: Whether the API server is reachable from inside the VPC.
    type: bool
    default: true
  public_access_cidrs:
    description:
      - CIDR blocks allowed to reach the public API endpoint. Empty turns the public endpoint off altogether.
      - With O(endpoint_private_access=false) at least one CIDR is needed (the API must be reachable somewhere).
    type: list
    elements: str
    default: []
  log_types:
    description: Control-plane log types sent to CloudWatch Logs (C(/aws/eks/<name>/cluster)); the others are off.
    type: list
    elements: str
    choices: [api, audit, authenticator, controllerManager, scheduler]
    default: []
  secrets_kms_key_arn:
    description:
      - ARN of the KMS key that envelope-encrypts Kubernetes Secrets. Unset leaves the encryption as it is.
    type: str
  tags:
    description: Tags of a new cluster; on an existing one, these are added or updated (others are kept).
    type: dict
  wait:
    description: Wait until the cluster is ACTIVE and every update made here has succeeded.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 1800
notes:
  - Supports check mode and diff mode.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Cluster with a private API endpoint, encrypted Secrets and control-plane logs
  eks_cluster_config:
    name: weekend-planner-staging
    version: "1.35"
    role_arn: arn:aws:iam::123456789012:role/weekend-planner-staging-cluster
    subnets: [subnet-aaa, subnet-bbb, subnet-ccc]
    security_groups: [sg-123]
    endpoint_private_access: true
    public_access_cidrs: [203.0.113.0/24]
    log_types: [api, audit, authenticator]
    secrets_kms_key_arn: arn:aws:kms:us-west-2:123456789012:key/abcd
    region: us-west-2
"""

RETURN = r"""
name:
  description: Name of the cluster.
  returned: always
  type: str
endpoint:
  description: Kubernetes API server endpoint (empty in check mode before the cluster exists).
  returned: always
  type: str
identity:
  description: The cluster's identity (C(oidc.issuer)), as DescribeCluster returns it.
  returned: when the cluster exists
  type: dict
arn:
  description: ARN of the cluster.
  returned: when the cluster exists
  type: str
settings:
  description: The settings this module manages, as the cluster has them after the task (the wanted ones in check
    mode).
  returned: always
  type: dict
  contains:
    endpoint_private_access: {description: Private endpoint on., type: bool}
    endpoint_public_access: {description: Public endpoint on., type: bool}
    public_access_cidrs: {description: CIDRs of the public endpoint (empty when it is off)., type: list}
    log_types: {description: Enabled control-plane log types., type: list}
    secrets_kms_key_arn: {description: Key encrypting Secrets (empty when none)., type: str}
updates:
  description: The update requests made (kind and EKS update id, empty id when the API answered without one).
  returned: always
  type: list
  elements: dict
"""

import time
from typing import Any

from ansible.module_utils.planner_aws import AWS_ERRORS, POLL_SECONDS, aws_client
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]


def describe(client: Any, name: str) -> dict[str, Any] | None:
    try:
        return client.describe_cluster(aws_retry=True, name=name)["cluster"]
    except client.exceptions.ResourceNotFoundException:
        return None


def settings_of(cluster: dict[str, Any]) -> dict[str, Any]:
    """The managed settings of a DescribeCluster answer, in the module's own terms."""
    vpc = cluster.get("resourcesVpcConfig", {})
    public = bool(vpc.get("endpointPublicAccess", False))
    enabled: set[str] = set()
    for entry in cluster.get("logging", {}).get("clusterLogging", []):
        if entry.get("enabled"):
            enabled.update(entry.get("types", []))
    key = ""
    for config in cluster.get("encryptionConfig", []) or []:
        if "secrets" in config.get("resources", []):
            key = config.get("provider", {}).get("keyArn", "")
    return {
        "endpoint_private_access": bool(vpc.get("endpointPrivateAccess", False)),
        "endpoint_public_access": public,
        # With the public endpoint off, EKS still lists 0.0.0.0/0; it means nothing then.
        "public_access_cidrs": sorted(vpc.get("publicAccessCidrs", [])) if public else [],
        "log_types": [t for t in LOG_TYPES if t in enabled],
        "secrets_kms_key_arn": key,
    }


def wanted_settings(p: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    key = p["secrets_kms_key_arn"]
    if key is None:
        key = current["secrets_kms_key_arn"] if current else ""
    return {
        "endpoint_private_access": p["endpoint_private_access"],
        "endpoint_public_access": bool(p["public_access_cidrs"]),
        "public_access_cidrs": sorted(p["public_access_cidrs"]),
        "log_types": [t for t in LOG_TYPES if t in p["log_types"]],
        "secrets_kms_key_arn": key,
    }


def vpc_access(wanted: dict[str, Any]) -> dict[str, Any]:
    access: dict[str, Any] = {
        "endpointPrivateAccess": wanted["endpoint_private_access"],
        "endpointPublicAccess": wanted["endpoint_public_access"],
    }
    if wanted["endpoint_public_access"]:
        access["publicAccessCidrs"] = wanted["public_access_cidrs"]
    return access


def logging_config(log_types: list[str]) -> dict[str, Any]:
    # Both lists, so that types switched on earlier (by hand or by EKS) are switched off again.
    off = [t for t in LOG_TYPES if t not in log_types]
    groups: list[dict[str, Any]] = [{"types": log_types, "enabled": True}, {"types": off, "enabled": False}]
    return {"clusterLogging": [g for g in groups if g["types"]]}


def encryption(key_arn: str) -> list[dict[str, Any]]:
    return [{"resources": ["secrets"], "provider": {"keyArn": key_arn}}]


class Waiter:
    """Polls until the cluster is ACTIVE and an update has succeeded, within the one wait_timeout of the task."""

    def __init__(self, module: AnsibleAWSModule, client: Any, name: str) -> None:
        self.module, self.client, self.name = module, client, name
        self.deadline = time.monotonic() + module.params["wait_timeout"]

    def tick(self, what: str) -> None:
        if time.monotonic() > self.deadline:
            self.module.fail_json(msg=f"timed out waiting for {what} of cluster {self.name}")
        time.sleep(POLL_SECONDS)

    def active(self) -> dict[str, Any]:
        while True:
            cluster = describe(self.client, self.name)
            if cluster is None:
                self.module.fail_json(msg=f"cluster {self.name} disappeared while waiting for it")
            if cluster["status"] == "ACTIVE" or not self.module.params["wait"]:
                return cluster
            if cluster["status"] == "FAILED":
                self.module.fail_json(msg=f"cluster {self.name} is FAILED")
            self.tick("ACTIVE status")

    def update(self, update_id: str) -> None:
        # An answer without an update id (moto answers UpdateClusterConfig with the cluster itself) leaves only
        # the cluster's status to wait for.
        while update_id and self.module.params["wait"]:
            update = self.client.describe_update(aws_retry=True, name=self.name, updateId=update_id)["update"]
            if update["status"] == "Successful":
                break
            if update["status"] in ("Failed", "Cancelled"):
                self.module.fail_json(
                    msg=f"update {update_id} of cluster {self.name} is {update['status']}",
                    errors=update.get("errors", []),
                )
            self.tick(f"update {update_id}")
        self.active()


def create(module: AnsibleAWSModule, client: Any, wanted: dict[str, Any]) -> dict[str, Any]:
    p = module.params
    missing = [k for k in ("role_arn", "subnets") if not p[k]]
    if missing:
        module.fail_json(msg=f"creating cluster {p['name']} needs {', '.join(missing)}")
    request: dict[str, Any] = {
        "name": p["name"],
        "roleArn": p["role_arn"],
        "resourcesVpcConfig": {
            "subnetIds": p["subnets"],
            "securityGroupIds": p["security_groups"],
            **vpc_access(wanted),
        },
        "logging": logging_config(wanted["log_types"]),
    }
    if p["version"]:
        request["version"] = p["version"]
    if wanted["secrets_kms_key_arn"]:
        request["encryptionConfig"] = encryption(wanted["secrets_kms_key_arn"])
    if p["tags"]:
        request["tags"] = {k: str(v) for k, v in p["tags"].items()}
    client.create_cluster(aws_retry=True, **request)
    return Waiter(module, client, p["name"]).active()


def align(
    module: AnsibleAWSModule, client: Any, cluster: dict[str, Any], have: dict[str, Any], wanted: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, str]], bool]:
    """Brings an existing cluster's settings (and tags) in line; returns the cluster, the updates and changed."""
    p, name = module.params, module.params["name"]
    if have["secrets_kms_key_arn"] and have["secrets_kms_key_arn"] != wanted["secrets_kms_key_arn"]:
        module.fail_json(
            msg=f"cluster {name} encrypts Secrets with {have['secrets_kms_key_arn']}; EKS cannot change or remove "
            f"that key (wanted {wanted['secrets_kms_key_arn']}): keep it, or rebuild the cluster"
        )
    if p["version"] and cluster.get("version") != p["version"]:
        module.warn(
            f"cluster {name} runs Kubernetes {cluster.get('version')}, not {p['version']}; this module does "
            "not upgrade it (aws eks update-cluster-version, one minor at a time)"
        )
    endpoint_differs = any(
        have[k] != wanted[k] for k in ("endpoint_private_access", "endpoint_public_access", "public_access_cidrs")
    )
    logging_differs = have["log_types"] != wanted["log_types"]
    encrypt = bool(wanted["secrets_kms_key_arn"]) and not have["secrets_kms_key_arn"]
    wanted_tags = {k: str(v) for k, v in (p["tags"] or {}).items()}
    tags_differ = {k: v for k, v in wanted_tags.items() if cluster.get("tags", {}).get(k) != v}
    changed = endpoint_differs or logging_differs or encrypt or bool(tags_differ)
    updates: list[dict[str, str]] = []
    if not changed or module.check_mode:
        return cluster, updates, changed

    waiter = Waiter(module, client, name)
    waiter.active()  # EKS refuses an update while another one runs.
    calls: list[tuple[str, Any, dict[str, Any]]] = []
    if endpoint_differs:
        calls.append(("EndpointAccessUpdate", client.update_cluster_config, {"resourcesVpcConfig": vpc_access(wanted)}))
    if logging_differs:
        calls.append(("LoggingUpdate", client.update_cluster_config, {"logging": logging_config(wanted["log_types"])}))
    if encrypt:
        calls.append(
            (
                "AssociateEncryptionConfig",
                client.associate_encryption_config,
                {"clusterName": name, "encryptionConfig": encryption(wanted["secrets_kms_key_arn"])},
            )
        )
    for kind, call, params in calls:
        if kind != "AssociateEncryptionConfig":
            params = {"name": name, **params}
        answer = call(aws_retry=True, **params)
        update_id = answer.get("update", {}).get("id", "")
        updates.append({"type": kind, "id": update_id})
        waiter.update(update_id)
    if tags_differ:
        client.tag_resource(aws_retry=True, resourceArn=cluster["arn"], tags=tags_differ)
    return waiter.active(), updates, changed


def main() -> None:
    argument_spec = {
        "name": {"type": "str", "required": True},
        "version": {"type": "str"},
        "role_arn": {"type": "str"},
        "subnets": {"type": "list", "elements": "str"},
        "security_groups": {"type": "list", "elements": "str", "default": []},
        "endpoint_private_access": {"type": "bool", "default": True},
        "public_access_cidrs": {"type": "list", "elements": "str", "default": []},
        "log_types": {"type": "list", "elements": "str", "choices": LOG_TYPES, "default": []},
        "secrets_kms_key_arn": {"type": "str", "no_log": False},
        "tags": {"type": "dict"},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 1800},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    if not p["endpoint_private_access"] and not p["public_access_cidrs"]:
        module.fail_json(msg="with endpoint_private_access=false, public_access_cidrs must name at least one CIDR")
    client = aws_client(module, "eks")
    try:
        cluster = describe(client, p["name"])
        have = settings_of(cluster) if cluster else None
        wanted = wanted_settings(p, have)
        diff = {"before": have or {}, "after": wanted}
        updates: list[dict[str, str]] = []
        if cluster is None:
            changed = True
            if not module.check_mode:
                cluster = create(module, client, wanted)
        else:
            cluster, updates, changed = align(module, client, cluster, have or {}, wanted)
        settings = settings_of(cluster) if cluster and not module.check_mode else wanted
    except AWS_ERRORS as err:
        module.fail_json_aws(err, msg=f"EKS call for cluster {p['name']} failed")
    result: dict[str, Any] = {
        "changed": changed,
        "name": p["name"],
        "endpoint": (cluster or {}).get("endpoint", ""),
        "settings": settings,
        "updates": updates,
    }
    if cluster:
        result.update(identity=cluster.get("identity", {}), arn=cluster.get("arn", ""))
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
