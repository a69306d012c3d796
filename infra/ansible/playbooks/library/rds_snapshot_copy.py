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
  region:
    description: Destination region. Falls back to E(AWS_REGION) or E(AWS_DEFAULT_REGION).
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


def aws_client(module: AnsibleModule, service: str, region: str) -> Any:
    p = module.params
    session = boto3.session.Session(
        aws_access_key_id=p["access_key"],
        aws_secret_access_key=p["secret_key"],
        aws_session_token=p["session_token"],
        profile_name=p["profile"],
        region_name=region,
    )
    return session.client(service, endpoint_url=p["endpoint_url"] or os.environ.get("AWS_URL") or None)


def find(client: Any, identifier: str) -> dict[str, Any] | None:
    try:
        return client.describe_db_snapshots(DBSnapshotIdentifier=identifier)["DBSnapshots"][0]
    except ClientError as err:
        if err.response["Error"]["Code"] == "DBSnapshotNotFound":
            return None
        raise


def main() -> None:
    argument_spec = {
        "source_snapshot_identifier": {"type": "str", "required": True},
        "source_region": {"type": "str", "required": True},
        "target_snapshot_identifier": {"type": "str", "required": True},
        "kms_key_id": {"type": "str", "no_log": False},
        "copy_tags": {"type": "bool", "default": True},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 3600},
        **AWS_ARGS,
    }
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if boto3 is None:
        module.fail_json(msg=missing_required_lib("boto3"))
    p = module.params
    region = p["region"] or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        module.fail_json(msg="region (the destination) is required")
    client = aws_client(module, "rds", region)
    try:
        copy = find(client, p["target_snapshot_identifier"])
        changed = copy is None
        if copy is None:
            if module.check_mode:
                module.exit_json(changed=True, snapshot={})
            source = p["source_snapshot_identifier"]
            if not source.startswith("arn:"):
                origin = aws_client(module, "rds", p["source_region"])
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
            copy = client.copy_db_snapshot(**request)["DBSnapshot"]
        deadline = time.monotonic() + p["wait_timeout"]
        while p["wait"] and copy["Status"] != "available":
            if copy["Status"] in ("failed", "error"):
                module.fail_json(msg=f"copy {p['target_snapshot_identifier']} is {copy['Status']}")
            if time.monotonic() > deadline:
                target = p["target_snapshot_identifier"]
                module.fail_json(msg=f"timed out waiting for {target} (status {copy['Status']})")
            time.sleep(15)
            copy = find(client, p["target_snapshot_identifier"]) or copy
        module.exit_json(changed=changed, snapshot=copy)
    except (BotoCoreError, ClientError) as err:
        module.fail_json(msg=f"RDS call failed: {err}")


if __name__ == "__main__":
    main()
