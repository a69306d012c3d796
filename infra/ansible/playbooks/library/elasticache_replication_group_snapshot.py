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
  region:
    description: AWS region. Falls back to E(AWS_REGION) or E(AWS_DEFAULT_REGION).
    type: str
    aliases: [aws_region]
  endpoint_url:
    description: Endpoint to use instead of AWS's (for example a local emulator). Falls back to E(AWS_URL).
    type: str
    aliases: [aws_endpoint_url]
  access_key:
    description: AWS access key id. Falls back to boto3's own credential chain.
    type: str
    aliases: [aws_access_key_id, aws_access_key]
  secret_key:
    description: AWS secret access key.
    type: str
    aliases: [aws_secret_access_key, aws_secret_key]
  session_token:
    description: AWS session token.
    type: str
    aliases: [aws_session_token]
  profile:
    description: Named profile of the AWS shared configuration.
    type: str
    aliases: [aws_profile]
requirements: [boto3]
notes:
  - Supports check mode.
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

import os
import time
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:  # pragma: no cover - reported by the module
    boto3 = None

AWS_ARGS = {
    "region": {"type": "str", "aliases": ["aws_region"]},
    "endpoint_url": {"type": "str", "aliases": ["aws_endpoint_url"]},
    "access_key": {"type": "str", "aliases": ["aws_access_key_id", "aws_access_key"], "no_log": False},
    "secret_key": {"type": "str", "aliases": ["aws_secret_access_key", "aws_secret_key"], "no_log": True},
    "session_token": {"type": "str", "aliases": ["aws_session_token"], "no_log": True},
    "profile": {"type": "str", "aliases": ["aws_profile"]},
}


def aws_client(module: AnsibleModule, service: str) -> Any:
    p = module.params
    region = p["region"] or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        module.fail_json(msg="region is required (parameter region, or AWS_REGION in the environment)")
    session = boto3.session.Session(
        aws_access_key_id=p["access_key"],
        aws_secret_access_key=p["secret_key"],
        aws_session_token=p["session_token"],
        profile_name=p["profile"],
        region_name=region,
    )
    return session.client(service, endpoint_url=p["endpoint_url"] or os.environ.get("AWS_URL") or None)


def find(client: Any, name: str) -> dict[str, Any] | None:
    try:
        found = client.describe_snapshots(SnapshotName=name)["Snapshots"]
    except ClientError as err:
        if err.response["Error"]["Code"] == "SnapshotNotFoundFault":
            return None
        raise
    return found[0] if found else None


def main() -> None:
    argument_spec = {
        "name": {"type": "str", "required": True},
        "replication_group_id": {"type": "str"},
        "kms_key_id": {"type": "str", "no_log": False},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 3600},
        **AWS_ARGS,
    }
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ("replication_group_id",))],
    )
    if boto3 is None:
        module.fail_json(msg=missing_required_lib("boto3"))
    p = module.params
    client = aws_client(module, "elasticache")
    try:
        snapshot = find(client, p["name"])
        if p["state"] == "absent":
            if snapshot and not module.check_mode:
                client.delete_snapshot(SnapshotName=p["name"])
            module.exit_json(changed=snapshot is not None, snapshot={})
        changed = snapshot is None
        if snapshot is None:
            if module.check_mode:
                module.exit_json(changed=True, snapshot={})
            request = {"SnapshotName": p["name"], "ReplicationGroupId": p["replication_group_id"]}
            if p["kms_key_id"]:
                request["KmsKeyId"] = p["kms_key_id"]
            snapshot = client.create_snapshot(**request)["Snapshot"]
        deadline = time.monotonic() + p["wait_timeout"]
        while p["wait"] and snapshot["SnapshotStatus"] != "available":
            if snapshot["SnapshotStatus"] == "failed":
                module.fail_json(msg=f"snapshot {p['name']} failed")
            if time.monotonic() > deadline:
                module.fail_json(msg=f"timed out waiting for {p['name']} (status {snapshot['SnapshotStatus']})")
            time.sleep(15)
            snapshot = find(client, p["name"]) or snapshot
        module.exit_json(changed=changed, snapshot=snapshot)
    except (BotoCoreError, ClientError) as err:
        module.fail_json(msg=f"ElastiCache call failed: {err}")


if __name__ == "__main__":
    main()
