#!/usr/bin/python
# Weekend Planner's own module: amazon.aws.rds_instance_snapshot copies snapshots but cannot name the destination
# region's KMS key, which a cross-region copy of an encrypted snapshot needs.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Ansible's module format puts DOCUMENTATION, EXAMPLES and RETURN before the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rds_snapshot_copy
short_description: Copy an RDS DB snapshot into another region, re-encrypted with that region's KMS key
description:
  - Calls C(CopyDBSnapshot) in O(region) (the destination) from O(source_region) only when no snapshot named
    O(target_snapshot_identifier) exists there yet; waits until the copy is C(available).
  - Not part of the C(group/aws) module_defaults group, so O(region) and O(endpoint_url) are parameters.
version_added: "1.0.0"
author: Weekend Planner maintainers
options:
  source_snapshot_identifier:
    description: Identifier (or ARN) of the snapshot in O(source_region).
    type: str
    required: true
  source_region:
    description: Region the snapshot is in.
    type: str
    required: true
  target_snapshot_identifier:
    description: Identifier of the copy in O(region).
    type: str
    required: true
  kms_key_id:
    description: KMS key in O(region) that encrypts the copy (required for an encrypted source).
    type: str
  copy_tags:
    description: Copy the source snapshot's tags.
    type: bool
    default: true
  wait:
    description: Wait until the copy is available.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait at most.
    type: int
    default: 3600
notes:
  - Supports check mode.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Copy tonight's snapshot to the disaster-recovery region
  rds_snapshot_copy:
    source_snapshot_identifier: weekend-planner-production-primary-20260101-030000
    source_region: us-west-2
    target_snapshot_identifier: weekend-planner-production-primary-20260101-030000
    kms_key_id: "{{ s3_dr_kms_key_arn }}"
    region: us-east-2
"""

RETURN = r"""
snapshot:
  description: The copy as DescribeDBSnapshots returns it (keys as AWS spells them); empty in check mode.
  returned: always
  type: dict
  sample: {"DBSnapshotIdentifier": "weekend-planner-production-primary-20260101-030000", "Status": "available"}
"""

from typing import Any

from ansible.module_utils.planner_aws import AWS_ERRORS, aws_client, wait_until_available
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def find(client: Any, identifier: str) -> dict[str, Any] | None:
    try:
        return client.describe_db_snapshots(aws_retry=True, DBSnapshotIdentifier=identifier)["DBSnapshots"][0]
    except is_boto3_error_code("DBSnapshotNotFound"):
        return None


def main() -> None:
    argument_spec = {
        "source_snapshot_identifier": {"type": "str", "required": True},
        "source_region": {"type": "str", "required": True},
        "target_snapshot_identifier": {"type": "str", "required": True},
        "kms_key_id": {"type": "str", "no_log": False},
        "copy_tags": {"type": "bool", "default": True},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 3600},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    if not module.region:
        module.fail_json(msg="region (the destination) is required")
    client = aws_client(module, "rds")
    try:
        copy = find(client, p["target_snapshot_identifier"])
        changed = copy is None
        if copy is None:
            if module.check_mode:
                module.exit_json(changed=True, snapshot={})
            source = p["source_snapshot_identifier"]
            if not source.startswith("arn:"):
                origin = aws_client(module, "rds", region=p["source_region"])
                found = find(origin, source)
                if found is None:
                    module.fail_json(msg=f"no snapshot {source} in {p['source_region']}")
                source = found["DBSnapshotArn"]
            request: dict[str, Any] = {
                "SourceDBSnapshotIdentifier": source,
                "TargetDBSnapshotIdentifier": p["target_snapshot_identifier"],
                "CopyTags": p["copy_tags"],
                "SourceRegion": p["source_region"],
            }
            if p["kms_key_id"]:
                request["KmsKeyId"] = p["kms_key_id"]
            copy = client.copy_db_snapshot(aws_retry=True, **request)["DBSnapshot"]
        target = p["target_snapshot_identifier"]
        copy = wait_until_available(
            module, copy, lambda: find(client, target), "Status", f"copy {target}", failed=("failed", "error")
        )
        module.exit_json(changed=changed, snapshot=copy)
    except AWS_ERRORS as err:
        module.fail_json_aws(err, msg="RDS call failed")


if __name__ == "__main__":
    main()
