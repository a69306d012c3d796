"""Field encryption at rest: round trip, ciphertext in the row, a wrong key fails loudly."""

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import connection, models
from django.test.utils import isolate_apps

from apps.core import encryption
from apps.core.encryption import DecryptionError, EncryptedTextField, decrypt, encrypt

SECRET_URL = "https://calendar.example.com/private-0123456789abcdef/basic.ics"


@pytest.fixture
def secret_model(db: None) -> Iterator[type[models.Model]]:
    """A throwaway model with an encrypted column, its table created inside the test's transaction."""
    with isolate_apps("apps.core"):

        class Secret(models.Model):
            text = EncryptedTextField(null=True)

            class Meta:
                app_label = "core"
                db_table = "core_test_encrypted_secret"

            def __str__(self) -> str:
                return f"Secret {self.pk}"

        with connection.schema_editor() as editor:
            editor.create_model(Secret)
        yield Secret


def test_round_trip_and_a_fresh_ciphertext_each_time(settings):
    settings.ENCRYPTION_KEY = "any secret string works"
    token = encrypt(SECRET_URL)
    assert token != SECRET_URL
    assert SECRET_URL not in token
    assert decrypt(token) == SECRET_URL
    assert encrypt(SECRET_URL) != token  # a random IV per value
    assert decrypt(encrypt("")) == ""
    assert decrypt(encrypt("zoë 🗓")) == "zoë 🗓"


def test_the_key_is_the_sha256_of_the_setting(settings):
    settings.ENCRYPTION_KEY = "k1"
    token = encrypt("hello")
    assert Fernet(encryption.fernet_key("k1")).decrypt(token.encode()) == b"hello"


def test_without_a_key_outside_production_the_secret_key_is_used(settings):
    settings.ENCRYPTION_KEY = ""
    settings.SECRET_KEY = "secret-key-one"
    token = encrypt("hello")
    assert decrypt(token) == "hello"
    settings.SECRET_KEY = "secret-key-two"
    with pytest.raises(DecryptionError):
        decrypt(token)


def test_production_refuses_to_encrypt_without_a_key(settings):
    settings.ENCRYPTION_KEY = ""
    settings.PRODUCTION = True
    with pytest.raises(ImproperlyConfigured, match="ENCRYPTION_KEY"):
        encrypt("hello")


def test_a_wrong_key_fails_clearly(settings):
    settings.ENCRYPTION_KEY = "the right key"
    token = encrypt(SECRET_URL)
    settings.ENCRYPTION_KEY = "another key"
    with pytest.raises(DecryptionError, match="ENCRYPTION_KEY"):
        decrypt(token)
    with pytest.raises(DecryptionError):
        decrypt("not a token at all")


def test_the_field_stores_ciphertext_and_reads_plaintext(settings, secret_model):
    settings.ENCRYPTION_KEY = "field key"
    row = secret_model.objects.create(text=SECRET_URL)

    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM core_test_encrypted_secret WHERE id = %s", [row.pk])
        (raw,) = cursor.fetchone()
    assert raw != SECRET_URL
    assert "calendar.example.com" not in raw
    assert decrypt(raw) == SECRET_URL

    assert secret_model.objects.get(pk=row.pk).text == SECRET_URL
    assert list(secret_model.objects.values_list("text", flat=True)) == [SECRET_URL]

    row.text = "https://example.org/other.ics"
    row.save()
    assert secret_model.objects.get(pk=row.pk).text == "https://example.org/other.ics"

    empty = secret_model.objects.create(text=None)
    assert secret_model.objects.get(pk=empty.pk).text is None
    assert secret_model.objects.filter(text__isnull=True).count() == 1


def test_the_field_cannot_be_searched(secret_model):
    secret_model.objects.create(text=SECRET_URL)
    with pytest.raises(FieldError):
        list(secret_model.objects.filter(text=SECRET_URL))


def test_reading_a_row_with_the_wrong_key_fails_clearly(settings, secret_model):
    settings.ENCRYPTION_KEY = "the right key"
    row = secret_model.objects.create(text=SECRET_URL)
    settings.ENCRYPTION_KEY = "another key"
    with pytest.raises(DecryptionError, match="ENCRYPTION_KEY"):
        secret_model.objects.get(pk=row.pk)
