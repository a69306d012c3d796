"""The application's secret in Secrets Manager (roles/secrets) and its rotation (playbooks/rotate-secrets.yml), run
against the session's moto server after site.yml; read back with boto3.

The rotation walks stage -> promote -> retire for every key family and checks what each phase leaves in each slot
(the application side of the same phases is apps/users/tests/test_key_rotation.py and
apps/calendars/tests/test_encryption_rotation.py).
"""

import ast
import json
import subprocess
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from tests.infra.conftest import ANSIBLE_BIN, ANSIBLE_DIR, ROOT

NAME = "weekend-planner-staging"
SECRET = "weekend-planner/staging/app"
# Keys that are configuration rather than secrets: the chart's ConfigMap carries them.
NOT_SECRETS = {"ALLOWED_HOSTS"}
OPTIONAL_KEYS_WE_SET = {
    "DATABASE_REPLICA_URL",
    "EMAIL_URL",
    "TICKETMASTER_API_KEY",
    "EVENTBRITE_API_KEY",
    "MEETUP_API_KEY",
    "GOOGLE_MAPS_API_KEY",
    "GOOGLE_OAUTH_CLIENT_ID",
    "GOOGLE_OAUTH_CLIENT_SECRET",
}


def required_in_production() -> set[str]:
    """planner.settings.REQUIRED_IN_PRODUCTION, read from the source (importing it would configure Django)."""
    tree = ast.parse((ROOT / "planner" / "settings.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "REQUIRED_IN_PRODUCTION":
            return set(ast.literal_eval(node.value))
    raise AssertionError("REQUIRED_IN_PRODUCTION not found in planner/settings.py")


@pytest.fixture(scope="module")
def vault() -> dict:
    done = subprocess.run(
        [
            str(ANSIBLE_BIN / "ansible-vault"),
            "view",
            "--vault-password-file",
            str(ANSIBLE_DIR / "tests" / "vault-password"),
            str(ANSIBLE_DIR / "inventories" / "staging" / "group_vars" / "all" / "vault.yml"),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return yaml.safe_load(done.stdout)


@pytest.fixture(scope="module")
def secrets_manager(aws_site):  # type: ignore[no-untyped-def]
    assert aws_site.first_run.returncode == 0, aws_site.first_run.tail()
    return aws_site.client("secretsmanager")


def read(secrets_manager) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return json.loads(secrets_manager.get_secret_value(SecretId=SECRET)["SecretString"])


@pytest.fixture(scope="module")
def as_written(secrets_manager) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The secret as site.yml wrote it. The rotation test asks for it too, so it is read before any rotation
    whichever order the tests run in (the rotation leaves new keys behind)."""
    return read(secrets_manager)


def public_key_of(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def same_pem(a: str, b: str) -> bool:
    return a.strip() == b.strip()


def test_the_secret_holds_every_key_the_application_reads(as_written, vault):  # type: ignore[no-untyped-def]
    data = as_written

    wanted = (required_in_production() - NOT_SECRETS) | OPTIONAL_KEYS_WE_SET
    assert wanted - {key for key, value in data.items() if value} == set()
    for key, value in vault["vault_app_secrets"].items():
        assert data[key] == value, key
    assert same_pem(public_key_of(data["JWT_PRIVATE_KEY"]), data["JWT_PUBLIC_KEY"])


def test_the_urls_point_at_the_data_stores_with_their_credentials(aws_site, as_written, vault):  # type: ignore[no-untyped-def]
    data = as_written
    instances = {
        d["DBInstanceIdentifier"]: d["Endpoint"]["Address"]
        for d in aws_site.client("rds").describe_db_instances()["DBInstances"]
    }
    for key, instance in (("DATABASE_URL", f"{NAME}-primary"), ("DATABASE_REPLICA_URL", f"{NAME}-replica")):
        url = urlsplit(data[key])
        assert (url.scheme, url.hostname, url.port, url.path) == ("postgres", instances[instance], 5432,
                                                                  "/weekend_planner"), key  # fmt: skip
        assert unquote(url.password or "") == vault["vault_rds_master_password"], key
        assert url.query == "sslmode=require", key

    group = aws_site.client("elasticache").describe_replication_groups(ReplicationGroupId=f"{NAME}-redis")
    primary = group["ReplicationGroups"][0]["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    redis = urlsplit(data["REDIS_URL"])
    assert (redis.scheme, redis.hostname, redis.port, redis.path) == ("rediss", primary, 6379, "/0")
    assert unquote(redis.password or "") == vault["vault_elasticache_auth_token"]


def test_the_secret_is_encrypted_with_the_data_key_and_tagged(aws_site, secrets_manager):  # type: ignore[no-untyped-def]
    described = secrets_manager.describe_secret(SecretId=SECRET)
    key = aws_site.client("kms").describe_key(KeyId=f"alias/{NAME}-data")["KeyMetadata"]
    assert described["KmsKeyId"] == key["Arn"]
    assert {t["Key"]: t["Value"] for t in described["Tags"]}["Environment"] == "staging"


def rotate(aws_site, families: str, phase: str, *extra: str):  # type: ignore[no-untyped-def]
    return aws_site.run(
        "-e", f"rotate={families}", "-e", f"phase={phase}", *extra,
        playbook="rotate-secrets.yml", name=f"rotate-{families}-{phase}",
    )  # fmt: skip


def test_rotation_stage_promote_retire_keeps_the_old_keys_accepted_until_retired(aws_site, secrets_manager, as_written):  # type: ignore[no-untyped-def]
    before = read(secrets_manager)

    staged = rotate(aws_site, "all", "stage")
    assert staged.returncode == 0, staged.tail()
    after_stage = read(secrets_manager)
    for current, nxt in (("DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY_NEXT"), ("ENCRYPTION_KEY", "ENCRYPTION_KEY_NEXT")):
        assert after_stage[current] == before[current]  # still current: only accepted so far
        assert after_stage[nxt]
        assert after_stage[nxt] != before[current]
        assert "," not in after_stage[nxt]  # the application reads the fallbacks as a comma-separated list
    assert after_stage["JWT_PRIVATE_KEY"] == before["JWT_PRIVATE_KEY"]
    assert same_pem(public_key_of(after_stage["JWT_NEXT_PRIVATE_KEY"]), after_stage["JWT_NEXT_PUBLIC_KEY"])

    again = rotate(aws_site, "all", "stage")  # staging twice keeps the key the pods have started accepting
    assert again.returncode == 0, again.tail()
    assert again.recap["changed"] == 0, again.tail()
    assert read(secrets_manager) == after_stage

    promoted = rotate(aws_site, "all", "promote")
    assert promoted.returncode == 0, promoted.tail()
    after_promote = read(secrets_manager)
    assert after_promote["DJANGO_SECRET_KEY"] == after_stage["DJANGO_SECRET_KEY_NEXT"]
    assert after_promote["DJANGO_SECRET_KEY_FALLBACKS"].split(",") == [before["DJANGO_SECRET_KEY"]]
    assert after_promote["ENCRYPTION_KEY"] == after_stage["ENCRYPTION_KEY_NEXT"]
    assert after_promote["ENCRYPTION_KEY_FALLBACKS"].split(",") == [before["ENCRYPTION_KEY"]]
    assert after_promote["JWT_PRIVATE_KEY"] == after_stage["JWT_NEXT_PRIVATE_KEY"]
    assert after_promote["JWT_PUBLIC_KEY"] == after_stage["JWT_NEXT_PUBLIC_KEY"]
    assert same_pem(after_promote["JWT_PREVIOUS_PUBLIC_KEY"], before["JWT_PUBLIC_KEY"])
    for emptied in ("DJANGO_SECRET_KEY_NEXT", "ENCRYPTION_KEY_NEXT", "JWT_NEXT_PRIVATE_KEY", "JWT_NEXT_PUBLIC_KEY"):
        assert after_promote[emptied] == "", emptied
    # The secret's previous version stays readable in Secrets Manager: a way back.
    assert secrets_manager.get_secret_value(SecretId=SECRET, VersionStage="AWSPREVIOUS")["SecretString"]

    # The vault only seeded the rotated keys: the site's secret layer run again keeps the rotated values.
    layer = aws_site.run(playbook="secrets.yml", name="secrets-after-rotation")
    assert layer.returncode == 0, layer.tail()
    assert layer.recap["changed"] == 0, layer.tail()
    assert read(secrets_manager) == after_promote

    # A second JWT promotion before retiring would drop the key that signed refresh tokens still alive: refused.
    assert rotate(aws_site, "jwt", "stage").returncode == 0
    refused = rotate(aws_site, "jwt", "promote")
    assert refused.returncode != 0
    assert "run phase=retire once the refresh token lifetime has passed" in refused.output
    # So is retiring the old encryption key before `manage.py reencrypt` has moved the data off it.
    unconfirmed = rotate(aws_site, "encryption_key", "retire")
    assert unconfirmed.returncode != 0
    assert "reencrypted=true" in unconfirmed.output
    assert read(secrets_manager)["ENCRYPTION_KEY_FALLBACKS"] == after_promote["ENCRYPTION_KEY_FALLBACKS"]

    retired = rotate(aws_site, "all", "retire", "-e", "reencrypted=true")
    assert retired.returncode == 0, retired.tail()
    after_retire = read(secrets_manager)
    for emptied in ("DJANGO_SECRET_KEY_FALLBACKS", "ENCRYPTION_KEY_FALLBACKS", "JWT_PREVIOUS_PUBLIC_KEY"):
        assert after_retire[emptied] == "", emptied
    for current in ("DJANGO_SECRET_KEY", "ENCRYPTION_KEY", "JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY"):
        assert after_retire[current] == after_promote[current], current

    # Never a key in the output: every value option of the module is no_log.
    for run in aws_site.runs:
        for key in ("DJANGO_SECRET_KEY", "ENCRYPTION_KEY", "DJANGO_SECRET_KEY_NEXT"):
            for value in (before.get(key), after_stage.get(key), after_promote.get(key)):
                if value:
                    assert value not in run.output, (run.log, key)
