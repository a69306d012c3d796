"""Writes for accounts, profiles and API tokens: the only place their state changes."""

from dataclasses import dataclass
from typing import Any

import structlog
from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from apps.users import personal_data
from apps.users.jwt import UserRefreshToken, token_backend
from apps.users.models import PROFILE_FIELDS, Profile, User

logger = structlog.get_logger(__name__)


# --- Accounts and profiles -----------------------------------------------------------------------


@transaction.atomic
def user_create(*, email: str, password: str | None, **profile_fields: Any) -> User:
    user = User.objects.create_user(email=email, password=password)
    if profile_fields:
        profile_update(profile=user.profile, data=profile_fields)
    return user


def profile_ensure(*, user: User) -> Profile:
    """Every user has a profile; called when a user row is created, by whatever path created it."""
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


@transaction.atomic
def profile_update(*, profile: Profile, data: dict[str, Any]) -> Profile:
    unknown = set(data) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"Not profile fields: {', '.join(sorted(unknown))}")
    for field, value in data.items():
        setattr(profile, field, value)
    profile.full_clean(exclude=["user"])
    profile.save()
    return profile


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Removes the person and everything they own. Their refresh tokens go first: the token tables keep
    rows after the user is gone (ON DELETE SET NULL), and those rows are theirs."""
    for section in personal_data.sections():
        if section.erase is not None:
            section.erase(user)
    OutstandingToken.objects.filter(user=user).delete()
    user_id = user.pk
    user.delete()
    logger.info("user_deleted", deleted_user_id=user_id)


# --- API tokens ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


class InvalidCredentials(Exception):
    pass


class InvalidRefreshToken(Exception):
    pass


class RefreshTokenReused(InvalidRefreshToken):
    """A refresh token that was already rotated came back: someone holds a stolen copy."""


def _issue_pair(user: User) -> TokenPair:
    refresh = UserRefreshToken.for_user(user)  # records the OutstandingToken row
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def token_obtain(*, request: HttpRequest | None, email: str, password: str) -> TokenPair:
    user = authenticate(request, username=email.strip().lower(), password=password)
    if user is None or not user.is_active:
        raise InvalidCredentials
    assert isinstance(user, User)
    return _issue_pair(user)


def _outstanding_refresh(raw_refresh: str) -> OutstandingToken:
    """The refresh token's row, locked for this transaction, after checking signature, claims and type."""
    try:
        payload = token_backend().decode(raw_refresh)
    except TokenBackendError as exc:
        raise InvalidRefreshToken(str(exc)) from exc
    if payload.get("token_type") != "refresh":
        raise InvalidRefreshToken("Not a refresh token.")
    outstanding = (
        OutstandingToken.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(jti=payload["jti"])
        .first()
    )
    if outstanding is None or outstanding.user is None or not outstanding.user.is_active:
        raise InvalidRefreshToken("Token is invalid")
    return outstanding


def _revoke_all_refresh_tokens(user: User) -> int:
    live = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).values_list("pk", flat=True)
    created = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token_id=pk) for pk in live], ignore_conflicts=True
    )
    return len(created)


def token_refresh(*, raw_refresh: str) -> TokenPair:
    """Rotates a refresh token. A rotated token presented again revokes every refresh token of its user
    (the whole family and more), as OWASP ASVS 5.0 V10.4.5 asks: the thief and the owner both log in again."""
    with transaction.atomic():
        outstanding = _outstanding_refresh(raw_refresh)
        user = outstanding.user
        assert user is not None
        if BlacklistedToken.objects.filter(token=outstanding).exists():
            revoked = _revoke_all_refresh_tokens(user)
            reused = True
        else:
            BlacklistedToken.objects.create(token=outstanding)
            pair = _issue_pair(user)
            reused = False
    if reused:  # raised after the commit, so the revocation stays
        logger.warning("refresh_token_reused", affected_user_id=user.pk, revoked=revoked)
        raise RefreshTokenReused("Token has been revoked")
    return pair


@transaction.atomic
def token_revoke(*, raw_refresh: str) -> None:
    """Log-out: the refresh token can no longer be used. Revoking a revoked token is not an error."""
    outstanding = _outstanding_refresh(raw_refresh)
    BlacklistedToken.objects.get_or_create(token=outstanding)


def refresh_tokens_flush_expired() -> int:
    """Deletes refresh-token records past their expiry (their blacklist rows cascade). Safe to repeat."""
    _, deleted_by_model = OutstandingToken.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted_by_model.get(OutstandingToken._meta.label, 0)
