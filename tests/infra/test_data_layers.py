"""The data and cluster layers of site.yml (Redis, S3, EKS) read back from moto with boto3, then our own modules'
idempotence and check mode, and the layer playbooks run alone (their inputs found by the core roles' lookups).

Inventory values checked here come from infra/ansible/inventories/staging/group_vars/all/main.yml.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

NAME = "weekend-planner-staging"
ROLES = Path(__file__).resolve().parents[2] / "infra" / "ansible" / "roles"
ELB_ACCOUNT_US_WEST_2 = "797873946194"


def policy_of(document: str | dict) -> dict:
    return json.loads(document) if isinstance(document, str) else document


def statements(document: str | dict) -> list[dict]:
    return policy_of(document)["Statement"]


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def task_output(run_output: str, task_name: str) -> str:
    """The lines ansible-playbook printed for one task (up to the next TASK banner)."""
    after = run_output.split(task_name, 1)
    assert len(after) == 2, f"task {task_name!r} never ran"
    return after[1].split("TASK [", 1)[0]


@pytest.fixture(scope="module")
def dr_key_arn(site):  # type: ignore[no-untyped-def]
    return site.client("kms", "us-east-2").describe_key(KeyId=f"alias/{NAME}-dr")["KeyMetadata"]["Arn"]


@pytest.fixture(scope="module")
def private_subnet_ids(site):  # type: ignore[no-untyped-def]
    ec2 = site.client("ec2")
    subnets = ec2.describe_subnets(Filters=[{"Name": "tag:Tier", "Values": ["private"]}])["Subnets"]
    return sorted(s["SubnetId"] for s in subnets)


@pytest.fixture(scope="module")
def security_group_ids(site):  # type: ignore[no-untyped-def]
    groups = site.client("ec2").describe_security_groups()["SecurityGroups"]
    return {g["GroupName"]: g["GroupId"] for g in groups}


# --- Redis -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis(site):  # type: ignore[no-untyped-def]
    elasticache = site.client("elasticache")
    return elasticache.describe_replication_groups(ReplicationGroupId=f"{NAME}-redis")["ReplicationGroups"][0]


def test_redis_has_a_primary_and_two_replicas_across_zones_with_failover(redis):  # type: ignore[no-untyped-def]
    assert redis["Status"] == "available"
    assert len(redis["MemberClusters"]) == 3
    roles = [m["CurrentRole"] for m in redis["NodeGroups"][0]["NodeGroupMembers"]]
    assert sorted(roles) == ["primary", "replica", "replica"]
    assert redis["MultiAZ"] == "enabled"
    assert redis["AutomaticFailover"] == "enabled"
    assert redis["ClusterEnabled"] is False
    assert redis["CacheNodeType"] == "cache.t4g.small"


def test_redis_is_encrypted_with_our_key_and_needs_the_auth_token(redis, key_arn):  # type: ignore[no-untyped-def]
    assert redis["AtRestEncryptionEnabled"] is True
    assert redis["TransitEncryptionEnabled"] is True
    assert redis["AuthTokenEnabled"] is True
    assert redis["KmsKeyId"] == key_arn


def test_redis_snapshots_and_slow_log_as_the_seed(redis):  # type: ignore[no-untyped-def]
    assert redis["SnapshotRetentionLimit"] == 7
    assert redis["SnapshotWindow"] == "02:00-03:00"
    [slow_log] = redis["LogDeliveryConfigurations"]
    assert slow_log["LogType"] == "slow-log"
    assert slow_log["DestinationType"] == "cloudwatch-logs"
    log_group = slow_log["DestinationDetails"]["CloudWatchLogsDetails"]["LogGroup"]
    assert log_group == f"/aws/elasticache/{NAME}-redis/slow-log"


def test_redis_subnet_group_is_the_private_subnets(site, private_subnet_ids):  # type: ignore[no-untyped-def]
    elasticache = site.client("elasticache")
    group = elasticache.describe_cache_subnet_groups(CacheSubnetGroupName=f"{NAME}-redis")["CacheSubnetGroups"][0]
    assert sorted(s["SubnetIdentifier"] for s in group["Subnets"]) == private_subnet_ids


def test_redis_eviction_policy_keeps_the_broker_queues(site):  # type: ignore[no-untyped-def]
    # moto has no CreateCacheParameterGroup / ModifyCacheParameterGroup / DescribeCacheParameters (HTTP 500), so
    # the parameter group task is skipped against it and its value cannot be read back; what is checked is the
    # value the role sends and that the skip is that one task only.
    defaults = yaml.safe_load((ROLES / "elasticache" / "defaults" / "main.yml").read_text())
    assert defaults["elasticache_maxmemory_policy"] == "volatile-lru"
    assert defaults["elasticache_parameter_group_family"] == "redis7"
    output = task_output(site.first_run.output, "Parameter group with maxmemory-policy volatile-lru")
    assert "skipping: [localhost]" in output


# --- S3 ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3(site):  # type: ignore[no-untyped-def]
    return site.client("s3")


@pytest.fixture(scope="module")
def s3_dr(site):  # type: ignore[no-untyped-def]
    return site.client("s3", "us-east-2")


def lifecycle(client, bucket: str) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {r["ID"]: r for r in client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}


def sse_rule(client, bucket: str) -> dict:  # type: ignore[no-untyped-def]
    return client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]


def assert_private(client, bucket: str) -> None:  # type: ignore[no-untyped-def]
    block = client.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    denied = [s for s in statements(client.get_bucket_policy(Bucket=bucket)["Policy"]) if s["Effect"] == "Deny"]
    assert [s["Condition"] for s in denied] == [{"Bool": {"aws:SecureTransport": "false"}}]


@pytest.mark.parametrize("bucket", [f"{NAME}-media", f"{NAME}-backups"])
def test_data_buckets_are_versioned_private_and_encrypted_with_our_key(s3, key_arn, bucket):  # type: ignore[no-untyped-def]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rule = sse_rule(s3, bucket)
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
    assert rule["BucketKeyEnabled"] is True
    assert_private(s3, bucket)


def test_media_lifecycle_expires_old_versions_and_stale_uploads(s3):  # type: ignore[no-untyped-def]
    rule = lifecycle(s3, f"{NAME}-media")["media-versions"]
    assert rule["Status"] == "Enabled"
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7


@pytest.mark.parametrize("region", ["us-west-2", "us-east-2"])
def test_backups_lifecycle_moves_to_cheaper_classes_and_expires(site, region):  # type: ignore[no-untyped-def]
    bucket = f"{NAME}-backups" if region == "us-west-2" else f"{NAME}-backups-dr"
    rule = lifecycle(site.client("s3", region), bucket)["backups-age"]
    assert rule["Status"] == "Enabled"
    assert [(t["Days"], t["StorageClass"]) for t in rule["Transitions"]] == [(30, "STANDARD_IA"), (90, "GLACIER")]
    # The inventory's backup_retention_days (staging: 120, not the role's default 365) is how long dumps are kept.
    staging_vars = ROLES.parent / "inventories" / "staging" / "group_vars" / "all" / "main.yml"
    inventory = yaml.safe_load(staging_vars.read_text())
    assert rule["Expiration"]["Days"] == inventory["backup_retention_days"] == 120
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7


def test_dr_bucket_lives_in_the_dr_region_with_its_own_key(s3_dr, dr_key_arn, key_arn):  # type: ignore[no-untyped-def]
    bucket = f"{NAME}-backups-dr"
    assert s3_dr.get_bucket_location(Bucket=bucket)["LocationConstraint"] == "us-east-2"
    assert s3_dr.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert dr_key_arn.startswith("arn:aws:kms:us-east-2:")
    assert dr_key_arn != key_arn
    by_default = sse_rule(s3_dr, bucket)["ApplyServerSideEncryptionByDefault"]
    assert by_default == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": dr_key_arn}
    assert_private(s3_dr, bucket)


def test_backups_replicate_to_the_dr_bucket_with_the_dr_key(s3, site, dr_key_arn):  # type: ignore[no-untyped-def]
    config = s3.get_bucket_replication(Bucket=f"{NAME}-backups")["ReplicationConfiguration"]
    assert config["Role"].endswith(f":role/{NAME}-backups-replication")
    [rule] = config["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["Filter"] == {"Prefix": ""}
    assert rule["Destination"]["Bucket"] == f"arn:aws:s3:::{NAME}-backups-dr"
    assert rule["Destination"]["StorageClass"] == "STANDARD_IA"
    assert rule["Destination"]["EncryptionConfiguration"] == {"ReplicaKmsKeyID": dr_key_arn}
    # moto's GetBucketReplication leaves SourceSelectionCriteria out of its answer (it keeps only ID, Priority,
    # Status, Filter, DeleteMarkerReplication and Destination), so SseKmsEncryptedObjects cannot be read back; S3
    # itself refuses a ReplicaKmsKeyID without it, and the module's own test below checks what it sends.


def test_replication_role_reads_the_source_and_writes_the_replicas(site, key_arn, dr_key_arn):  # type: ignore[no-untyped-def]
    iam = site.client("iam")
    role = iam.get_role(RoleName=f"{NAME}-backups-replication")["Role"]
    [trust] = statements(role["AssumeRolePolicyDocument"])
    assert trust["Principal"] == {"Service": "s3.amazonaws.com"}
    document = iam.get_role_policy(RoleName=f"{NAME}-backups-replication", PolicyName="backups-replication")
    granted = {s["Sid"]: s for s in statements(document["PolicyDocument"])}
    assert "s3:ReplicateObject" in granted["WriteReplicas"]["Action"]
    assert granted["WriteReplicas"]["Resource"] == f"arn:aws:s3:::{NAME}-backups-dr/*"
    assert "s3:GetObjectVersionForReplication" in granted["ReadSourceVersions"]["Action"]
    assert granted["DecryptSource"]["Resource"] == key_arn
    assert granted["EncryptReplicas"]["Resource"] == dr_key_arn


def test_alb_log_bucket_takes_sse_s3_and_the_log_delivery_policy(s3):  # type: ignore[no-untyped-def]
    bucket = f"{NAME}-alb-logs"
    assert sse_rule(s3, bucket)["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert_private(s3, bucket)
    allowed = {s["Sid"]: s for s in statements(s3.get_bucket_policy(Bucket=bucket)["Policy"]) if s["Effect"] == "Allow"}
    prefix = f"arn:aws:s3:::{bucket}/alb/AWSLogs/123456789012/*"
    assert allowed["ElbAccountWritesLogs"]["Principal"] == {"AWS": f"arn:aws:iam::{ELB_ACCOUNT_US_WEST_2}:root"}
    assert allowed["LogDeliveryServiceWritesLogs"]["Principal"] == {
        "Service": "logdelivery.elasticloadbalancing.amazonaws.com"
    }
    for statement in allowed.values():
        assert statement["Action"] == "s3:PutObject"
        assert statement["Resource"] == prefix
    assert lifecycle(s3, bucket)["alb-logs-expiry"]["Expiration"]["Days"] == 90


# --- EKS ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def eks(site):  # type: ignore[no-untyped-def]
    return site.client("eks")


@pytest.fixture(scope="module")
def cluster(eks):  # type: ignore[no-untyped-def]
    return eks.describe_cluster(name=NAME)["cluster"]


@pytest.fixture(scope="module")
def issuer(cluster):  # type: ignore[no-untyped-def]
    return cluster["identity"]["oidc"]["issuer"].removeprefix("https://")


def test_cluster_runs_a_supported_version_in_the_private_subnets(cluster, private_subnet_ids, security_group_ids):  # type: ignore[no-untyped-def]
    staging = yaml.safe_load((ROLES.parent / "inventories/staging/group_vars/all/main.yml").read_text())
    assert cluster["version"] == staging["eks_version"]
    # 1.33 left EKS standard support in July 2026, 1.34 leaves it in December 2026.
    major, minor = (int(n) for n in cluster["version"].split("."))
    assert (major, minor) >= (1, 35)
    assert cluster["status"] == "ACTIVE"
    assert sorted(cluster["resourcesVpcConfig"]["subnetIds"]) == private_subnet_ids
    assert cluster["resourcesVpcConfig"]["securityGroupIds"] == [security_group_ids[f"{NAME}-nodes"]]
    assert cluster["roleArn"].endswith(f":role/{NAME}-cluster")


def test_cluster_roles_carry_the_aws_managed_policies(site):  # type: ignore[no-untyped-def]
    iam = site.client("iam")

    def attached(role: str) -> set[str]:
        return {p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]}

    assert attached(f"{NAME}-cluster") == {"AmazonEKSClusterPolicy"}
    assert attached(f"{NAME}-nodes") >= {
        "AmazonEKSWorkerNodePolicy",
        "AmazonEKS_CNI_Policy",
        "AmazonEC2ContainerRegistryReadOnly",
    }
    [trust] = statements(iam.get_role(RoleName=f"{NAME}-nodes")["Role"]["AssumeRolePolicyDocument"])
    assert trust["Principal"] == {"Service": "ec2.amazonaws.com"}


def test_node_group_has_the_staging_sizes(eks, private_subnet_ids):  # type: ignore[no-untyped-def]
    group = eks.describe_nodegroup(clusterName=NAME, nodegroupName=f"{NAME}-general")["nodegroup"]
    assert group["scalingConfig"] == {"minSize": 2, "desiredSize": 3, "maxSize": 4}
    assert group["instanceTypes"] == ["t3.large"]
    assert group["capacityType"] == "ON_DEMAND"
    assert sorted(group["subnets"]) == private_subnet_ids
    assert group["nodeRole"].endswith(f":role/{NAME}-nodes")


def test_oidc_provider_trusts_the_cluster_issuer(site, issuer):  # type: ignore[no-untyped-def]
    iam = site.client("iam")
    arn = f"arn:aws:iam::123456789012:oidc-provider/{issuer}"
    provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert provider["ClientIDList"] == ["sts.amazonaws.com"]
    assert provider["ThumbprintList"] == ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]


def irsa_condition(site, role: str, issuer: str) -> dict:  # type: ignore[no-untyped-def]
    document = site.client("iam").get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    [trust] = statements(document)
    assert trust["Principal"] == {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{issuer}"}
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    condition = trust["Condition"]["StringEquals"]
    assert condition[f"{issuer}:aud"] == "sts.amazonaws.com"
    return condition


def test_app_service_account_role_reaches_its_buckets_and_key(site, issuer, key_arn):  # type: ignore[no-untyped-def]
    condition = irsa_condition(site, f"{NAME}-app", issuer)
    subjects = as_list(condition[f"{issuer}:sub"])
    assert "system:serviceaccount:weekend-planner-staging:weekend-planner" in subjects
    assert all(s.startswith("system:serviceaccount:weekend-planner-staging:weekend-planner") for s in subjects)
    document = site.client("iam").get_role_policy(RoleName=f"{NAME}-app", PolicyName="app-data")["PolicyDocument"]
    granted = {s["Sid"]: s for s in statements(document)}
    objects = {f"arn:aws:s3:::{NAME}-media/*", f"arn:aws:s3:::{NAME}-backups/*"}
    assert set(granted["ReadWriteObjects"]["Resource"]) == objects
    assert {"s3:GetObject", "s3:PutObject"} <= set(granted["ReadWriteObjects"]["Action"])
    # The trained models under models/ in the media bucket (STORAGES["models"]) are listed as well as read and written.
    assert f"arn:aws:s3:::{NAME}-media" in as_list(granted["ListBuckets"]["Resource"])
    assert "s3:ListBucket" in as_list(granted["ListBuckets"]["Action"])
    assert granted["UseTheDataKey"]["Resource"] == key_arn
    assert {"kms:Decrypt", "kms:GenerateDataKey"} <= set(granted["UseTheDataKey"]["Action"])


def test_controller_and_fluent_bit_roles_trust_their_service_accounts(site, issuer):  # type: ignore[no-untyped-def]
    lbc = irsa_condition(site, f"{NAME}-aws-load-balancer-controller", issuer)
    assert as_list(lbc[f"{issuer}:sub"]) == ["system:serviceaccount:kube-system:aws-load-balancer-controller"]
    fluent_bit = irsa_condition(site, f"{NAME}-fluent-bit", issuer)
    assert as_list(fluent_bit[f"{issuer}:sub"]) == ["system:serviceaccount:logging:fluent-bit"]
    iam = site.client("iam")
    attached = iam.list_attached_role_policies(RoleName=f"{NAME}-aws-load-balancer-controller")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == [f"{NAME}-aws-load-balancer-controller"]
    logs = iam.get_role_policy(RoleName=f"{NAME}-fluent-bit", PolicyName="application-logs")["PolicyDocument"]
    [write] = statements(logs)
    assert "logs:PutLogEvents" in write["Action"]
    assert "arn:aws:logs:us-west-2:123456789012:log-group:/weekend-planner/staging/application:*" in write["Resource"]


# --- Our own modules: a second run changes nothing; check mode reports a change and makes none --------------

MODULE_PLAY = """\
- name: Our modules against the site's resources
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Replication group as the elasticache role sets it
      elasticache_replication_group:
        replication_group_id: {name}-redis
        description: "{name} Redis: cache, rate limits and Celery broker"
        engine_version: "7.1"
        node_type: cache.t4g.small
        num_cache_clusters: 3
        kms_key_id: {key_arn}
        auth_token: "{{{{ vault_elasticache_auth_token }}}}"
        cache_subnet_group: {name}-redis
        snapshot_retention_limit: "{{{{ retention | default(7) }}}}"
        snapshot_window: "02:00-03:00"
        tags: {{Project: weekend-planner, Environment: staging, ManagedBy: ansible}}
        region: us-west-2
        endpoint_url: "{{{{ aws_endpoint_url }}}}"
      no_log: true
    - name: Replication of the backups as the s3 role sets it
      s3_bucket_replication:
        bucket: {name}-backups
        role_arn: {replication_role}
        destination_region: us-east-2
        rules:
          - id: backups-to-dr
            destination_bucket: {name}-backups-dr
            storage_class: "{{{{ storage_class | default('STANDARD_IA') }}}}"
            replica_kms_key_id: {dr_key_arn}
        region: us-west-2
        endpoint_url: "{{{{ aws_endpoint_url }}}}"
"""


@pytest.fixture(scope="module")
def module_play(site, tmp_path_factory, key_arn, dr_key_arn):  # type: ignore[no-untyped-def]
    role = site.client("iam").get_role(RoleName=f"{NAME}-backups-replication")["Role"]["Arn"]
    play = tmp_path_factory.mktemp("modules") / "modules.yml"
    play.write_text(MODULE_PLAY.format(name=NAME, key_arn=key_arn, dr_key_arn=dr_key_arn, replication_role=role))
    return str(play)


def test_modules_change_nothing_when_the_resources_match(site, module_play):  # type: ignore[no-untyped-def]
    run = site.run(playbook=module_play, name="modules-again")
    assert run.returncode == 0, run.tail()
    assert run.recap["changed"] == 0, run.tail()


def test_modules_in_check_mode_report_the_change_and_make_none(site, module_play, s3):  # type: ignore[no-untyped-def]
    run = site.run(
        "--check", "-e", "retention=3", "-e", "storage_class=GLACIER_IR", playbook=module_play, name="modules-check"
    )
    assert run.returncode == 0, run.tail()
    assert run.recap["changed"] == 2, run.tail()
    redis = site.client("elasticache").describe_replication_groups(ReplicationGroupId=f"{NAME}-redis")
    assert redis["ReplicationGroups"][0]["SnapshotRetentionLimit"] == 7
    rule = s3.get_bucket_replication(Bucket=f"{NAME}-backups")["ReplicationConfiguration"]["Rules"][0]
    assert rule["Destination"]["StorageClass"] == "STANDARD_IA"


# --- Layer playbooks run alone: their inputs come from the network/kms/s3 lookups --------------------------


@pytest.mark.parametrize("playbook", ["cache.yml", "storage.yml", "cluster.yml"])
def test_layer_playbook_runs_alone_and_changes_nothing(site, playbook):  # type: ignore[no-untyped-def]
    run = site.run(playbook=playbook, name=f"alone-{playbook.removesuffix('.yml')}")
    assert run.returncode == 0, run.tail()
    assert run.recap["changed"] == 0, run.tail()
    if playbook != "storage.yml":
        assert "Find the network when this layer runs alone" in run.output
        assert "skipping" not in task_output(run.output, "Find the network when this layer runs alone")


# --- backup.yml then dr.yml: a snapshot copied to the DR region, restored there ------------------------------


@pytest.fixture(scope="module")
def backup_run(site):  # type: ignore[no-untyped-def]
    return site.run(playbook="backup.yml", name="backup")


@pytest.fixture(scope="module")
def dr_run(site, backup_run):  # type: ignore[no-untyped-def]
    assert backup_run.returncode == 0, backup_run.tail()
    return site.run(playbook="dr.yml", name="dr")


def test_backup_copies_a_timestamped_snapshot_to_the_dr_region(site, backup_run, dr_key_arn):  # type: ignore[no-untyped-def]
    assert backup_run.returncode == 0, backup_run.tail()
    source = site.client("rds").describe_db_snapshots(DBInstanceIdentifier=f"{NAME}-primary", SnapshotType="manual")
    names = [s["DBSnapshotIdentifier"] for s in source["DBSnapshots"]]
    stamped = [n for n in names if re.fullmatch(rf"{NAME}-primary-\d{{8}}-\d{{6}}", n)]
    assert len(stamped) == 1, names
    [copy] = site.client("rds", "us-east-2").describe_db_snapshots(DBSnapshotIdentifier=stamped[0])["DBSnapshots"]
    assert copy["Status"] == "available"
    assert copy["Encrypted"] is True
    assert copy["KmsKeyId"] == dr_key_arn
    redis = site.client("elasticache").describe_snapshots(ReplicationGroupId=f"{NAME}-redis")["Snapshots"]
    assert [s["SnapshotName"] for s in redis if s["SnapshotSource"] == "manual"] == [
        stamped[0].replace("-primary-", "-redis-")
    ]


def test_dr_restores_the_newest_copy_multi_az_in_the_dr_network_then_tears_down(site, dr_run):  # type: ignore[no-untyped-def]
    assert dr_run.returncode == 0, dr_run.tail()
    rds = site.client("rds", "us-east-2")
    [instance] = rds.describe_db_instances(DBInstanceIdentifier=f"{NAME}-dr")["DBInstances"]
    assert instance["DBInstanceStatus"] == "available"
    assert instance["MultiAZ"] is True
    assert instance["PubliclyAccessible"] is False
    dr_vpc_filter = [{"Name": "tag:Name", "Values": [f"{NAME}-dr"]}]
    [vpc] = site.client("ec2", "us-east-2").describe_vpcs(Filters=dr_vpc_filter)["Vpcs"]
    assert instance["DBSubnetGroup"]["VpcId"] == vpc["VpcId"]
    assert f"DR database {NAME}-dr ready at {instance['Endpoint']['Address']}:5432" in dr_run.output

    # One test, so a shuffled order cannot tear down before the checks above.
    teardown = site.run("-e", "dr_state=absent", playbook="dr.yml", name="dr-absent")
    assert teardown.returncode == 0, teardown.tail()
    assert [d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]] == []
    assert site.client("ec2", "us-east-2").describe_vpcs(Filters=dr_vpc_filter)["Vpcs"] == []

    # The point-in-time path looks for the primary's automated backups replicated into us-east-2. moto 5.2 cannot
    # replicate them (StartDBInstanceAutomatedBackupsReplication answers HTTP 500) and its automated backups carry
    # no ARN or source region, so the restore stops there, before creating anything, and says why. The restore
    # call itself runs in the primary region below (test_point_in_time_restore_...).
    pitr = site.run("-e", "dr_use_latest_restorable_time=true", playbook="dr.yml", name="dr-pitr")
    assert pitr.returncode != 0
    assert pitr.recap["failed"] == 1, pitr.tail()
    # The YAML callback wraps long messages: compare with the whitespace folded.
    failed = " ".join(task_output(pitr.output, "PostgreSQL restored to the latest restorable time").split())
    assert f"no automated backups of {NAME}-primary from us-west-2 are replicated into us-east-2" in failed, failed
    assert rds.describe_db_instances()["DBInstances"] == []
    teardown = site.run("-e", "dr_state=absent", playbook="dr.yml", name="dr-pitr-absent")
    assert teardown.returncode == 0, teardown.tail()
    assert site.client("ec2", "us-east-2").describe_vpcs(Filters=dr_vpc_filter)["Vpcs"] == []


def test_dr_takes_one_restore_source_at_most(site):  # type: ignore[no-untyped-def]
    run = site.run(
        "-e", "dr_restore_time=2026-03-01T02:15:00Z", "-e", "dr_use_latest_restorable_time=true",
        playbook="dr.yml", name="dr-two-sources",
    )  # fmt: skip
    assert run.returncode != 0
    assert "give at most one of dr_snapshot_identifier, dr_restore_time" in run.output, run.tail()
    assert "Network in the DR region" not in run.output


# --- Point-in-time recovery: our modules against moto, as far as moto goes -----------------------------------

PITR_PLAY = """\
- name: Point-in-time restore of the primary in its own region
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Restore
      rds_instance_point_in_time:
        db_instance_identifier: "{{{{ target }}}}"
        source_db_instance_identifier: {name}-primary
        restore_time: "{{{{ restore_time | default(omit) }}}}"
        use_latest_restorable_time: "{{{{ latest | default(false) }}}}"
        db_instance_class: db.t4g.medium
        db_subnet_group_name: {name}-db
        vpc_security_group_ids: ["{database_sg}"]
        multi_az: true
        deletion_protection: false
        tags: {{Project: weekend-planner, RestoredTo: "{{{{ restore_time | default('latest') }}}}"}}
        wait: true
        region: us-west-2
        endpoint_url: "{{{{ aws_endpoint_url }}}}"
"""


@pytest.fixture(scope="module")
def pitr_play(site, tmp_path_factory, security_group_ids):  # type: ignore[no-untyped-def]
    play = tmp_path_factory.mktemp("pitr") / "pitr.yml"
    play.write_text(PITR_PLAY.format(name=NAME, database_sg=security_group_ids[f"{NAME}-database"]))
    return str(play)


def test_point_in_time_restore_in_the_primary_region_then_again_unchanged(site, pitr_play):  # type: ignore[no-untyped-def]
    # moto restores a copy of the source as it is now: it ignores RestoreTime, so what is checked is the call and
    # the new instance's settings, not the data at that moment.
    rds = site.client("rds")
    target = f"{NAME}-pitr"
    moment = "2026-03-01T02:15:00Z"
    check = site.run("--check", "-e", f"target={target}", "-e", f"restore_time={moment}", playbook=pitr_play,
                     name="pitr-check")  # fmt: skip
    assert check.returncode == 0, check.tail()
    assert check.recap["changed"] == 1, check.tail()
    assert [d for d in rds.describe_db_instances()["DBInstances"] if d["DBInstanceIdentifier"] == target] == []
    try:
        run = site.run("-e", f"target={target}", "-e", f"restore_time={moment}", playbook=pitr_play, name="pitr")
        assert run.returncode == 0, run.tail()
        assert run.recap["changed"] == 1, run.tail()
        [instance] = rds.describe_db_instances(DBInstanceIdentifier=target)["DBInstances"]
        assert instance["DBInstanceStatus"] == "available"
        assert instance["MultiAZ"] is True
        assert instance["DBSubnetGroup"]["DBSubnetGroupName"] == f"{NAME}-db"
        tags = {t["Key"]: t["Value"] for t in instance["TagList"]}
        assert tags["RestoredTo"] == moment
        again = site.run("-e", f"target={target}", "-e", "latest=true", playbook=pitr_play, name="pitr-again")
        assert again.returncode == 0, again.tail()
        assert again.recap["changed"] == 0, again.tail()
    finally:
        if any(d["DBInstanceIdentifier"] == target for d in rds.describe_db_instances()["DBInstances"]):
            # moto applies only truthy overrides to a restored copy, so DeletionProtection=false is lost and the
            # source's protection carried over (AWS takes the request's value): lift it before deleting.
            rds.modify_db_instance(DBInstanceIdentifier=target, DeletionProtection=False, ApplyImmediately=True)
            rds.delete_db_instance(DBInstanceIdentifier=target, SkipFinalSnapshot=True)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-e", "restore_time=2026-03-01T02:15:00"], "has no offset"),
        (["-e", "restore_time=yesterday"], "is not an ISO 8601 date-time"),
        (["-e", "restore_time=2026-03-01T02:15:00Z", "-e", "latest=true"], "give exactly one of restore_time"),
        ([], "give exactly one of restore_time"),
    ],
    ids=["no-offset", "not-a-time", "both", "neither"],
)
def test_point_in_time_restore_refuses_an_unclear_moment(site, pitr_play, extra, message):  # type: ignore[no-untyped-def]
    run = site.run("-e", f"target={NAME}-pitr-refused", *extra, playbook=pitr_play, name="pitr-refused")
    assert run.returncode != 0
    assert message in run.output, run.tail()
    rds = site.client("rds")
    assert f"{NAME}-pitr-refused" not in [d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]]


REPLICATION_PLAY = """\
- name: Automated backups replicated to the DR region
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Replication
      rds_automated_backups_replication:
        source_db_instance_identifier: {name}-primary
        source_region: us-west-2
        kms_key_id: "{{{{ key | default('{dr_key_arn}') }}}}"
        backup_retention_period: 7
        state: "{{{{ state | default('present') }}}}"
        region: us-east-2
        endpoint_url: "{{{{ aws_endpoint_url }}}}"
      register: replication
    - name: Show the source it found
      ansible.builtin.debug:
        msg: "source {{{{ replication.source_db_instance_arn }}}}"
"""


@pytest.fixture(scope="module")
def replication_play(site, tmp_path_factory, dr_key_arn):  # type: ignore[no-untyped-def]
    play = tmp_path_factory.mktemp("replication") / "replication.yml"
    play.write_text(REPLICATION_PLAY.format(name=NAME, dr_key_arn=dr_key_arn))
    return str(play)


def test_backups_replication_in_check_mode_finds_the_source_and_none_replicated(site, replication_play):  # type: ignore[no-untyped-def]
    # As far as moto goes: the source's ARN from DescribeDBInstances in us-west-2, no replicated backups found with
    # DescribeDBInstanceAutomatedBackups in us-east-2, so the change is reported. Starting it for real cannot be
    # tested (moto: HTTP 500); site.yml skips that task against the emulator.
    [primary] = site.client("rds").describe_db_instances(DBInstanceIdentifier=f"{NAME}-primary")["DBInstances"]
    present = site.run("--check", playbook=replication_play, name="replication-check")
    assert present.returncode == 0, present.tail()
    assert present.recap["changed"] == 1, present.tail()
    assert f"source {primary['DBInstanceArn']}" in present.output
    assert site.client("rds", "us-east-2").describe_db_instance_automated_backups()["DBInstanceAutomatedBackups"] == []
    absent = site.run("-e", "state=absent", playbook=replication_play, name="replication-absent")
    assert absent.returncode == 0, absent.tail()
    assert absent.recap["changed"] == 0, absent.tail()
    skipped = task_output(site.first_run.output, "Replicate the primary's automated backups to us-east-2")
    assert "skipping" in skipped, skipped


def test_backups_replication_refuses_a_key_of_another_region(site, replication_play, key_arn):  # type: ignore[no-untyped-def]
    run = site.run("--check", "-e", f"key={key_arn}", playbook=replication_play, name="replication-wrong-key")
    assert run.returncode != 0
    assert "kms_key_id is a key of us-west-2; the replicated backups need a key of us-east-2" in run.output, run.tail()


# --- Our own modules document themselves (ansible-doc parses DOCUMENTATION, EXAMPLES and RETURN) -------------

OWN_MODULES = [
    "elasticache_replication_group",
    "elasticache_replication_group_snapshot",
    "s3_bucket_replication",
    "iam_oidc_provider",
    "rds_snapshot_copy",
    "rds_automated_backups_replication",
    "rds_instance_point_in_time",
]


@pytest.mark.parametrize("module", OWN_MODULES)
def test_own_module_documentation_parses(module):  # type: ignore[no-untyped-def]
    ansible_dir = ROLES.parent
    done = subprocess.run(
        [str(ansible_dir.parents[1] / ".venvs" / "ansible" / "bin" / "ansible-doc"), "--json", "-M",
         str(ansible_dir / "playbooks" / "library"), module],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(ansible_dir / "ansible.cfg")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)[module]
    assert doc["doc"]["short_description"]
    assert {"region", "endpoint_url", "access_key", "secret_key"} <= set(doc["doc"]["options"])
    assert doc["examples"].strip()
    assert doc["return"]
