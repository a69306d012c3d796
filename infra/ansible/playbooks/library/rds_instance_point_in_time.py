#!/usr/bin/python
# Weekend Planner's own module: amazon.aws.rds_instance (creation_source=instance) restores to a point in time only
# from a source instance of the same region (SourceDBInstanceIdentifier); a restore in the disaster-recovery region
# needs SourceDBInstanceAutomatedBackupsArn, the replicated automated backups there, which it cannot pass.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Ansible's module format puts DOCUMENTATION, EXAMPLES and RETURN before the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rds_instance_point_in_time
short_description: Restore an RDS DB instance to a point in time, in its region or from backups replicated to another
description:
  - Calls C(RestoreDBInstanceToPointInTime) in O(region) only when no instance named O(db_instance_identifier) exists
    there, then waits until it is C(available). An existing one is returned unchanged (a restore happens once;
    change the instance afterwards with amazon.aws.rds_instance).
  - Without O(source_region) (or with O(source_region) equal to O(region)) the source is the instance
    O(source_db_instance_identifier) of O(region) (C(SourceDBInstanceIdentifier)).
  - With another O(source_region) the source is that instance's automated backups replicated into O(region) (see
    rds_automated_backups_replication), found with C(DescribeDBInstanceAutomatedBackups) and passed as
    C(SourceDBInstanceAutomatedBackupsArn). This works when the source region is down. O(restore_time) is checked
    against their restorable window before anything is created.
  - Not part of the C(group/aws) module_defaults group, so O(region) and O(endpoint_url) are parameters.
version_added: "1.0.0"
author: Weekend Planner maintainers
options:
  db_instance_identifier:
    description: Identifier of the new (restored) instance.
    type: str
    required: true
  source_db_instance_identifier:
    description: Identifier of the instance whose backups are restored (in O(source_region) when given).
    type: str
    required: true
  source_region:
    description: Region of the source instance, when its backups were replicated into O(region).
    type: str
  restore_time:
    description: UTC moment to restore to, ISO 8601 with an offset or C(Z) (for example C(2026-03-01T02:15:00Z)).
    type: str
  use_latest_restorable_time:
    description: Restore to the latest moment the backups allow (usually within the last five minutes).
    type: bool
    default: false
  db_instance_class:
    description: Instance class of the new instance (the source's when left out).
    type: str
  db_subnet_group_name:
    description: DB subnet group of the new instance.
    type: str
  vpc_security_group_ids:
    description: VPC security groups of the new instance.
    type: list
    elements: str
  multi_az:
    description: Multi-AZ deployment.
    type: bool
    default: true
  publicly_accessible:
    description: Public address.
    type: bool
    default: false
  deletion_protection:
    description: Deletion protection on the new instance.
    type: bool
    default: true
  copy_tags_to_snapshot:
    description: Copy the instance's tags to its snapshots.
    type: bool
    default: true
  tags:
    description: Tags of the new instance.
    type: dict
    default: {}
  wait:
    description: Wait until the new instance is available.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait at most.
    type: int
    default: 7200
notes:
  - Supports check mode.
  - Exactly one of O(restore_time) and O(use_latest_restorable_time=true) is required.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Restore the production primary in the DR region as it was at 02:15 UTC
  rds_instance_point_in_time:
    db_instance_identifier: weekend-planner-production-dr
    source_db_instance_identifier: weekend-planner-production-primary
    source_region: us-west-2
    restore_time: "2026-03-01T02:15:00Z"
    db_subnet_group_name: weekend-planner-production-dr
    vpc_security_group_ids: [sg-0123456789abcdef0]
    region: us-east-2
"""

RETURN = r"""
instance:
  description: The restored instance as DescribeDBInstances returns it (keys as AWS spells them); empty in check mode.
  returned: always
  type: dict
  sample: {"DBInstanceIdentifier": "weekend-planner-production-dr", "DBInstanceStatus": "available"}
source:
  description:
    - What it restores from (C(SourceDBInstanceIdentifier) or C(SourceDBInstanceAutomatedBackupsArn)).
    - Empty when the instance existed already.
  returned: always
  type: dict
"""

from datetime import UTC, datetime
from typing import Any

from ansible.module_utils.planner_aws import AWS_ERRORS, aws_client, wait_until_available
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list


def find(client: Any, identifier: str) -> dict[str, Any] | None:
    try:
        return client.describe_db_instances(aws_retry=True, DBInstanceIdentifier=identifier)["DBInstances"][0]
    except is_boto3_error_code("DBInstanceNotFound"):
        return None


def parse_time(module: AnsibleAWSModule, text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        module.fail_json(msg=f"restore_time {text!r} is not an ISO 8601 date-time")
    if moment.tzinfo is None:
        module.fail_json(msg=f"restore_time {text!r} has no offset: give it in UTC with Z (RDS restores to UTC times)")
    return moment.astimezone(UTC)


def replicated_backups(module: AnsibleAWSModule, client: Any, identifier: str, source_region: str) -> dict[str, Any]:
    """The replicated automated backups of the source instance in this region, compared by identifier and source
    region (the instance's ARN needs the source region's API, which may be the one that is down). Running ones
    first; "retained" ones (the source instance was deleted, or replication stopped) restore too."""
    paginator = client.get_paginator("describe_db_instance_automated_backups")
    backups = paginator.paginate().build_full_result().get("DBInstanceAutomatedBackups", [])
    ours = [
        b
        for b in backups
        if b.get("DBInstanceIdentifier") == identifier
        and b.get("Region") == source_region
        and b.get("DBInstanceAutomatedBackupsArn")
    ]
    if not ours:
        module.fail_json(
            msg=(
                f"no automated backups of {identifier} from {source_region} are replicated into {module.region}: "
                "turn replication on (rds_automated_backups_replication) or restore a snapshot copy instead"
            ),
            automated_backups=backups,
        )
    return sorted(ours, key=lambda b: b.get("Status") == "retained")[0]


def check_window(module: AnsibleAWSModule, backups: dict[str, Any], moment: datetime) -> None:
    window = backups.get("RestoreWindow") or {}
    earliest, latest = window.get("EarliestTime"), window.get("LatestTime")
    if earliest and moment < earliest.astimezone(UTC):
        module.fail_json(msg=f"restore_time {moment.isoformat()} is before the earliest restorable time {earliest}")
    if latest and moment > latest.astimezone(UTC):
        module.fail_json(msg=f"restore_time {moment.isoformat()} is after the latest restorable time {latest}")


def main() -> None:
    argument_spec = {
        "db_instance_identifier": {"type": "str", "required": True},
        "source_db_instance_identifier": {"type": "str", "required": True},
        "source_region": {"type": "str"},
        "restore_time": {"type": "str"},
        "use_latest_restorable_time": {"type": "bool", "default": False},
        "db_instance_class": {"type": "str"},
        "db_subnet_group_name": {"type": "str"},
        "vpc_security_group_ids": {"type": "list", "elements": "str"},
        "multi_az": {"type": "bool", "default": True},
        "publicly_accessible": {"type": "bool", "default": False},
        "deletion_protection": {"type": "bool", "default": True},
        "copy_tags_to_snapshot": {"type": "bool", "default": True},
        "tags": {"type": "dict", "default": {}},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 7200},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    if not module.region:
        module.fail_json(msg="region (where the instance is restored) is required")
    if bool(p["restore_time"]) == bool(p["use_latest_restorable_time"]):
        module.fail_json(msg="give exactly one of restore_time and use_latest_restorable_time=true")
    moment = parse_time(module, p["restore_time"]) if p["restore_time"] else None
    client = aws_client(module, "rds")
    target = p["db_instance_identifier"]
    try:
        instance = find(client, target)
        if instance is not None:
            # Restored already (a second run): nothing to look up, nothing to change.
            module.exit_json(changed=False, instance=instance, source={})
        request: dict[str, Any] = {}
        if p["source_region"] and p["source_region"] != module.region:
            backups = replicated_backups(module, client, p["source_db_instance_identifier"], p["source_region"])
            if moment:
                check_window(module, backups, moment)
            request["SourceDBInstanceAutomatedBackupsArn"] = backups["DBInstanceAutomatedBackupsArn"]
        else:
            request["SourceDBInstanceIdentifier"] = p["source_db_instance_identifier"]
        source = dict(request)
        if module.check_mode:
            module.exit_json(changed=True, instance={}, source=source)
        request.update(
            TargetDBInstanceIdentifier=target,
            MultiAZ=p["multi_az"],
            PubliclyAccessible=p["publicly_accessible"],
            DeletionProtection=p["deletion_protection"],
            CopyTagsToSnapshot=p["copy_tags_to_snapshot"],
            Tags=ansible_dict_to_boto3_tag_list(p["tags"]),
        )
        if moment:
            request["RestoreTime"] = moment
        else:
            request["UseLatestRestorableTime"] = True
        optional = {
            "DBInstanceClass": p["db_instance_class"],
            "DBSubnetGroupName": p["db_subnet_group_name"],
            "VpcSecurityGroupIds": p["vpc_security_group_ids"],
        }
        request.update({key: value for key, value in optional.items() if value})
        instance = client.restore_db_instance_to_point_in_time(aws_retry=True, **request)["DBInstance"]
        instance = wait_until_available(
            module,
            instance,
            lambda: find(client, target),
            "DBInstanceStatus",
            f"instance {target}",
            failed=("failed", "incompatible-restore", "incompatible-parameters", "storage-full"),
        )
        module.exit_json(changed=True, instance=instance, source=source)
    except AWS_ERRORS as err:
        module.fail_json_aws(err, msg="RDS call failed")


if __name__ == "__main__":
    main()
