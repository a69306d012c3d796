"""Field encryption at rest (docs/architecture.md, Configuration): OAuth tokens, private subscription URLs.

Values are encrypted with Fernet (AES-128-CBC with an HMAC-SHA256, a random IV per value) under a key
derived from `settings.ENCRYPTION_KEY`: its SHA-256 digest, urlsafe-base64 encoded, so any secret string
works as the setting. Production refuses to start without ENCRYPTION_KEY (planner.settings); elsewhere an
empty key falls back to one derived from SECRET_KEY, so development and tests need no configuration.

Because every encryption uses a fresh IV, the same text never gives the same ciphertext twice: an
encrypted column cannot be searched or made unique. Store a digest beside it when that is needed (as
`Subscription.url_hash` does), and query that.

Rotation (docs/security.md, "Rotating the application keys") keeps existing values readable: the keys form a
MultiFernet, ENCRYPTION_KEY first (it encrypts every new value), then ENCRYPTION_KEY_NEXT (staged by a rotation)
and ENCRYPTION_KEY_FALLBACKS (retired keys), which only decrypt. `manage.py reencrypt` rewrites stored values
under the current key, after which the fallbacks can be dropped. A value no configured key opens raises
`DecryptionError`, never returns garbage.
"""

import base64
import functools
import hashlib
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
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


def _secrets() -> tuple[str, ...]:
    """The current key first (it encrypts), then the keys that only decrypt: the staged next key, the retired ones."""
    keys = [_secret()]
    extra = [
        str(getattr(settings, "ENCRYPTION_KEY_NEXT", "") or ""),
        *getattr(settings, "ENCRYPTION_KEY_FALLBACKS", ()),
    ]
    for key in (str(k).strip() for k in extra):
        if key and key not in keys:
            keys.append(key)
    return tuple(keys)


def fernet_key(secret: str) -> bytes:
    """The Fernet key a secret string stands for (SHA-256, urlsafe base64)."""
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())


@functools.lru_cache(maxsize=8)
def _fernet_for(secrets: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(fernet_key(secret)) for secret in secrets])


def _fernet() -> MultiFernet:
    # Read the settings on every call (cached per value), so override_settings and key changes take effect.
    return _fernet_for(_secrets())


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
            "A stored value cannot be decrypted with any configured ENCRYPTION_KEY (was the key changed without "
            "keeping the old one in ENCRYPTION_KEY_FALLBACKS, or was the value written without encryption?)"
        ) from exc
    remember_secret(text)
    return text


def reencrypt(token: str) -> str:
    """`token` encrypted again under the current key (whichever configured key wrote it); the text never changes.

    Raises `DecryptionError` like `decrypt`."""
    try:
        return _fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError) as exc:
        raise DecryptionError("A stored value cannot be decrypted with any configured ENCRYPTION_KEY") from exc


def encrypted_with_current_key(token: str) -> bool:
    """Whether the current key alone opens `token` (`manage.py reencrypt` has nothing left to do for it)."""
    try:
        _fernet_for(_secrets()[:1]).decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True


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
