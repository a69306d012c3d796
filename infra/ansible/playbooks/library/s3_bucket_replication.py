#!/usr/bin/python
# Weekend Planner's own module: amazon.aws.s3_bucket has no replication settings and no collection module sets them.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Ansible's module format puts DOCUMENTATION, EXAMPLES and RETURN before the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: s3_bucket_replication
short_description: Set or remove the replication configuration of an S3 bucket
description:
  - Puts the bucket's replication configuration (C(PutBucketReplication)) only when it differs from the wanted one,
    compared rule by rule on the fields this module manages; removes it with O(state=absent).
  - Checks the prerequisites first, versioning enabled on the source bucket and, when
    O(destination_region) is given, on every destination bucket.
  - Not part of the C(group/aws) module_defaults group, so O(region) and O(endpoint_url) are parameters.
version_added: "1.0.0"
author: Weekend Planner maintainers
options:
  bucket:
    description: Name of the source bucket.
    type: str
    required: true
  state:
    description: Whether the replication configuration should exist.
    type: str
    choices: [present, absent]
    default: present
  role_arn:
    description: IAM role S3 assumes to replicate (needs read on the source, write on the destination and the KMS
      grants for both keys). Required with O(state=present).
    type: str
  rules:
    description: Replication rules, highest O(rules[].priority) wins when filters overlap.
    type: list
    elements: dict
    default: []
    suboptions:
      id:
        description: Rule identifier.
        type: str
        required: true
      priority:
        description: Priority of the rule.
        type: int
        default: 1
      prefix:
        description: Only objects whose key starts with this are replicated (empty for all).
        type: str
        default: ""
      enabled:
        description: Whether the rule is enabled.
        type: bool
        default: true
      destination_bucket:
        description: Destination bucket, by name or ARN.
        type: str
        required: true
      storage_class:
        description: Storage class of the replicas (the source's when omitted).
        type: str
      replica_kms_key_id:
        description: KMS key (ARN, in the destination's region) that encrypts the replicas.
        type: str
      replicate_kms_encrypted:
        description: Replicate objects encrypted with SSE-KMS (C(SourceSelectionCriteria.SseKmsEncryptedObjects));
          S3 skips them otherwise.
        type: bool
        default: true
      delete_marker_replication:
        description: Replicate delete markers (deletions never remove the replica's versions either way).
        type: bool
        default: false
  destination_region:
    description: Region of the destination buckets; when given, their versioning is checked too.
    type: str
notes:
  - Supports check mode and diff mode.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Replicate the backups to the disaster-recovery region
  s3_bucket_replication:
    bucket: weekend-planner-staging-backups
    role_arn: "{{ replication_role.iam_role.arn }}"
    destination_region: us-east-2
    rules:
      - id: backups-to-dr
        destination_bucket: weekend-planner-staging-backups-dr
        storage_class: STANDARD_IA
        replica_kms_key_id: "{{ dr_key.key_arn }}"
    region: us-west-2

- name: Stop replicating
  s3_bucket_replication:
    bucket: weekend-planner-staging-backups
    state: absent
    region: us-west-2
"""

RETURN = r"""
replication_configuration:
  description: The configuration after the task, as GetBucketReplication returns it; empty when there is none.
  returned: always
  type: dict
  sample: {"Role": "arn:aws:iam::123456789012:role/replication", "Rules": [{"ID": "backups-to-dr"}]}
"""

from typing import Any

from ansible.module_utils.planner_aws import AWS_ERRORS, aws_client
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

RULE_SPEC = {
    "id": {"type": "str", "required": True},
    "priority": {"type": "int", "default": 1},
    "prefix": {"type": "str", "default": ""},
    "enabled": {"type": "bool", "default": True},
    "destination_bucket": {"type": "str", "required": True},
    "storage_class": {"type": "str"},
    "replica_kms_key_id": {"type": "str", "no_log": False},
    "replicate_kms_encrypted": {"type": "bool", "default": True},
    "delete_marker_replication": {"type": "bool", "default": False},
}


def bucket_arn(name_or_arn: str) -> str:
    return name_or_arn if name_or_arn.startswith("arn:") else f"arn:aws:s3:::{name_or_arn}"


def bucket_name(name_or_arn: str) -> str:
    return name_or_arn.rsplit(":", 1)[-1]


def wanted_rule(rule: dict[str, Any]) -> dict[str, Any]:
    destination: dict[str, Any] = {"Bucket": bucket_arn(rule["destination_bucket"])}
    if rule["storage_class"]:
        destination["StorageClass"] = rule["storage_class"]
    if rule["replica_kms_key_id"]:
        destination["EncryptionConfiguration"] = {"ReplicaKmsKeyID": rule["replica_kms_key_id"]}
    out: dict[str, Any] = {
        "ID": rule["id"],
        "Priority": rule["priority"],
        "Status": "Enabled" if rule["enabled"] else "Disabled",
        "Filter": {"Prefix": rule["prefix"]},
        "DeleteMarkerReplication": {"Status": "Enabled" if rule["delete_marker_replication"] else "Disabled"},
        "Destination": destination,
    }
    if rule["replicate_kms_encrypted"]:
        out["SourceSelectionCriteria"] = {"SseKmsEncryptedObjects": {"Status": "Enabled"}}
    return out


def comparable_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """The managed fields of a rule in one shape, whether it came from AWS or from wanted_rule()."""
    destination = rule.get("Destination", {})
    sse = (rule.get("SourceSelectionCriteria") or {}).get("SseKmsEncryptedObjects") or {}
    prefix = (rule.get("Filter") or {}).get("Prefix", rule.get("Prefix", ""))
    replica_key = (destination.get("EncryptionConfiguration") or {}).get("ReplicaKmsKeyID")
    # S3 refuses a replica key without SseKmsEncryptedObjects enabled, so a rule with a key has it enabled (and
    # reading it from the key keeps emulators that leave SourceSelectionCriteria out of their answer idempotent).
    sse_status = "Enabled" if replica_key else sse.get("Status", "Disabled")
    return {
        "ID": rule.get("ID"),
        "Priority": int(rule.get("Priority") or 0),
        "Status": rule.get("Status"),
        "Prefix": prefix or "",
        "DeleteMarkerReplication": (rule.get("DeleteMarkerReplication") or {}).get("Status", "Disabled"),
        "SseKmsEncryptedObjects": sse_status,
        "Bucket": destination.get("Bucket"),
        "StorageClass": destination.get("StorageClass"),
        "ReplicaKmsKeyID": replica_key,
    }


def comparable(config: dict[str, Any]) -> dict[str, Any]:
    if not config:
        return {}
    rules = sorted((comparable_rule(r) for r in config.get("Rules", [])), key=lambda r: r["ID"] or "")
    return {"Role": config.get("Role"), "Rules": rules}


def current_config(client: Any, bucket: str) -> dict[str, Any]:
    try:
        config = client.get_bucket_replication(aws_retry=True, Bucket=bucket)["ReplicationConfiguration"]
    except is_boto3_error_code("ReplicationConfigurationNotFoundError"):
        return {}
    return config


def versioning_enabled(client: Any, bucket: str) -> bool:
    return client.get_bucket_versioning(aws_retry=True, Bucket=bucket).get("Status") == "Enabled"


def check_prerequisites(module: AnsibleAWSModule, client: Any) -> None:
    p = module.params
    missing = []
    if not versioning_enabled(client, p["bucket"]):
        missing.append(p["bucket"])
    if p["destination_region"]:
        destination = aws_client(module, "s3", region=p["destination_region"])
        for rule in p["rules"]:
            name = bucket_name(rule["destination_bucket"])
            if not versioning_enabled(destination, name):
                missing.append(name)
    if missing:
        module.fail_json(msg=f"replication needs versioning enabled on: {', '.join(missing)}")


def main() -> None:
    argument_spec = {
        "bucket": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "role_arn": {"type": "str"},
        "rules": {"type": "list", "elements": "dict", "default": [], "options": RULE_SPEC},
        "destination_region": {"type": "str"},
    }
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ("role_arn", "rules"))],
    )
    p = module.params
    client = aws_client(module, "s3")
    try:
        before = current_config(client, p["bucket"])
        if p["state"] == "absent":
            if not before:
                module.exit_json(changed=False, replication_configuration={})
            if not module.check_mode:
                client.delete_bucket_replication(aws_retry=True, Bucket=p["bucket"])
            module.exit_json(
                changed=True, replication_configuration={}, diff={"before": comparable(before), "after": {}}
            )

        if not p["rules"]:
            module.fail_json(msg="state=present needs at least one rule")
        for rule in p["rules"]:
            if rule["replica_kms_key_id"] and not rule["replicate_kms_encrypted"]:
                module.fail_json(msg=f"rule {rule['id']}: replica_kms_key_id needs replicate_kms_encrypted=true")
        check_prerequisites(module, client)
        wanted = {"Role": p["role_arn"], "Rules": [wanted_rule(r) for r in p["rules"]]}
        if comparable(before) == comparable(wanted):
            module.exit_json(changed=False, replication_configuration=before)
        diff = {"before": comparable(before), "after": comparable(wanted)}
        if module.check_mode:
            module.exit_json(changed=True, replication_configuration=wanted, diff=diff)
        client.put_bucket_replication(aws_retry=True, Bucket=p["bucket"], ReplicationConfiguration=wanted)
        module.exit_json(changed=True, replication_configuration=current_config(client, p["bucket"]), diff=diff)
    except AWS_ERRORS as err:
        module.fail_json_aws(err, msg="S3 call failed")


if __name__ == "__main__":
    main()
