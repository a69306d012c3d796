"""site.yml for staging against moto: the resources of the core layers read back with boto3, then a second run.

Inventory values checked here come from infra/ansible/inventories/staging/group_vars/all/main.yml.
"""

import json

import pytest

NAME = "weekend-planner-staging"


def tags_of(resource: dict) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


@pytest.fixture(scope="module")
def ec2(aws_site):  # type: ignore[no-untyped-def]
    return aws_site.client("ec2")


@pytest.fixture(scope="module")
def vpc(ec2):  # type: ignore[no-untyped-def]
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [NAME]}])["Vpcs"]
    assert len(vpcs) == 1, vpcs
    return vpcs[0]


@pytest.fixture(scope="module")
def subnets(ec2, vpc):  # type: ignore[no-untyped-def]
    found = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    return {tier: [s for s in found if tags_of(s).get("Tier") == tier] for tier in ("public", "private")}


@pytest.fixture(scope="module")
def groups(ec2, vpc):  # type: ignore[no-untyped-def]
    found = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["SecurityGroups"]
    return {g["GroupName"]: g for g in found}


@pytest.fixture(scope="module")
def rds(aws_site):  # type: ignore[no-untyped-def]
    return aws_site.client("rds")


def db_instance(rds, identifier: str) -> dict:  # type: ignore[no-untyped-def]
    return rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]


def test_site_playbook_succeeds(aws_site):  # type: ignore[no-untyped-def]
    run = aws_site.first_run
    assert run.returncode == 0, run.tail()
    assert run.recap["failed"] == 0, run.tail()
    assert run.recap["unreachable"] == 0, run.tail()
    assert run.recap["changed"] > 0, "a first run on an empty account must create something"


def test_vpc_spans_three_zones_with_public_and_private_subnets(vpc, subnets):  # type: ignore[no-untyped-def]
    assert vpc["CidrBlock"] == "10.20.0.0/16"
    public, private = subnets["public"], subnets["private"]
    assert sorted(s["CidrBlock"] for s in public) == ["10.20.0.0/20", "10.20.16.0/20", "10.20.32.0/20"]
    assert sorted(s["CidrBlock"] for s in private) == ["10.20.128.0/19", "10.20.64.0/19", "10.20.96.0/19"]
    assert len({s["AvailabilityZone"] for s in public}) == 3
    assert {s["AvailabilityZone"] for s in public} == {s["AvailabilityZone"] for s in private}
    assert all(s["MapPublicIpOnLaunch"] for s in public)
    assert not any(s["MapPublicIpOnLaunch"] for s in private)
    # Load balancers find their subnets by these tags.
    assert all(tags_of(s)["kubernetes.io/role/elb"] == "1" for s in public)
    assert all(tags_of(s)["kubernetes.io/role/internal-elb"] == "1" for s in private)


def test_public_subnets_route_to_the_internet_gateway(ec2, vpc, subnets):  # type: ignore[no-untyped-def]
    igws = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])
    igw_id = igws["InternetGateways"][0]["InternetGatewayId"]
    for subnet in subnets["public"]:
        table = route_table_of(ec2, subnet["SubnetId"])
        default = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
        assert [r.get("GatewayId") for r in default] == [igw_id], table


def test_private_subnets_route_through_the_single_staging_nat(ec2, vpc, subnets):  # type: ignore[no-untyped-def]
    nats = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["NatGateways"]
    live = [n for n in nats if n["State"] in ("available", "pending")]
    # Staging shares one NAT gateway (network_nat_gateway_per_az: false); production has one per zone.
    assert len(live) == 1, live
    assert live[0]["SubnetId"] in {s["SubnetId"] for s in subnets["public"]}
    assert live[0]["NatGatewayAddresses"][0]["AllocationId"]
    for subnet in subnets["private"]:
        table = route_table_of(ec2, subnet["SubnetId"])
        default = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
        assert [r.get("NatGatewayId") for r in default] == [live[0]["NatGatewayId"]], table
        assert not any(r.get("GatewayId", "").startswith("igw-") for r in table["Routes"])


def route_table_of(ec2, subnet_id: str) -> dict:  # type: ignore[no-untyped-def]
    tables = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])
    assert len(tables["RouteTables"]) == 1, tables
    return tables["RouteTables"][0]


@pytest.mark.parametrize(("group", "port"), [("database", 5432), ("redis", 6379)])
def test_data_stores_are_reachable_only_from_the_nodes(groups, group, port):  # type: ignore[no-untyped-def]
    nodes_id = groups[f"{NAME}-nodes"]["GroupId"]
    rules = groups[f"{NAME}-{group}"]["IpPermissions"]
    assert len(rules) == 1, rules
    rule = rules[0]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", port, port)
    assert [pair["GroupId"] for pair in rule["UserIdGroupPairs"]] == [nodes_id]
    assert rule.get("IpRanges", []) == []
    assert rule.get("Ipv6Ranges", []) == []


def test_data_key_rotates(aws_site, key_arn):  # type: ignore[no-untyped-def]
    kms = aws_site.client("kms")
    assert kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"] is True
    metadata = kms.describe_key(KeyId=key_arn)["KeyMetadata"]
    assert metadata["KeyManager"] == "CUSTOMER"
    assert metadata["KeyState"] == "Enabled"


def test_primary_database_meets_the_seed(rds, groups, key_arn):  # type: ignore[no-untyped-def]
    db = db_instance(rds, f"{NAME}-primary")
    assert db["Engine"] == "postgres"
    assert db["EngineVersion"].split(".")[0] == "16"
    assert db["MultiAZ"] is True
    assert db["StorageEncrypted"] is True
    assert db["KmsKeyId"] == key_arn
    assert db["BackupRetentionPeriod"] == 7
    assert db["PreferredBackupWindow"] == "03:00-03:55"
    assert db["PreferredMaintenanceWindow"] == "sun:04:00-sun:05:00"
    assert db["DeletionProtection"] is True
    assert db["PubliclyAccessible"] is False
    assert db["CopyTagsToSnapshot"] is True
    assert db["EnabledCloudwatchLogsExports"] == ["postgresql"]
    assert [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]] == [groups[f"{NAME}-database"]["GroupId"]]
    assert db["DBSubnetGroup"]["DBSubnetGroupName"] == f"{NAME}-db"
    assert len({s["SubnetAvailabilityZone"]["Name"] for s in db["DBSubnetGroup"]["Subnets"]}) == 3
    assert db["MonitoringInterval"] == 60
    assert db["MonitoringRoleArn"].endswith(f"/{NAME}-rds-monitoring")
    assert (db["DBInstanceClass"], db["AllocatedStorage"], db["MaxAllocatedStorage"]) == ("db.t4g.medium", 20, 100)
    # Performance Insights is not checked: moto keeps no Performance Insights settings (DescribeDBInstances returns
    # no PerformanceInsightsEnabled), so the rds role leaves those options out on the emulator.
    assert [g["DBParameterGroupName"] for g in db["DBParameterGroups"]] == [f"{NAME}-postgres16"]


def test_parameter_group_values(rds):  # type: ignore[no-untyped-def]
    group = rds.describe_db_parameter_groups(DBParameterGroupName=f"{NAME}-postgres16")["DBParameterGroups"][0]
    assert group["DBParameterGroupFamily"] == "postgres16"
    values = {
        p["ParameterName"]: p.get("ParameterValue")
        for p in rds.describe_db_parameters(DBParameterGroupName=f"{NAME}-postgres16")["Parameters"]
    }
    assert values["shared_preload_libraries"] == "pg_stat_statements"
    assert values["log_min_duration_statement"] == "1000"
    assert values["log_statement"] == "ddl"
    assert values["random_page_cost"] == "1.1"


def test_read_replica_follows_the_primary(rds, groups, key_arn):  # type: ignore[no-untyped-def]
    replica = db_instance(rds, f"{NAME}-replica")
    assert replica["ReadReplicaSourceDBInstanceIdentifier"] == f"{NAME}-primary"
    assert replica["StorageEncrypted"] is True
    assert replica["KmsKeyId"] == key_arn
    assert replica["PubliclyAccessible"] is False
    assert [g["VpcSecurityGroupId"] for g in replica["VpcSecurityGroups"]] == [groups[f"{NAME}-database"]["GroupId"]]
    assert db_instance(rds, f"{NAME}-primary")["ReadReplicaDBInstanceIdentifiers"] == [f"{NAME}-replica"]


def test_registry_scans_and_keeps_tags_immutable(aws_site):  # type: ignore[no-untyped-def]
    ecr = aws_site.client("ecr")
    repo = ecr.describe_repositories(repositoryNames=["weekend-planner"])["repositories"][0]
    assert repo["imageScanningConfiguration"]["scanOnPush"] is True
    assert repo["imageTagMutability"] == "IMMUTABLE"
    policy = json.loads(ecr.get_lifecycle_policy(repositoryName="weekend-planner")["lifecyclePolicyText"])
    selections = {rule["selection"]["tagStatus"]: rule["selection"] for rule in policy["rules"]}
    assert selections["untagged"]["countNumber"] == 7
    assert selections["any"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30}
    assert all(rule["action"]["type"] == "expire" for rule in policy["rules"])


def test_application_log_group_has_retention_and_our_key(aws_site, key_arn):  # type: ignore[no-untyped-def]
    logs = aws_site.client("logs")
    found = logs.describe_log_groups(logGroupNamePrefix="/weekend-planner/staging/application")["logGroups"]
    assert [(g["logGroupName"], g.get("retentionInDays")) for g in found] == [
        ("/weekend-planner/staging/application", 30)
    ]
    assert found[0].get("kmsKeyId") == key_arn
    # The key's policy lets CloudWatch Logs use it, for this account's log groups only.
    policy = json.loads(aws_site.client("kms").get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])
    logs_grant = next(s for s in policy["Statement"] if s["Principal"].get("Service") == "logs.us-west-2.amazonaws.com")
    condition = logs_grant["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert condition.startswith("arn:aws:logs:us-west-2:123456789012:log-group:")


def test_second_run_changes_nothing(aws_site):  # type: ignore[no-untyped-def]
    assert aws_site.first_run.returncode == 0, "the first run failed; see test_site_playbook_succeeds"
    run = aws_site.run(name="site-second")
    assert run.returncode == 0, run.tail()
    assert run.recap["changed"] == 0, run.tail(12000)


@pytest.mark.parametrize("playbook", ["database.yml", "logging.yml"])
def test_layer_runs_alone_from_the_lookups(aws_site, playbook):  # type: ignore[no-untyped-def]
    # Alone, these layers find the network and the key through the network and kms roles' lookup.yml.
    assert aws_site.first_run.returncode == 0, "the first run failed; see test_site_playbook_succeeds"
    run = aws_site.run(playbook=playbook, name=f"alone-{playbook.removesuffix('.yml')}")
    assert run.returncode == 0, run.tail()
    assert run.recap["changed"] == 0, run.tail(12000)
    assert "TASK [kms : Find the data stores' key by its alias]" in run.output
    if playbook == "database.yml":
        assert "TASK [network : Find the VPC]" in run.output
