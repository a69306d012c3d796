#!/usr/bin/python
# Weekend Planner's own module: amazon.aws/community.aws have no module that creates ElastiCache replication groups
# (community.aws.elasticache manages single cache clusters only).
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Ansible's module format puts DOCUMENTATION, EXAMPLES and RETURN before the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: elasticache_replication_group
short_description: Create, update or delete an ElastiCache (Redis OSS / Valkey) replication group
description:
  - Manages a replication group with cluster mode disabled (one primary and read replicas) through boto3.
  - Compares the wanted settings with the group's current ones and calls C(CreateReplicationGroup),
    C(ModifyReplicationGroup), C(IncreaseReplicaCount)/C(DecreaseReplicaCount) or tag calls only for what differs.
  - Settings that AWS fixes at creation (engine, port, subnet group, encryption at rest and its key, encryption in
    transit) are never changed in place; a difference fails the task, since replacing the group loses its data.
  - The auth token cannot be read back; it is sent on creation, and again only when O(rotate_auth_token=true)
    or when the group has no token yet.
  - Not part of the C(group/aws) module_defaults group, so O(region) and O(endpoint_url) are parameters.
version_added: "1.0.0"
author: Weekend Planner maintainers
options:
  replication_group_id:
    description: Identifier of the replication group (1-40 letters, digits or hyphens, starting with a letter).
    type: str
    required: true
  description:
    description: Human-readable description of the group.
    type: str
    default: Managed by Ansible
  state:
    description: Whether the group should exist.
    type: str
    choices: [present, absent]
    default: present
  engine:
    description: Cache engine.
    type: str
    choices: [redis, valkey]
    default: redis
  engine_version:
    description: Engine version, such as C(7.1). Compared by prefix with the nodes' running version.
    type: str
  node_type:
    description: Node type, such as C(cache.r7g.large). Required to create the group.
    type: str
  num_cache_clusters:
    description:
      - Number of nodes, the primary included (2 to 6 with automatic failover).
      - Sent as one node group with O(num_cache_clusters) - 1 replicas (C(NumNodeGroups=1), C(ReplicasPerNodeGroup)),
        the form AWS documents for cluster mode disabled alongside C(NumCacheClusters).
    type: int
    default: 3
  multi_az:
    description: Place the replicas in other availability zones and fail over across them.
    type: bool
    default: true
  automatic_failover:
    description: Promote a replica when the primary fails. Required by O(multi_az).
    type: bool
    default: true
  at_rest_encryption:
    description: Encrypt data on disk and in snapshots. Fixed at creation.
    type: bool
    default: true
  transit_encryption:
    description: Require TLS between clients and nodes. Fixed at creation here.
    type: bool
    default: true
  kms_key_id:
    description: KMS key (ARN or id) for encryption at rest. Fixed at creation.
    type: str
  auth_token:
    description: Redis AUTH token (16-128 printable characters). Needs O(transit_encryption=true).
    type: str
  rotate_auth_token:
    description: Send O(auth_token) again with the C(ROTATE) strategy (old and new token both valid until the next
      C(SET)).
    type: bool
    default: false
  port:
    description: Port the nodes listen on. Fixed at creation.
    type: int
    default: 6379
  cache_subnet_group:
    description: Name of the cache subnet group (the private subnets). Fixed at creation.
    type: str
  cache_parameter_group:
    description: Name of the cache parameter group.
    type: str
  security_group_ids:
    description: VPC security groups of the nodes.
    type: list
    elements: str
  snapshot_retention_limit:
    description: Days automatic snapshots are kept (0 turns them off).
    type: int
  snapshot_window:
    description: Daily UTC window for automatic snapshots, C(hh24:mi-hh24:mi).
    type: str
  maintenance_window:
    description: Weekly UTC maintenance window, C(ddd:hh24:mi-ddd:hh24:mi).
    type: str
  slow_log_group:
    description: CloudWatch Logs group that receives the slow log (text format). Only used on creation.
    type: str
  tags:
    description: Tags of the group. Tags not listed are removed when O(purge_tags=true).
    type: dict
  purge_tags:
    description: Remove tags that are not in O(tags).
    type: bool
    default: true
  apply_immediately:
    description: Apply modifications now rather than in the next maintenance window.
    type: bool
    default: true
  final_snapshot_identifier:
    description: On deletion, name of a final snapshot to take first.
    type: str
  wait:
    description: Wait until the group is C(available) (or gone, when deleting).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait at most.
    type: int
    default: 2400
notes:
  - Supports check mode and diff mode.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Redis for cache and Celery broker
  elasticache_replication_group:
    replication_group_id: weekend-planner-staging-redis
    description: Weekend Planner Redis
    engine_version: "7.1"
    node_type: cache.r7g.large
    num_cache_clusters: 3
    kms_key_id: "{{ kms_key_arn }}"
    auth_token: "{{ vault_elasticache_auth_token }}"
    cache_subnet_group: weekend-planner-staging-redis
    cache_parameter_group: weekend-planner-staging-redis7
    security_group_ids: ["{{ network_redis_sg_id }}"]
    snapshot_retention_limit: 7
    snapshot_window: "02:00-03:00"
    maintenance_window: "sun:03:00-sun:04:00"
    region: us-west-2
  no_log: true

- name: Delete it, keeping a final snapshot
  elasticache_replication_group:
    replication_group_id: weekend-planner-staging-redis
    state: absent
    final_snapshot_identifier: weekend-planner-staging-redis-final
    region: us-west-2
"""

RETURN = r"""
replication_group:
  description: The group as DescribeReplicationGroups returns it, keys in snake_case; empty when absent.
  returned: always
  type: dict
  sample: {"replication_group_id": "weekend-planner-staging-redis", "status": "available", "multi_az": "enabled"}
primary_endpoint:
  description: Address and port of the primary (writes).
  returned: when the group exists
  type: dict
  sample: {"address": "master.weekend-planner-staging-redis.abc123.usw2.cache.amazonaws.com", "port": 6379}
reader_endpoint:
  description: Address and port spread over the replicas (reads).
  returned: when the group exists
  type: dict
changes:
  description: Names of the settings that differed and were (or, in check mode, would be) changed.
  returned: always
  type: list
  elements: str
  sample: ["snapshot_retention_limit", "tags"]
"""

import time
from typing import Any

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible.module_utils.planner_aws import AWS_ERRORS, aws_client
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

# States from which the group settles by itself; anything else (create-failed, ...) is reported as it is.
TRANSIENT = {"creating", "modifying", "snapshotting"}
POLL_SECONDS = 10


def describe(client: Any, group_id: str) -> dict[str, Any] | None:
    try:
        return client.describe_replication_groups(aws_retry=True, ReplicationGroupId=group_id)["ReplicationGroups"][0]
    except is_boto3_error_code("ReplicationGroupNotFoundFault"):
        return None


def first_member(client: Any, group: dict[str, Any]) -> dict[str, Any]:
    """Settings kept per node (parameter group, security groups, maintenance window, engine version).

    DescribeReplicationGroups does not return them; an emulator that keeps no member clusters gives {} and those
    settings are then left uncompared rather than reported as different on every run.
    """
    members = group.get("MemberClusters") or []
    if not members:
        return {}
    try:
        clusters = client.describe_cache_clusters(aws_retry=True, CacheClusterId=members[0])["CacheClusters"]
    except is_boto3_error_code("CacheClusterNotFound"):
        return {}
    return clusters[0] if clusters else {}


def current_tags(client: Any, arn: str) -> dict[str, str]:
    return {
        t["Key"]: t["Value"] for t in client.list_tags_for_resource(aws_retry=True, ResourceName=arn).get("TagList", [])
    }


def wait_for(module: AnsibleAWSModule, client: Any, group_id: str, gone: bool) -> dict[str, Any] | None:
    deadline = time.monotonic() + module.params["wait_timeout"]
    while True:
        group = describe(client, group_id)
        if gone and group is None:
            return None
        if not gone and group is not None and group["Status"] not in TRANSIENT:
            if group["Status"] != "available":
                module.fail_json(msg=f"replication group {group_id} is {group['Status']}", replication_group={})
            return group
        if time.monotonic() > deadline:
            state = "deleted" if gone else "available"
            status = group["Status"] if group else "gone"
            module.fail_json(msg=f"timed out waiting for {group_id} to be {state} (status {status})")
        time.sleep(POLL_SECONDS)


def create_request(p: dict[str, Any]) -> dict[str, Any]:
    if not p["node_type"]:
        raise ValueError("node_type is required to create the replication group")
    if p["auth_token"] and not p["transit_encryption"]:
        raise ValueError("auth_token needs transit_encryption=true")
    request: dict[str, Any] = {
        "ReplicationGroupId": p["replication_group_id"],
        "ReplicationGroupDescription": p["description"],
        "Engine": p["engine"],
        "CacheNodeType": p["node_type"],
        "NumNodeGroups": 1,
        "ReplicasPerNodeGroup": p["num_cache_clusters"] - 1,
        "MultiAZEnabled": p["multi_az"],
        "AutomaticFailoverEnabled": p["automatic_failover"],
        "AtRestEncryptionEnabled": p["at_rest_encryption"],
        "TransitEncryptionEnabled": p["transit_encryption"],
        "Port": p["port"],
    }
    optional = {
        "EngineVersion": p["engine_version"],
        "KmsKeyId": p["kms_key_id"],
        "AuthToken": p["auth_token"],
        "CacheSubnetGroupName": p["cache_subnet_group"],
        "CacheParameterGroupName": p["cache_parameter_group"],
        "SecurityGroupIds": p["security_group_ids"],
        "SnapshotRetentionLimit": p["snapshot_retention_limit"],
        "SnapshotWindow": p["snapshot_window"],
        "PreferredMaintenanceWindow": p["maintenance_window"],
    }
    request.update({k: v for k, v in optional.items() if v is not None})
    if p["tags"]:
        request["Tags"] = [{"Key": k, "Value": str(v)} for k, v in p["tags"].items()]
    if p["slow_log_group"]:
        request["LogDeliveryConfigurations"] = [
            {
                "LogType": "slow-log",
                "DestinationType": "cloudwatch-logs",
                "DestinationDetails": {"CloudWatchLogsDetails": {"LogGroup": p["slow_log_group"]}},
                "LogFormat": "text",
            }
        ]
    return request


def same_key(wanted: str, actual: str | None) -> bool:
    """A key given as id, alias-free ARN or ARN matches the ARN AWS reports."""
    if not actual:
        return False
    return actual == wanted or actual.endswith(f"/{wanted}") or wanted.endswith(f"/{actual}")


def fixed_differences(p: dict[str, Any], group: dict[str, Any], member: dict[str, Any]) -> list[str]:
    """Settings AWS fixes at creation that differ from the wanted ones."""
    fixed = []
    if group.get("AtRestEncryptionEnabled", False) != p["at_rest_encryption"]:
        fixed.append("at_rest_encryption")
    if group.get("TransitEncryptionEnabled", False) != p["transit_encryption"]:
        fixed.append("transit_encryption")
    if p["kms_key_id"] and not same_key(p["kms_key_id"], group.get("KmsKeyId")):
        fixed.append("kms_key_id")
    if group.get("Engine") and group["Engine"] != p["engine"]:
        fixed.append("engine")
    if member and p["cache_subnet_group"] and member.get("CacheSubnetGroupName") != p["cache_subnet_group"]:
        fixed.append("cache_subnet_group")
    return fixed


def modify_request(p: dict[str, Any], group: dict[str, Any], member: dict[str, Any]) -> tuple[dict[str, Any], list]:
    """ModifyReplicationGroup arguments for what differs, and the names of those settings."""
    changes: dict[str, Any] = {}
    names: list[str] = []

    def want(name: str, key: str, wanted: Any, actual: Any) -> None:
        if wanted is not None and wanted != actual:
            changes[key] = wanted
            names.append(name)

    want("description", "ReplicationGroupDescription", p["description"], group.get("Description"))
    want("node_type", "CacheNodeType", p["node_type"], group.get("CacheNodeType"))
    want(
        "automatic_failover",
        "AutomaticFailoverEnabled",
        p["automatic_failover"],
        group.get("AutomaticFailover") in ("enabled", "enabling"),
    )
    want("multi_az", "MultiAZEnabled", p["multi_az"], group.get("MultiAZ") == "enabled")
    want(
        "snapshot_retention_limit",
        "SnapshotRetentionLimit",
        p["snapshot_retention_limit"],
        group.get("SnapshotRetentionLimit"),
    )
    want("snapshot_window", "SnapshotWindow", p["snapshot_window"], group.get("SnapshotWindow"))
    if member:
        want(
            "maintenance_window",
            "PreferredMaintenanceWindow",
            p["maintenance_window"],
            member.get("PreferredMaintenanceWindow"),
        )
        want(
            "cache_parameter_group",
            "CacheParameterGroupName",
            p["cache_parameter_group"],
            (member.get("CacheParameterGroup") or {}).get("CacheParameterGroupName"),
        )
        if p["security_group_ids"] is not None:
            actual = sorted(sg["SecurityGroupId"] for sg in member.get("SecurityGroups", []))
            want("security_group_ids", "SecurityGroupIds", sorted(p["security_group_ids"]), actual)
        running = member.get("EngineVersion") or ""
        if p["engine_version"] and not (running + ".").startswith(p["engine_version"] + "."):
            changes["EngineVersion"] = p["engine_version"]
            names.append("engine_version")
    if p["auth_token"] and (p["rotate_auth_token"] or not group.get("AuthTokenEnabled")):
        changes["AuthToken"] = p["auth_token"]
        changes["AuthTokenUpdateStrategy"] = "ROTATE" if group.get("AuthTokenEnabled") else "SET"
        names.append("auth_token")
    if changes:
        changes["ReplicationGroupId"] = p["replication_group_id"]
        changes["ApplyImmediately"] = p["apply_immediately"]
    return changes, names


def snapshot_of(group: dict[str, Any] | None) -> dict[str, Any]:
    return camel_dict_to_snake_dict(group) if group else {}


def result_fields(group: dict[str, Any] | None) -> dict[str, Any]:
    if not group:
        return {"replication_group": {}}
    node_group = (group.get("NodeGroups") or [{}])[0]
    out = {"replication_group": snapshot_of(group)}
    if node_group.get("PrimaryEndpoint"):
        out["primary_endpoint"] = camel_dict_to_snake_dict(node_group["PrimaryEndpoint"])
    if node_group.get("ReaderEndpoint"):
        out["reader_endpoint"] = camel_dict_to_snake_dict(node_group["ReaderEndpoint"])
    return out


def ensure_present(module: AnsibleAWSModule, client: Any) -> None:
    p = module.params
    group_id = p["replication_group_id"]
    group = describe(client, group_id)

    if group is None:
        try:
            request = create_request(p)
        except ValueError as err:
            module.fail_json(msg=str(err))
        if module.check_mode:
            module.exit_json(
                changed=True,
                changes=["created"],
                replication_group={},
                diff={"before": {}, "after": {"replication_group_id": group_id}},
            )
        group = client.create_replication_group(aws_retry=True, **request)["ReplicationGroup"]
        if p["wait"]:
            group = wait_for(module, client, group_id, gone=False)
        module.exit_json(changed=True, changes=["created"], **result_fields(group))

    if group["Status"] == "deleting":
        module.fail_json(msg=f"replication group {group_id} is being deleted; run again once it is gone")
    if p["wait"] and group["Status"] in TRANSIENT:
        group = wait_for(module, client, group_id, gone=False)

    member = first_member(client, group)
    fixed = fixed_differences(p, group, member)
    if fixed:
        module.fail_json(
            msg=f"{group_id} differs in settings fixed at creation ({', '.join(fixed)}); "
            "replace it deliberately (snapshot, delete, create from the snapshot)",
            replication_group=snapshot_of(group),
        )

    changes, names = modify_request(p, group, member)
    replicas_now = len(group.get("MemberClusters") or []) - 1
    replicas_wanted = p["num_cache_clusters"] - 1
    if replicas_now != replicas_wanted:
        names.append("num_cache_clusters")
    wanted_tags = {k: str(v) for k, v in (p["tags"] or {}).items()} if p["tags"] is not None else None
    tags_now = current_tags(client, group["ARN"]) if wanted_tags is not None else {}
    add_tags: dict[str, str] = {}
    drop_tags: list[str] = []
    if wanted_tags is not None:
        add_tags = {k: v for k, v in wanted_tags.items() if tags_now.get(k) != v}
        drop_tags = [k for k in tags_now if k not in wanted_tags] if p["purge_tags"] else []
        if add_tags or drop_tags:
            names.append("tags")

    if not names:
        module.exit_json(changed=False, changes=[], **result_fields(group))
    diff = {
        "before": {"changes": sorted(names), "tags": tags_now},
        "after": {"changes": sorted(names), "tags": wanted_tags},
    }
    if module.check_mode:
        module.exit_json(changed=True, changes=names, diff=diff, **result_fields(group))

    # Resize first: AWS refuses other modifications while a replica is being added or removed.
    if replicas_now < replicas_wanted:
        client.increase_replica_count(
            aws_retry=True, ReplicationGroupId=group_id, NewReplicaCount=replicas_wanted, ApplyImmediately=True
        )
    elif replicas_now > replicas_wanted:
        client.decrease_replica_count(
            aws_retry=True, ReplicationGroupId=group_id, NewReplicaCount=replicas_wanted, ApplyImmediately=True
        )
    if replicas_now != replicas_wanted and p["wait"]:
        wait_for(module, client, group_id, gone=False)
    if changes:
        client.modify_replication_group(aws_retry=True, **changes)
    if add_tags:
        client.add_tags_to_resource(
            aws_retry=True, ResourceName=group["ARN"], Tags=[{"Key": k, "Value": v} for k, v in add_tags.items()]
        )
    if drop_tags:
        client.remove_tags_from_resource(aws_retry=True, ResourceName=group["ARN"], TagKeys=drop_tags)
    group = wait_for(module, client, group_id, gone=False) if p["wait"] else describe(client, group_id)
    module.exit_json(changed=True, changes=names, diff=diff, **result_fields(group))


def ensure_absent(module: AnsibleAWSModule, client: Any) -> None:
    p = module.params
    group_id = p["replication_group_id"]
    group = describe(client, group_id)
    if group is None:
        module.exit_json(changed=False, changes=[], replication_group={})
    if group["Status"] != "deleting":
        if module.check_mode:
            module.exit_json(changed=True, changes=["deleted"], replication_group=snapshot_of(group))
        if group["Status"] in TRANSIENT:
            group = wait_for(module, client, group_id, gone=False)
        request: dict[str, Any] = {"ReplicationGroupId": group_id, "RetainPrimaryCluster": False}
        if p["final_snapshot_identifier"]:
            request["FinalSnapshotIdentifier"] = p["final_snapshot_identifier"]
        client.delete_replication_group(aws_retry=True, **request)
        changed = True
    else:
        changed = False  # an earlier run asked for the deletion already
    if p["wait"]:
        wait_for(module, client, group_id, gone=True)
    module.exit_json(changed=changed, changes=["deleted"] if changed else [], replication_group={})


def main() -> None:
    argument_spec = {
        "replication_group_id": {"type": "str", "required": True},
        "description": {"type": "str", "default": "Managed by Ansible"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "engine": {"type": "str", "choices": ["redis", "valkey"], "default": "redis"},
        "engine_version": {"type": "str"},
        "node_type": {"type": "str"},
        "num_cache_clusters": {"type": "int", "default": 3},
        "multi_az": {"type": "bool", "default": True},
        "automatic_failover": {"type": "bool", "default": True},
        "at_rest_encryption": {"type": "bool", "default": True},
        "transit_encryption": {"type": "bool", "default": True},
        "kms_key_id": {"type": "str"},
        "auth_token": {"type": "str", "no_log": True},
        "rotate_auth_token": {"type": "bool", "default": False},
        "port": {"type": "int", "default": 6379},
        "cache_subnet_group": {"type": "str"},
        "cache_parameter_group": {"type": "str"},
        "security_group_ids": {"type": "list", "elements": "str"},
        "snapshot_retention_limit": {"type": "int"},
        "snapshot_window": {"type": "str"},
        "maintenance_window": {"type": "str"},
        "slow_log_group": {"type": "str"},
        "tags": {"type": "dict"},
        "purge_tags": {"type": "bool", "default": True},
        "apply_immediately": {"type": "bool", "default": True},
        "final_snapshot_identifier": {"type": "str"},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 2400},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    if p["multi_az"] and not p["automatic_failover"]:
        module.fail_json(msg="multi_az needs automatic_failover")
    if p["automatic_failover"] and p["num_cache_clusters"] < 2:
        module.fail_json(msg="automatic_failover needs num_cache_clusters >= 2")
    client = aws_client(module, "elasticache")
    try:
        if p["state"] == "present":
            ensure_present(module, client)
        else:
            ensure_absent(module, client)
    except AWS_ERRORS as err:
        module.fail_json_aws(err, msg="ElastiCache call failed")


if __name__ == "__main__":
    main()
