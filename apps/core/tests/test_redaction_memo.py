"""Short texts' redactions are remembered; the memory never outlives the secrets it was made with."""

import pytest
from django.test import override_settings

from apps.core.redaction import REDACTED, forget_secrets, redact_text, remember_secret


@pytest.fixture(autouse=True)
def _nothing_remembered():
    forget_secrets()
    yield
    forget_secrets()


def test_a_remembered_short_text_is_redacted_again_once_its_secret_is_configured() -> None:
    text = "key tm-0123456789abc"
    with override_settings(TICKETMASTER_API_KEY="another-key-0000"):
        assert redact_text(text) == text
        assert redact_text(text) == text  # the remembered answer
    with override_settings(TICKETMASTER_API_KEY="tm-0123456789abc"):
        assert redact_text(text) == f"key {REDACTED}"
    with override_settings(TICKETMASTER_API_KEY="another-key-0000"):
        assert redact_text(text) == text


def test_a_secret_remembered_by_the_request_applies_to_short_texts_already_seen() -> None:
    text = "feed private-3f9c2e7a41b8"
    assert redact_text(text) == text
    remember_secret("private-3f9c2e7a41b8")
    assert redact_text(text) == f"feed {REDACTED}"


def test_shapes_are_redacted_in_short_and_long_texts_alike() -> None:
    short = "GET /x?apikey=abc123"
    long = short + " " + "y" * 300
    assert redact_text(short) == f"GET /x?apikey={REDACTED}"
    assert redact_text(long).startswith(f"GET /x?apikey={REDACTED} ")
