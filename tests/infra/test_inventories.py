"""The inventories: same settings in both environments, staging's vault opens with the test password only."""

import subprocess

import yaml

from tests.infra.conftest import ANSIBLE_BIN, ANSIBLE_DIR

INVENTORIES = ANSIBLE_DIR / "inventories"
TEST_PASSWORD = ANSIBLE_DIR / "tests" / "vault-password"


def vault_view(environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(ANSIBLE_BIN / "ansible-vault"), "view", "--vault-password-file", str(TEST_PASSWORD),
            str(INVENTORIES / environment / "group_vars" / "all" / "vault.yml"),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def settings(environment: str) -> dict:
    return yaml.safe_load((INVENTORIES / environment / "group_vars" / "all" / "main.yml").read_text())


def test_staging_vault_opens_with_the_test_password() -> None:
    opened = vault_view("staging")
    assert opened.returncode == 0, opened.stderr
    secrets = yaml.safe_load(opened.stdout)
    assert set(secrets) == {"vault_rds_master_password", "vault_elasticache_auth_token", "vault_app_secrets"}
    # The keys roles/secrets needs to seed the application secret (docs/security.md, "Application secrets").
    seeded = {"DJANGO_SECRET_KEY", "JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY", "ENCRYPTION_KEY"}
    assert seeded <= set(secrets["vault_app_secrets"])
    # ElastiCache auth tokens: 16 to 128 characters.
    assert 16 <= len(secrets["vault_elasticache_auth_token"]) <= 128


def test_production_vault_is_encrypted_with_another_password() -> None:
    text = (INVENTORIES / "production" / "group_vars" / "all" / "vault.yml").read_text()
    assert text.startswith("$ANSIBLE_VAULT;1.1;AES256\n")
    assert "vault_rds_master_password" not in text
    opened = vault_view("production")
    assert opened.returncode != 0
    assert "Decryption failed" in opened.stderr


def test_environments_set_the_same_variables() -> None:
    staging, production = settings("staging"), settings("production")
    assert set(staging) == set(production)
    assert (staging["planner_env"], production["planner_env"]) == ("staging", "production")
    assert staging["aws_region"] == production["aws_region"] == "us-west-2"
    assert staging["aws_dr_region"] == production["aws_dr_region"] == "us-east-2"
    # Production: a NAT gateway per zone; staging shares one (docs/aws-infrastructure.md says why).
    assert (staging["network_nat_gateway_per_az"], production["network_nat_gateway_per_az"]) == (False, True)
    assert staging["network_vpc_cidr"] != production["network_vpc_cidr"]
    for env in (staging, production):
        assert len(env["network_public_subnet_cidrs"]) == len(env["network_private_subnet_cidrs"]) == 3
        assert env["rds_master_password"] == "{{ vault_rds_master_password }}"


def test_staging_inventory_resolves_the_vaulted_password() -> None:
    listed = subprocess.run(
        [
            str(ANSIBLE_BIN / "ansible"), "localhost", "-i", str(INVENTORIES / "staging"),
            "--vault-password-file", str(TEST_PASSWORD), "-m", "ansible.builtin.debug",
            "-a", "msg={{ rds_master_password | length }}",
        ],
        capture_output=True, text=True, timeout=120, check=False, cwd=ANSIBLE_DIR,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert '"msg": 30' in listed.stdout or "msg: 30" in listed.stdout, listed.stdout
