"""Field encryption at rest (docs/architecture.md, Configuration): OAuth tokens, private subscription URLs.

Values are encrypted with Fernet (AES-128-CBC with an HMAC-SHA256, a random IV per value) under a key
derived from `settings.ENCRYPTION_KEY`: its SHA-256 digest, urlsafe-base64 encoded, so any secret string
works as the setting. Production refuses to start without ENCRYPTION_KEY (planner.settings); elsewhere an
empty key falls back to one derived from SECRET_KEY, so development and tests need no configuration.

Because every encryption uses a fresh IV, the same text never gives the same ciphertext twice: an
encrypted column cannot be searched or made unique. Store a digest beside it when that is needed (as
`Subscription.url_hash` does), and query that.

Changing ENCRYPTION_KEY makes existing values unreadable: reading one raises `DecryptionError`, never
returns garbage.
"""

import base64
import functools
import hashlib
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from apps.core.redaction import remember_secret


class DecryptionError(ValueError):
    """A stored value cannot be decrypted with the configured key (the key changed, or the value is not ours)."""


def _secret() -> str:
    key = str(getattr(settings, "ENCRYPTION_KEY", "") or "").strip()
    if key:
        return key
    if getattr(settings, "PRODUCTION", False):
        raise ImproperlyConfigured("ENCRYPTION_KEY must be set when DJANGO_ENV=production")
    return f"encryption-key-from-secret-key:{settings.SECRET_KEY}"


def fernet_key(secret: str) -> bytes:
    """The Fernet key a secret string stands for (SHA-256, urlsafe base64)."""
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())


@functools.lru_cache(maxsize=8)
def _fernet_for(secret: str) -> Fernet:
    return Fernet(fernet_key(secret))


def _fernet() -> Fernet:
    # Read the setting on every call (cached per value), so override_settings and key changes take effect.
    return _fernet_for(_secret())


def encrypt(text: str) -> str:
    """The ciphertext of `text`, as an ASCII string (a Fernet token). What is encrypted is a secret: it is
    redacted from this request's or task's logs and error reports from now on."""
    remember_secret(text)
    return _fernet().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """The text `encrypt` was given. Raises `DecryptionError` when the key does not match or the token is broken."""
    try:
        text = _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise DecryptionError(
            "A stored value cannot be decrypted with the configured ENCRYPTION_KEY "
            "(was the key changed, or was the value written without encryption?)"
        ) from exc
    remember_secret(text)
    return text


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """Text stored encrypted (a Fernet token) and read back as plain text.

    Only `isnull` can be looked up: the ciphertext differs on every save, so comparing it with anything
    is meaningless, and a silently empty result would hide the mistake.
    """

    description = "Text encrypted at rest"

    def from_db_value(self, value: Any, expression: Any, connection: BaseDatabaseWrapper) -> Any:
        if value is None:
            return None
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return encrypt(str(value))

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            return None  # Django then raises FieldError: Unsupported lookup
        return super().get_lookup(lookup_name)
