"""Writes for accounts, profiles, sign-in limits and API tokens: the only place their state changes."""

import math
from dataclasses import dataclass
from typing import Any

import structlog
from django.contrib.auth import authenticate
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from apps.users import lockout, personal_data
from apps.users.auth_signals import token_obtained
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


# --- Sign-in limits (credential stuffing; keys and limits in apps.users.lockout) ---------------------


class SignInBlocked(Exception):
    """Too many failed sign-ins for this account key, or from this address. Raised before any password is
    checked, and alike for known and unknown emails, so it tells nothing about the account."""

    def __init__(self, *, retry_after: int) -> None:
        super().__init__(f"Sign-in blocked for {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class SignInAttempt:
    account: str
    address: str | None
    started_at: float
    account_failures: int  # failed or unfinished attempts on this account key in its window, this one included
    counted: bool  # False when the cache was unreachable: there is nothing to settle


def _count(key: str, *, timeout: float) -> int:
    """An atomic counter that expires with its window: SET NX, then INCR."""
    cache.add(key, 0, timeout=math.ceil(timeout) + 1)
    return int(cache.incr(key))


def sign_in_begin(*, email: str, address: str | None) -> SignInAttempt:
    """Counts a sign-in attempt before its password is checked, so that attempts sent all at once cannot slip
    past the limits; `sign_in_succeeded` gives the count back and `sign_in_failed` keeps it.

    Raises SignInBlocked while the account key is locked or the address is over its hourly limit: then even
    the right password is refused. When the cache is down, attempts go through with a warning (as the API
    throttles do): an outage of Redis must not stop everyone from signing in."""
    account = lockout.account_key(email)
    limits = lockout.limits()
    at = lockout.now()
    counts_account = bool(account) and limits.threshold > 0
    failures = 0
    try:
        locked_until = cache.get(lockout.account_lock_key(account)) if counts_account else None
        if isinstance(locked_until, (int, float)) and locked_until > at:
            raise SignInBlocked(retry_after=math.ceil(locked_until - at))
        if address and limits.address_limit > 0:
            key = lockout.address_failures_key(address, at=at)
            if _count(key, timeout=lockout.ADDRESS_WINDOW_SECONDS) > limits.address_limit:
                raise SignInBlocked(retry_after=math.ceil(lockout.address_window_end(at=at) - at))
        if counts_account:
            key = lockout.account_failures_key(account, at=at, window_seconds=limits.window_seconds)
            failures = _count(key, timeout=limits.window_seconds)
            if failures > limits.threshold:
                # As many attempts as the limit allows are still being checked; the last of them locks the
                # key if it fails.
                raise SignInBlocked(retry_after=limits.lock_seconds)
    except SignInBlocked:
        raise
    except Exception as exc:  # noqa: BLE001 - fail open, loudly
        logger.warning("sign_in_limits_unavailable", error=type(exc).__name__)
        return SignInAttempt(account=account, address=address, started_at=at, account_failures=0, counted=False)
    return SignInAttempt(account=account, address=address, started_at=at, account_failures=failures, counted=True)


def sign_in_failed(*, attempt: SignInAttempt) -> None:
    """The attempt's password was wrong (or the account unknown or inactive): its counts stay, and the
    threshold-th failure locks the account key for LOGIN_LOCKOUT_SECONDS."""
    limits = lockout.limits()
    if not attempt.counted or not attempt.account or limits.threshold <= 0:
        return
    if attempt.account_failures < limits.threshold:
        return
    at = lockout.now()
    try:
        # The lock holds the moment it ends, compared with Django's clock; the expiry only cleans up.
        cache.set(lockout.account_lock_key(attempt.account), at + limits.lock_seconds, timeout=limits.lock_seconds + 1)
        # Once the lock is over, the key starts again from zero.
        window = limits.window_seconds
        cache.delete(lockout.account_failures_key(attempt.account, at=attempt.started_at, window_seconds=window))
    except Exception as exc:  # noqa: BLE001 - fail open, loudly
        logger.warning("sign_in_limits_unavailable", error=type(exc).__name__)
        return
    # Neither the email nor the address is logged; the request id ties the line to its request.
    logger.warning("sign_in_account_locked", failures=attempt.account_failures, lock_seconds=limits.lock_seconds)


def sign_in_succeeded(*, attempt: SignInAttempt) -> None:
    """The right password: the account key's failures are forgotten, and the attempt no longer counts against
    the address (its earlier failures still do, so one good account cannot clear an address's record)."""
    if not attempt.counted:
        return
    limits = lockout.limits()
    try:
        if attempt.account and limits.threshold > 0:
            window = limits.window_seconds
            cache.delete(lockout.account_failures_key(attempt.account, at=attempt.started_at, window_seconds=window))
        if attempt.address and limits.address_limit > 0:
            cache.decr(lockout.address_failures_key(attempt.address, at=attempt.started_at))
    except ValueError:
        pass  # the address's window ended during the attempt, and its counter with it
    except Exception as exc:  # noqa: BLE001 - fail open, loudly
        logger.warning("sign_in_limits_unavailable", error=type(exc).__name__)


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
    """Raises SignInBlocked while the email or the client's address is over its sign-in limits (before any
    password is checked), InvalidCredentials for a wrong email or password."""
    attempt = sign_in_begin(email=email, address=lockout.client_address(request) if request is not None else None)
    # The same hashing whether or not the account exists: ModelBackend and apps.users.backends each hash the
    # password once, against the account's hash or a dummy one, so an unknown email costs what a known one does.
    user = authenticate(request, username=attempt.account, password=password)
    if user is None or not user.is_active:
        sign_in_failed(attempt=attempt)
        raise InvalidCredentials
    assert isinstance(user, User)
    sign_in_succeeded(attempt=attempt)
    pair = _issue_pair(user)
    token_obtained.send(sender=User, user=user)
    return pair


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
