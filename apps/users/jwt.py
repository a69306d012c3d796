"""JWTs signed RS256 with a key id; verified against the current and, during a rotation, the next and previous keys.

simplejwt does the token lifecycle (claims, expiry, outstanding and blacklisted refresh tokens); this
module only decides which keys sign and verify. The key id is the RFC 7638 thumbprint of the public key,
so issuer and verifiers agree on it without sharing anything but the key.
"""

import base64
import hashlib
import json
import threading
import time
from collections import OrderedDict
from functools import cache
from typing import Any

import jwt
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.signals import setting_changed
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken, Token

from apps.users import identity

ALGORITHM = "RS256"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_uint(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def key_id(public_key_pem: str) -> str:
    public_key = serialization.load_pem_public_key(public_key_pem.encode())
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ValueError("JWT keys must be RSA keys.")
    numbers = public_key.public_numbers()
    jwk = {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}
    return _b64url(hashlib.sha256(json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()).digest())


# Tokens whose signature and claims this process has verified, newest last: a client sends the same access token
# with every request for its 15 minutes, and verifying it again (RS256, and PyJWT's character-by-character base64
# check) was about a tenth of GET /api/v1/me's CPU. Only the expiry changes with time, so a hit checks it again.
VERIFIED_TOKENS_KEPT = 4096


class KeyRingTokenBackend(TokenBackend):
    def __init__(self, *, private_key: str, public_keys: list[str], audience: str, issuer: str) -> None:
        super().__init__(ALGORITHM, private_key, public_keys[0], audience, issuer)
        algorithm = jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA256)
        self.signing_kid = key_id(public_keys[0])
        self.verifying_keys: dict[str, Any] = {key_id(pem): algorithm.prepare_key(pem) for pem in public_keys}
        self._verified: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._verified_lock = threading.Lock()

    def _remembered(self, raw: str) -> dict[str, Any] | None:
        with self._verified_lock:
            payload = self._verified.get(raw)
            if payload is not None:
                self._verified.move_to_end(raw)
        if payload is None:
            return None
        if payload["exp"] <= time.time():  # as PyJWT decides it, without leeway
            raise TokenBackendExpiredToken("Token is expired")
        return dict(payload)

    def _remember(self, raw: str, payload: dict[str, Any]) -> None:
        with self._verified_lock:
            self._verified[raw] = dict(payload)
            while len(self._verified) > VERIFIED_TOKENS_KEPT:
                self._verified.popitem(last=False)

    def encode(self, payload: dict[str, Any]) -> str:
        claims = {**payload, "aud": self.audience, "iss": self.issuer}
        return jwt.encode(claims, self.prepared_signing_key, algorithm=ALGORITHM, headers={"kid": self.signing_kid})

    def decode(self, token: Token | str | bytes, verify: bool = True) -> dict[str, Any]:
        raw = token if isinstance(token, (str, bytes)) else str(token)
        text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
        if verify and (remembered := self._remembered(text)) is not None:
            return remembered
        payload = self._verified_payload(raw, verify=verify)
        if verify:
            self._remember(text, payload)
        return payload

    def _verified_payload(self, raw: str | bytes, *, verify: bool) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(raw)
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError("Token is invalid") from exc
        # Only RS256 with a key we know: this refuses "alg: none" and HS256 keyed with the public key.
        if header.get("alg") != ALGORITHM:
            raise TokenBackendError("Invalid algorithm specified")
        key = self.verifying_keys.get(str(header.get("kid", "")))
        if key is None:
            raise TokenBackendError("Token is signed with an unknown key")
        try:
            payload: dict[str, Any] = jwt.decode(
                raw,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"verify_signature": verify, "require": ["exp", "iat", "jti", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenBackendExpiredToken("Token is expired") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError("Token is invalid") from exc
        return payload


@cache
def token_backend() -> KeyRingTokenBackend:
    # The current key signs; a staged next key (a rotation in progress: pods already promoted sign with it) and the
    # previous key (tokens it signed live out their lifetime) only verify. docs/security.md, "Rotating the keys".
    public_keys = [settings.JWT_PUBLIC_KEY]
    for extra in (getattr(settings, "JWT_NEXT_PUBLIC_KEY", ""), settings.JWT_PREVIOUS_PUBLIC_KEY):
        if extra and extra.strip() and extra not in public_keys:
            public_keys.append(extra)
    return KeyRingTokenBackend(
        private_key=settings.JWT_PRIVATE_KEY,
        public_keys=public_keys,
        audience=settings.JWT_AUDIENCE,
        issuer=settings.JWT_ISSUER,
    )


def _reset_backend(*, setting: str, **_kwargs: object) -> None:
    if setting.startswith("JWT_"):
        token_backend.cache_clear()


setting_changed.connect(_reset_backend)


class UserAccessToken(AccessToken):
    @property
    def token_backend(self) -> TokenBackend:
        return token_backend()


class UserRefreshToken(RefreshToken):
    access_token_class = UserAccessToken

    @property
    def token_backend(self) -> TokenBackend:
        return token_backend()


class BearerTokenAuthentication(JWTAuthentication):
    """`Authorization: Bearer <access JWT>`; binds the user id to this request's log lines."""

    def get_user(self, validated_token: Token) -> Any:
        # One query for the user and their profile, which nearly every API view reads next.
        try:
            user = identity.user_with_profile(int(validated_token["sub"]))
        except (KeyError, ValueError, TypeError) as exc:
            raise AuthenticationFailed("User not found", code="user_not_found") from exc
        if user is None:
            raise AuthenticationFailed("User not found", code="user_not_found")
        if not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        return user

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is not None:
            structlog.contextvars.bind_contextvars(user_id=result[0].pk)
        return result
