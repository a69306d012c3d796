"""The secret shapes are looked for only in texts holding one of SHAPE_MARKS: that shortcut must never let a shape
through. Checked on every shape's own example and on texts built from the parts the shapes are made of."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.core.redaction import PATTERNS, REDACTED, SHAPE_MARKS, _redact

# One text per shape in PATTERNS, in its order: each must be redacted.
SHAPE_EXAMPLES = (
    "key: -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
    "Authorization: Bearer abcdefghijklmnop0123",
    "id eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
    "google ya29.a0AfH6SMBx3",
    "refresh 1//0gAbCdEfGhIjKlMnOpQrStUvWx",
    "postgres://app:pa55word@db:5432/planner",
    "GET /x?apikey=abc123",
    "{'password': 'hunter22'}",
    "GET /feeds/private-3f9c2e7a41b8.ics",
)
# The parts the shapes are made of, and ordinary log values around them.
PARTS = (
    "-----BEGIN RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEA", "-----END RSA PRIVATE KEY-----", "Bearer", "bearer",
    "Basic", "basic", "Token", "JWT", " ", "%20", "+", "eyJhbGciOiJIUzI1NiJ9", ".", "eyJzdWIiOiIxIn0", "c2lnbmF0dXJl",
    "ya29.", "a0AfH6SMBx3", "1//", "0gAbCdEfGhIjKlMnOpQrStUvWx", "https://", "postgres://", "app", ":", "pa55word",
    "@", "db", "apikey", "token", "auth_code", "=", "%3D", "%3d", "abc123", "&", ";", "'", '"', "password", "/feeds/",
    "private-3f9c2e7a41b8", ".ics", "/", "?", "2026-12-06T07:01:02.123456Z", "0123456789abcdef0123456789abcdef",
    "/api/v1/me", "GET", "\n", "é", "abcdefghijklmnop0123",
)  # fmt: skip


def _every_shape(text: str) -> str:
    """What _redact did before the shortcut: every shape, whatever the text holds."""
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def test_there_is_an_example_of_every_shape() -> None:
    assert len(SHAPE_EXAMPLES) == len(PATTERNS)
    for (pattern, _replacement), example in zip(PATTERNS, SHAPE_EXAMPLES, strict=True):
        assert pattern.search(example), (pattern.pattern, example)


@pytest.mark.parametrize("example", SHAPE_EXAMPLES)
def test_every_shapes_example_is_redacted(example: str) -> None:
    assert SHAPE_MARKS.search(example)
    redacted = _redact(example, ())
    assert REDACTED in redacted
    assert redacted == _every_shape(example)


@pytest.mark.parametrize("value", ["2026-12-06T07:01:02.123456Z", "0123456789abcdef0123456789abcdef", "/api/v1/me"])
def test_ordinary_log_values_hold_no_mark(value: str) -> None:
    assert SHAPE_MARKS.search(value) is None
    assert _redact(value, ()) == value


@settings(max_examples=400)
@given(st.lists(st.sampled_from(PARTS), min_size=1, max_size=12))
def test_the_shortcut_redacts_what_every_shape_would(parts: list[str]) -> None:
    text = "".join(parts)
    assert _redact(text, ()) == _every_shape(text)
