#!/usr/bin/python
# Weekend Planner's own module: community.aws.elasticache_snapshot sends both ReplicationGroupId and CacheClusterId
# (one of them None), which boto3 refuses, so it cannot snapshot a replication group.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Ansible's module format puts DOCUMENTATION, EXAMPLES and RETURN before the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: elasticache_replication_group_snapshot
short_description: Take a manual snapshot of an ElastiCache replication group
description:
  - Calls C(CreateSnapshot) for the replication group only when no snapshot named O(name) exists; waits until it is
    C(available). With O(state=absent) deletes the snapshot.
  - Not part of the C(group/aws) module_defaults group, so O(region) and O(endpoint_url) are parameters.
version_added: "1.0.0"
author: Weekend Planner maintainers
options:
  name:
    description: Name of the snapshot.
    type: str
    required: true
  replication_group_id:
    description: Replication group to snapshot (required with O(state=present)).
    type: str
  kms_key_id:
    description: KMS key that encrypts the snapshot (the group's own when omitted).
    type: str
  state:
    description: Whether the snapshot should exist.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description: Wait until the snapshot is available.
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
- name: Snapshot Redis before a risky change
  elasticache_replication_group_snapshot:
    name: weekend-planner-production-redis-20260101-030000
    replication_group_id: weekend-planner-production-redis
    region: us-west-2
"""

RETURN = r"""
snapshot:
  description: The snapshot as DescribeSnapshots returns it (keys as AWS spells them); empty when absent.
  returned: always
  type: dict
  sample: {"SnapshotName": "weekend-planner-production-redis-20260101-030000", "SnapshotStatus": "available"}
"""

from typing import Any

from ansible.module_utils.planner_aws import AWS_ERRORS, aws_client, wait_until_available
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def find(client: Any, name: str) -> dict[str, Any] | None:
    try:
        found = client.describe_snapshots(aws_retry=True, SnapshotName=name)["Snapshots"]
    except is_boto3_error_code("SnapshotNotFoundFault"):
        return None
    return found[0] if found else None


def main() -> None:
    argument_spec = {
        "name": {"type": "str", "required": True},
        "replication_group_id": {"type": "str"},
        "kms_key_id": {"type": "str", "no_log": False},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 3600},
    }
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ("replication_group_id",))],
    )
    p = module.params
    client = aws_client(module, "elasticache")
    try:
        snapshot = find(client, p["name"])
        if p["state"] == "absent":
            if snapshot and not module.check_mode:
                client.delete_snapshot(aws_retry=True, SnapshotName=p["name"])
            module.exit_json(changed=snapshot is not None, snapshot={})
        changed = snapshot is None
        if snapshot is None:
            if module.check_mode:
                module.exit_json(changed=True, snapshot={})
            request = {"SnapshotName": p["name"], "ReplicationGroupId": p["replication_group_id"]}
            if p["kms_key_id"]:
                request["KmsKeyId"] = p["kms_key_id"]
            snapshot = client.create_snapshot(aws_retry=True, **request)["Snapshot"]
        snapshot = wait_until_available(
            module, snapshot, lambda: find(client, p["name"]), "SnapshotStatus", f"snapshot {p['name']}"
        )
        module.exit_json(changed=changed, snapshot=snapshot)
    except AWS_ERRORS as err:
        module.fail_json_aws(err, msg="ElastiCache call failed")


if __name__ == "__main__":
    main()
