#!/usr/bin/python
# Weekend Planner's own module: no amazon.aws or community.aws module starts or stops RDS cross-region replication
# of automated backups, which gives point-in-time recovery in the disaster-recovery region.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Ansible's module format puts DOCUMENTATION, EXAMPLES and RETURN before the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rds_automated_backups_replication
short_description: Replicate an RDS instance's automated backups (snapshots and transaction logs) to another region
description:
  - Works in O(region), the destination. Looks for the replicated automated backups of the source instance there
    with C(DescribeDBInstanceAutomatedBackups); with O(state=present) calls
    C(StartDBInstanceAutomatedBackupsReplication) only when there are none, with O(state=absent) calls
    C(StopDBInstanceAutomatedBackupsReplication) only when there are some. Both calls are made in the destination
    region, as AWS requires.
  - Once replication runs, the destination region can restore the instance to any second of the replicated
    retention period (C(RestoreDBInstanceToPointInTime) with C(SourceDBInstanceAutomatedBackupsArn); see the
    module rds_instance_point_in_time).
  - AWS has no call that changes the retention of a running replication; a different O(backup_retention_period)
    is reported as a warning (stop and start it again to change it, which starts a new backup chain).
  - Stopping keeps the replicated backups as C(retained) until their retention passes.
  - Not part of the C(group/aws) module_defaults group, so O(region) and O(endpoint_url) are parameters.
version_added: "1.0.0"
author: Weekend Planner maintainers
options:
  source_db_instance_identifier:
    description: Identifier or ARN of the DB instance in O(source_region) whose backups are replicated.
    type: str
    required: true
  source_region:
    description: Region of the source instance; must differ from O(region).
    type: str
    required: true
  kms_key_id:
    description:
      - ARN of a KMS key in O(region) that encrypts the replicated backups (required for an encrypted source).
      - A key of another region is refused before any call: KMS keys do not cross regions.
    type: str
  backup_retention_period:
    description: Days the replicated backups are kept (1 to 35).
    type: int
    default: 7
  state:
    description: Whether the backups are replicated to O(region).
    type: str
    choices: [present, absent]
    default: present
notes:
  - Supports check mode.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Replicate the primary's automated backups to the disaster-recovery region
  rds_automated_backups_replication:
    source_db_instance_identifier: weekend-planner-production-primary
    source_region: us-west-2
    kms_key_id: "{{ s3_dr_kms_key_arn }}"
    backup_retention_period: 7
    region: us-east-2
"""

RETURN = r"""
automated_backups:
  description:
    - The replicated automated backups in O(region) as DescribeDBInstanceAutomatedBackups returns them (keys as AWS
      spells them), after the change; empty when there are none, and in check mode when they would be created.
  returned: always
  type: dict
  sample: {"DBInstanceAutomatedBackupsArn": "arn:aws:rds:us-east-2:123456789012:auto-backup:ab-abc", "Status": "active"}
source_db_instance_arn:
  description: ARN of the source instance.
  returned: always
  type: str
"""

import re
from typing import Any

from ansible.module_utils.planner_aws import AWS_ERRORS, aws_client
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

ARN_REGION = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:(?P<region>[a-z0-9-]*):")
# "retained" backups belong to a deleted instance or a stopped replication: they are not a running one.
ENDED = ("retained",)


def region_of(arn: str) -> str | None:
    found = ARN_REGION.match(arn)
    return found.group("region") if found else None


def source_arn(module: AnsibleAWSModule, identifier: str, region: str) -> str:
    if identifier.startswith("arn:"):
        return identifier
    client = aws_client(module, "rds", region=region)
    try:
        instances = client.describe_db_instances(aws_retry=True, DBInstanceIdentifier=identifier)["DBInstances"]
    except is_boto3_error_code("DBInstanceNotFound"):
        module.fail_json(msg=f"no DB instance {identifier} in {region}")
    return str(instances[0]["DBInstanceArn"])


def replicated(client: Any, arn: str) -> list[dict[str, Any]]:
    """The running replications of the instance with this ARN in the client's region.

    The filter narrows the answer; the ARN is compared again because the filter also accepts identifiers (a
    same-named instance of another region must not count)."""
    paginator = client.get_paginator("describe_db_instance_automated_backups")
    pages = paginator.paginate(Filters=[{"Name": "db-instance-id", "Values": [arn]}]).build_full_result()
    backups = pages.get("DBInstanceAutomatedBackups", [])
    return [b for b in backups if b.get("DBInstanceArn") == arn and b.get("Status") not in ENDED]


def main() -> None:
    argument_spec = {
        "source_db_instance_identifier": {"type": "str", "required": True},
        "source_region": {"type": "str", "required": True},
        "kms_key_id": {"type": "str", "no_log": False},
        "backup_retention_period": {"type": "int", "default": 7},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    if not module.region:
        module.fail_json(msg="region (the destination) is required")
    if p["source_region"] == module.region:
        module.fail_json(msg=f"source_region and region are both {module.region}: replication is to another region")
    if not 1 <= p["backup_retention_period"] <= 35:
        module.fail_json(msg=f"backup_retention_period is {p['backup_retention_period']}: RDS keeps 1 to 35 days")
    key_region = region_of(p["kms_key_id"] or "")
    if key_region and key_region != module.region:
        module.fail_json(
            msg=f"kms_key_id is a key of {key_region}; the replicated backups need a key of {module.region}"
        )
    try:
        arn = source_arn(module, p["source_db_instance_identifier"], p["source_region"])
        client = aws_client(module, "rds")
        running = replicated(client, arn)
        if p["state"] == "absent":
            if running and not module.check_mode:
                client.stop_db_instance_automated_backups_replication(aws_retry=True, SourceDBInstanceArn=arn)
                after = replicated(client, arn)
                module.exit_json(changed=True, automated_backups=after[0] if after else {}, source_db_instance_arn=arn)
            module.exit_json(changed=bool(running), automated_backups={}, source_db_instance_arn=arn)
        if running:
            kept = running[0].get("BackupRetentionPeriod")
            if kept is not None and kept != p["backup_retention_period"]:
                module.warn(
                    f"the replicated backups are kept {kept} days, not {p['backup_retention_period']}: AWS cannot "
                    "change a running replication (stop it and start it again)"
                )
            module.exit_json(changed=False, automated_backups=running[0], source_db_instance_arn=arn)
        if module.check_mode:
            module.exit_json(changed=True, automated_backups={}, source_db_instance_arn=arn)
        request: dict[str, Any] = {
            "SourceDBInstanceArn": arn,
            "BackupRetentionPeriod": p["backup_retention_period"],
            # botocore signs the PreSignedUrl for the source region from this.
            "SourceRegion": p["source_region"],
        }
        if p["kms_key_id"]:
            request["KmsKeyId"] = p["kms_key_id"]
        started = client.start_db_instance_automated_backups_replication(aws_retry=True, **request)
        backups = started["DBInstanceAutomatedBackup"]
        module.exit_json(changed=True, automated_backups=backups, source_db_instance_arn=arn)
    except AWS_ERRORS as err:
        module.fail_json_aws(err, msg="RDS call failed")


if __name__ == "__main__":
    main()
