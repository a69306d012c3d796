#!/usr/bin/python
# Weekend Planner's own module: the application's Secrets Manager secret, one JSON object of every key the application
# reads (docs/security.md, "Application secrets"). amazon.aws.secretsmanager_secret writes a whole value it is given;
# this one merges: what the inventory manages is set on every run, the keys a rotation changes (the signing and
# encryption keys and their _NEXT/_FALLBACKS/_PREVIOUS slots) are only seeded from the vault and then belong to the
# secret, and a rotation phase rewrites exactly those. Read, merge and write happen in one task, so no value passes
# through a registered variable or the output (every value option is no_log).
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Ansible's module format puts DOCUMENTATION, EXAMPLES and RETURN before the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: app_secret
short_description: The application's JSON secret in AWS Secrets Manager, with key rotation in phases
description:
  - Creates the secret (encrypted with O(kms_key_id)) or puts a new version when the merged JSON differs; a run that
    changes nothing writes nothing.
  - O(values) are set on every run; O(initial_values) only where the key is missing or empty.
  - O(rotate) with O(phase) rotates key families. C(stage) generates the new key into the C(_NEXT) slot (it is only
    accepted); C(promote) makes it current and moves the old one to the previous slot (still accepted); C(retire)
    empties the previous slot. C(stage) does nothing when a key is already staged, so it can be run again.
  - O(state=absent) deletes the secret after O(recovery_window_days) (0 deletes it at once, without recovery); a later
    O(state=present) restores a secret still pending deletion.
version_added: "1.0.0"
author: Weekend Planner maintainers
options:
  name:
    description: Name of the secret.
    type: str
    required: true
  kms_key_id:
    description: ARN of the KMS key that encrypts the secret; required to create it.
    type: str
  description:
    description: Description of the secret.
    type: str
    default: ""
  values:
    description: Keys set on every run.
    type: dict
    default: {}
  initial_values:
    description: Keys set only when missing or empty (the first value of a key that rotations then own).
    type: dict
    default: {}
  rotate:
    description: Key families to rotate.
    type: list
    elements: str
    choices: [django_secret_key, jwt, encryption_key]
    default: []
  phase:
    description: Rotation phase; required with O(rotate).
    type: str
    choices: [stage, promote, retire]
  tags:
    description: Tags on the secret (others are removed).
    type: dict
    default: {}
  recovery_window_days:
    description: Days a deleted secret can be restored (7 to 30), or 0 to delete it without recovery.
    type: int
    default: 7
  state:
    description: Whether the secret should exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Promote the staged JWT key pair
  app_secret:
    name: weekend-planner/production/app
    rotate: [jwt]
    phase: promote
"""

RETURN = r"""
arn:
  description: ARN of the secret.
  returned: when the secret exists
  type: str
keys:
  description: Names of the keys the secret holds (never their values).
  returned: when the secret exists
  type: list
  elements: str
changed_keys:
  description: Names of the keys this run added, changed or emptied.
  returned: always
  type: list
  elements: str
"""

import json
import secrets
from typing import Any

from ansible.module_utils.planner_aws import AWS_ERRORS, aws_client
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
except ImportError:  # reported by main() when a JWT rotation needs it
    rsa = None  # type: ignore[assignment]

# Families whose previous keys form a comma-separated list the application reads with env.list (so generated keys
# never contain a comma: token_urlsafe's alphabet is A-Z a-z 0-9 - _).
LIST_FAMILIES = {
    "django_secret_key": ("DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY_NEXT", "DJANGO_SECRET_KEY_FALLBACKS"),
    "encryption_key": ("ENCRYPTION_KEY", "ENCRYPTION_KEY_NEXT", "ENCRYPTION_KEY_FALLBACKS"),
}
JWT_KEY_BITS = 2048


class RotationError(Exception):
    pass


def new_secret_string() -> str:
    return secrets.token_urlsafe(48)


def new_jwt_key_pair() -> tuple[str, str]:
    if rsa is None:
        raise RotationError("rotating the JWT key pair needs the cryptography library on the controller")
    key = rsa.generate_private_key(public_exponent=65537, key_size=JWT_KEY_BITS)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def rotate_list_family(data: dict[str, str], family: str, phase: str) -> None:
    current, nxt, fallbacks = LIST_FAMILIES[family]
    if phase == "stage":
        if not data.get(nxt):
            data[nxt] = new_secret_string()
    elif phase == "promote":
        if not data.get(nxt):
            raise RotationError(f"{family}: nothing staged in {nxt}; run phase=stage and roll it out first")
        kept = [key for key in [data.get(current, ""), *_split(data.get(fallbacks, ""))] if key and key != data[nxt]]
        data[current], data[nxt], data[fallbacks] = data[nxt], "", ",".join(dict.fromkeys(kept))
    else:
        data[fallbacks] = ""


def rotate_jwt(data: dict[str, str], phase: str) -> None:
    if phase == "stage":
        if not data.get("JWT_NEXT_PRIVATE_KEY"):
            data["JWT_NEXT_PRIVATE_KEY"], data["JWT_NEXT_PUBLIC_KEY"] = new_jwt_key_pair()
    elif phase == "promote":
        if not data.get("JWT_NEXT_PRIVATE_KEY") or not data.get("JWT_NEXT_PUBLIC_KEY"):
            raise RotationError("jwt: nothing staged in JWT_NEXT_PRIVATE_KEY; run phase=stage and roll it out first")
        # One previous slot only: overwriting it would refuse the tokens the key in it signed before they expire.
        if data.get("JWT_PREVIOUS_PUBLIC_KEY"):
            raise RotationError(
                "jwt: JWT_PREVIOUS_PUBLIC_KEY still holds the key before; run phase=retire once the refresh token "
                "lifetime has passed since the last promotion"
            )
        data["JWT_PREVIOUS_PUBLIC_KEY"] = data.get("JWT_PUBLIC_KEY", "")
        data["JWT_PRIVATE_KEY"], data["JWT_PUBLIC_KEY"] = data["JWT_NEXT_PRIVATE_KEY"], data["JWT_NEXT_PUBLIC_KEY"]
        data["JWT_NEXT_PRIVATE_KEY"] = data["JWT_NEXT_PUBLIC_KEY"] = ""
    else:
        data["JWT_PREVIOUS_PUBLIC_KEY"] = ""


def merged(
    current: dict[str, str],
    values: dict[str, Any],
    initial_values: dict[str, Any],
    rotate: list[str],
    phase: str | None,
) -> dict[str, str]:
    """The secret's next content: pure, so the same inputs always give the same answer (bar generated keys)."""
    data = dict(current)
    data.update({key: str(value) for key, value in values.items()})
    for key, value in initial_values.items():
        if not data.get(key):
            data[key] = str(value)
    for family in rotate:
        if family == "jwt":
            rotate_jwt(data, str(phase))
        else:
            rotate_list_family(data, family, str(phase))
    return data


def describe(client: Any, name: str) -> dict[str, Any] | None:
    try:
        return client.describe_secret(aws_retry=True, SecretId=name)  # type: ignore[no-any-return]
    except is_boto3_error_code("ResourceNotFoundException"):
        return None


def sync_tags(client: Any, arn: str, have: list[dict[str, str]], wanted: dict[str, str]) -> bool:
    current = {t["Key"]: t["Value"] for t in have}
    to_add = [{"Key": k, "Value": str(v)} for k, v in wanted.items() if current.get(k) != str(v)]
    to_remove = [k for k in current if k not in wanted]
    if to_remove:
        client.untag_resource(aws_retry=True, SecretId=arn, TagKeys=to_remove)
    if to_add:
        client.tag_resource(aws_retry=True, SecretId=arn, Tags=to_add)
    return bool(to_add or to_remove)


def ensure_present(module: AnsibleAWSModule, client: Any) -> dict[str, Any]:
    p = module.params
    found = describe(client, p["name"])
    changed = False
    if found is not None and found.get("DeletedDate"):
        changed = True
        if module.check_mode:
            return {"changed": True, "changed_keys": []}
        client.restore_secret(aws_retry=True, SecretId=p["name"])
    if found is None and p["rotate"]:
        module.fail_json(msg=f"No secret {p['name']} to rotate: run playbooks/secrets.yml first")
    if found is None and not p["kms_key_id"]:
        module.fail_json(msg="kms_key_id is required to create the secret")
    current: dict[str, str] = {}
    if found is not None:
        value = client.get_secret_value(aws_retry=True, SecretId=p["name"]).get("SecretString") or "{}"
        current = json.loads(value)
    try:
        data = merged(current, p["values"], p["initial_values"], p["rotate"], p["phase"])
    except RotationError as e:
        module.fail_json(msg=str(e))
    changed_keys = sorted(k for k in set(data) | set(current) if data.get(k, "") != current.get(k, ""))
    text = json.dumps(data, sort_keys=True)
    if found is None:
        if not module.check_mode:
            tags = [{"Key": k, "Value": str(v)} for k, v in p["tags"].items()]
            found = client.create_secret(
                aws_retry=True,
                Name=p["name"],
                Description=p["description"],
                KmsKeyId=p["kms_key_id"],
                SecretString=text,
                Tags=tags,
            )
            found = {"ARN": found["ARN"]}
        return {"changed": True, "changed_keys": changed_keys, "keys": sorted(data), "arn": (found or {}).get("ARN")}

    arn = found["ARN"]
    settings: dict[str, str] = {}
    if p["kms_key_id"] and found.get("KmsKeyId") != p["kms_key_id"]:
        settings["KmsKeyId"] = p["kms_key_id"]
    if found.get("Description", "") != p["description"]:
        settings["Description"] = p["description"]
    if settings or changed_keys:
        changed = True
        if not module.check_mode and settings:
            client.update_secret(aws_retry=True, SecretId=arn, **settings)
        if not module.check_mode and changed_keys:
            # A new version becomes AWSCURRENT; the one before stays readable as AWSPREVIOUS (a way back).
            client.put_secret_value(aws_retry=True, SecretId=arn, SecretString=text)
    if module.check_mode:
        changed |= bool(set(p["tags"]) ^ {t["Key"] for t in found.get("Tags", [])})
    else:
        changed |= sync_tags(client, arn, found.get("Tags", []), p["tags"])
    return {"changed": changed, "changed_keys": changed_keys, "keys": sorted(data), "arn": arn}


def ensure_absent(module: AnsibleAWSModule, client: Any) -> dict[str, Any]:
    found = describe(client, module.params["name"])
    if found is None or (found.get("DeletedDate") and module.params["recovery_window_days"]):
        return {"changed": False, "changed_keys": []}
    if not module.check_mode:
        days = module.params["recovery_window_days"]
        window = {"ForceDeleteWithoutRecovery": True} if days == 0 else {"RecoveryWindowInDays": days}
        client.delete_secret(aws_retry=True, SecretId=found["ARN"], **window)
    return {"changed": True, "changed_keys": []}


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "kms_key_id": {"type": "str"},
            "description": {"type": "str", "default": ""},
            "values": {"type": "dict", "default": {}, "no_log": True},
            "initial_values": {"type": "dict", "default": {}, "no_log": True},
            "rotate": {
                "type": "list",
                "elements": "str",
                "default": [],
                "choices": ["django_secret_key", "jwt", "encryption_key"],
            },
            "phase": {"type": "str", "choices": ["stage", "promote", "retire"]},
            "tags": {"type": "dict", "default": {}},
            "recovery_window_days": {"type": "int", "default": 7, "no_log": False},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        },
        supports_check_mode=True,
    )
    if module.params["rotate"] and not module.params["phase"]:
        module.fail_json(msg="phase is required with rotate")
    if module.params["recovery_window_days"] not in [0, *range(7, 31)]:
        module.fail_json(msg="recovery_window_days must be 0 or between 7 and 30")
    client = aws_client(module, "secretsmanager")
    try:
        if module.params["state"] == "present":
            result = ensure_present(module, client)
        else:
            result = ensure_absent(module, client)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Could not manage secret {module.params['name']}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
