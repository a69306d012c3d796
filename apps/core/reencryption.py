"""Re-encrypting stored values under the current ENCRYPTION_KEY (`manage.py reencrypt`), the step of a key rotation
that lets the retired keys leave ENCRYPTION_KEY_FALLBACKS (docs/security.md, "Rotating the application keys").

What is encrypted at rest: every `EncryptedTextField` column of every installed model (found through the app
registry, so a new one is covered without touching this module), and the second-factor secrets allauth keeps in
`mfa.Authenticator.data` through apps.users.mfa's adapter. Rows are locked while rewritten, so a concurrent save is
never overwritten with an older value; values already under the current key are left alone, so a second run (or
one interrupted and run again) changes nothing it need not.
"""

from typing import Any

from django.apps import apps as django_apps
from django.db import models, transaction
from django.db.models.functions import Cast

from apps.core.encryption import EncryptedTextField, decrypt, encrypted_with_current_key, reencrypt

BATCH_SIZE = 500
# allauth.mfa's Authenticator.data keys that hold encrypt()ed strings (TOTP secret, recovery-code seed) or lists of
# them (recovery codes migrated from an older allauth).
MFA_ENCRYPTED_KEYS = ("secret", "seed")
MFA_ENCRYPTED_LISTS = ("migrated_codes",)


def _encrypted_columns() -> list[tuple[type[models.Model], EncryptedTextField]]:
    return [
        (model, field)
        for model in django_apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


def _reencrypt_column(model: type[models.Model], field: EncryptedTextField, batch_size: int) -> int:
    # The ciphertext as stored: cast to text so the field's from_db_value (which decrypts) is not applied.
    raw = Cast(field.attname, output_field=models.TextField())
    pks = list(
        model._base_manager.filter(**{f"{field.attname}__isnull": False}).order_by("pk").values_list("pk", flat=True)
    )
    changed = 0
    for start in range(0, len(pks), batch_size):
        with transaction.atomic():
            rows = (
                model._base_manager.select_for_update()
                .filter(pk__in=pks[start : start + batch_size])
                .annotate(stored=raw)
                .values_list("pk", "stored")
            )
            for pk, token in rows:
                if token is None or encrypted_with_current_key(token):
                    continue
                # update() runs the field's get_prep_value, which encrypts the plain text under the current key.

                model._base_manager.filter(pk=pk).update(**{field.attname: decrypt(token)})
                changed += 1
    return changed


def _reencrypt_mfa(batch_size: int) -> int:
    try:
        authenticator = django_apps.get_model("mfa", "Authenticator")
    except LookupError:
        return 0
    changed = 0
    pks = list(authenticator._base_manager.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(pks), batch_size):
        with transaction.atomic():
            for pk, data in (
                authenticator._base_manager.select_for_update()
                .filter(pk__in=pks[start : start + batch_size])
                .values_list("pk", "data")
            ):
                new_data = _reencrypted_mfa_data(data)
                if new_data is not None:
                    authenticator._base_manager.filter(pk=pk).update(data=new_data)
                    changed += 1
    return changed


def _reencrypted_mfa_data(data: Any) -> dict[str, Any] | None:
    """The data with every encrypted value under the current key, or None when nothing needed it."""
    if not isinstance(data, dict):
        return None
    new = dict(data)
    for key in MFA_ENCRYPTED_KEYS:
        value = new.get(key)
        if isinstance(value, str) and not encrypted_with_current_key(value):
            new[key] = reencrypt(value)
    for key in MFA_ENCRYPTED_LISTS:
        values = new.get(key)
        if isinstance(values, list):
            new[key] = [reencrypt(v) if isinstance(v, str) and not encrypted_with_current_key(v) else v for v in values]
    return new if new != data else None


def reencrypt_stored_values(*, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Rewrites every value not yet under the current key; returns how many were rewritten, per column.

    Raises apps.core.encryption.DecryptionError when a value opens with no configured key: the key it was written
    with is missing from ENCRYPTION_KEY_FALLBACKS, and dropping more keys would lose data."""
    counts = {
        f"{model._meta.label}.{field.name}": _reencrypt_column(model, field, batch_size)
        for model, field in _encrypted_columns()
    }
    counts["mfa.Authenticator.data"] = _reencrypt_mfa(batch_size)
    return counts
