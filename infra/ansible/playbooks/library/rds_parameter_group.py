#!/usr/bin/python
# Weekend Planner's own module. amazon.aws.rds_instance_param_group does the same against AWS, but it reads a
# missing group as "DBParameterGroupNotFound" and the engine defaults as present in every group; moto answers
# the first with an empty list (IndexError in the collection module) and lists only user-set parameters.
# This module relies on neither, so the same task runs against AWS and the emulator the tests use.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Ansible's module format puts DOCUMENTATION, EXAMPLES and RETURN before the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rds_parameter_group
short_description: Create, update or delete an RDS DB parameter group
description:
  - Creates the group when it is missing, sets only the parameters whose user value differs, keeps the tags in line
    and deletes the group with O(state=absent).
  - Static parameters (or parameters whose apply type is unknown) are set with the C(pending-reboot) apply method,
    dynamic ones C(immediate).
  - Uses the amazon.aws connection options (O(region), O(endpoint_url), credentials); it is not in the C(group/aws)
    module_defaults group, so tasks pass O(region) and O(endpoint_url) themselves.
version_added: "1.0.0"
author: Weekend Planner maintainers
options:
  name:
    description: Name of the parameter group.
    type: str
    required: true
  family:
    description: Parameter group family, e.g. C(postgres16). Required to create the group.
    type: str
  description:
    description: Description given at creation.
    type: str
  parameters:
    description: Parameter names and values (values are compared as strings).
    type: dict
    default: {}
  tags:
    description: Tags on the group (others are removed).
    type: dict
    default: {}
  state:
    description: Whether the group should exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: PostgreSQL parameters
  rds_parameter_group:
    name: weekend-planner-staging-postgres16
    family: postgres16
    description: Weekend Planner PostgreSQL parameters
    parameters:
      shared_preload_libraries: pg_stat_statements
      log_statement: ddl
    region: us-west-2
"""

RETURN = r"""
changed_parameters:
  description: Names of the parameters this run set.
  returned: always
  type: list
  elements: str
arn:
  description: ARN of the group.
  returned: when the group exists
  type: str
"""

from typing import Any

from ansible.module_utils.planner_aws import AWS_ERRORS, aws_client
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def find_group(client: Any, name: str) -> dict[str, Any] | None:
    try:
        groups = client.describe_db_parameter_groups(aws_retry=True, DBParameterGroupName=name)["DBParameterGroups"]
    except is_boto3_error_code("DBParameterGroupNotFound"):
        return None
    return groups[0] if groups else None


def current_parameters(client: Any, name: str) -> dict[str, dict[str, Any]]:
    paginator = client.get_paginator("describe_db_parameters")
    pages = paginator.paginate(DBParameterGroupName=name).build_full_result()
    return {p["ParameterName"]: p for p in pages.get("Parameters", [])}


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def sync_tags(module: AnsibleAWSModule, client: Any, arn: str, wanted: dict[str, str]) -> bool:
    listed = client.list_tags_for_resource(aws_retry=True, ResourceName=arn)["TagList"]
    current = {t["Key"]: t["Value"] for t in listed}
    to_add = {k: str(v) for k, v in wanted.items() if current.get(k) != str(v)}
    to_remove = [k for k in current if k not in wanted]
    if not (to_add or to_remove):
        return False
    if not module.check_mode:
        if to_remove:
            client.remove_tags_from_resource(aws_retry=True, ResourceName=arn, TagKeys=to_remove)
        if to_add:
            tags = [{"Key": k, "Value": v} for k, v in to_add.items()]
            client.add_tags_to_resource(aws_retry=True, ResourceName=arn, Tags=tags)
    return True


def ensure_present(module: AnsibleAWSModule, client: Any) -> dict[str, Any]:
    p = module.params
    changed = False
    group = find_group(client, p["name"])
    if group is None:
        if not p["family"]:
            module.fail_json(msg="family is required to create the parameter group")
        changed = True
        if module.check_mode:
            return {"changed": True, "changed_parameters": sorted(p["parameters"])}
        tags = [{"Key": k, "Value": str(v)} for k, v in p["tags"].items()]
        group = client.create_db_parameter_group(
            aws_retry=True,
            DBParameterGroupName=p["name"],
            DBParameterGroupFamily=p["family"],
            Description=p["description"] or p["name"],
            Tags=tags,
        )["DBParameterGroup"]
    elif p["family"] and group["DBParameterGroupFamily"] != p["family"]:
        module.fail_json(msg=f"{p['name']} belongs to family {group['DBParameterGroupFamily']}, not {p['family']}")
    else:
        changed |= sync_tags(module, client, group["DBParameterGroupArn"], p["tags"])

    existing = current_parameters(client, p["name"])
    updates = []
    for name, value in p["parameters"].items():
        known = existing.get(name, {})
        if known.get("ParameterValue") == as_text(value):
            continue
        method = "immediate" if known.get("ApplyType") == "dynamic" else "pending-reboot"
        updates.append({"ParameterName": name, "ParameterValue": as_text(value), "ApplyMethod": method})
    if updates:
        changed = True
        if not module.check_mode:
            for start in range(0, len(updates), 20):  # ModifyDBParameterGroup takes at most 20 at a time
                client.modify_db_parameter_group(
                    aws_retry=True, DBParameterGroupName=p["name"], Parameters=updates[start : start + 20]
                )
    return {
        "changed": changed,
        "changed_parameters": [u["ParameterName"] for u in updates],
        "arn": group.get("DBParameterGroupArn"),
    }


def ensure_absent(module: AnsibleAWSModule, client: Any) -> dict[str, Any]:
    if find_group(client, module.params["name"]) is None:
        return {"changed": False, "changed_parameters": []}
    if not module.check_mode:
        client.delete_db_parameter_group(aws_retry=True, DBParameterGroupName=module.params["name"])
    return {"changed": True, "changed_parameters": []}


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "family": {"type": "str"},
            "description": {"type": "str"},
            "parameters": {"type": "dict", "default": {}},
            "tags": {"type": "dict", "default": {}},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        },
        supports_check_mode=True,
    )
    client = aws_client(module, "rds")
    try:
        if module.params["state"] == "present":
            result = ensure_present(module, client)
        else:
            result = ensure_absent(module, client)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Could not manage parameter group {module.params['name']}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
