from typing import Any

from allauth.account.authentication import get_authentication_records
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from django.http import HttpRequest

from apps.users import personal_data
from apps.users.models import Profile, User


def profile_for(*, user: User) -> Profile:
    # Uses the profile already loaded with the user (API authentication selects it) when there is one.
    return user.profile


def user_export(*, user: User) -> dict[str, Any]:
    """Everything the project holds about a person, section by section, as JSON-ready data."""
    return {section.name: section.export(user) for section in personal_data.sections()}


def account_export(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "date_joined": user.date_joined.isoformat(),
        "last_login": user.last_login.isoformat() if user.last_login else None,
        "email_addresses": [
            {"email": a.email, "verified": a.verified, "primary": a.primary}
            for a in EmailAddress.objects.filter(user=user).order_by("pk")
        ],
        "linked_accounts": [
            {"provider": s.provider, "uid": s.uid, "date_joined": s.date_joined.isoformat()}
            for s in SocialAccount.objects.filter(user=user).order_by("pk")
        ],
    }


def profile_export(user: User) -> dict[str, Any]:
    profile = profile_for(user=user)
    return {
        "display_name": profile.display_name,
        "home_address": profile.home_address,
        "home_lat": profile.home_lat,
        "home_lon": profile.home_lon,
        "timezone": profile.timezone,
        "interests": profile.interests,
        "budget": str(profile.budget) if profile.budget is not None else None,
        "currency": profile.currency,
        "travel_mode": profile.travel_mode,
        "max_distance_km": profile.max_distance_km,
        "updated_at": profile.updated_at.isoformat(),
    }


# Authenticator types that are a second factor at log-in; recovery codes only stand in for a lost one.
SECOND_FACTOR_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


def second_factor_types(*, user: User) -> set[str]:
    """The kinds of second factor the person has set up ("totp", "webauthn"); empty when none."""
    return set(Authenticator.objects.filter(user=user, type__in=SECOND_FACTOR_TYPES).values_list("type", flat=True))


def session_used_second_factor(*, request: HttpRequest, user: User) -> bool:
    """Whether this session got past a second factor: allauth records each authentication step of the session
    (password, mfa, socialaccount...), for this user only, and a passkey sign-in is recorded as "mfa" too."""
    return any(record.get("method") == "mfa" for record in get_authentication_records(request, user))


def second_factors_export(user: User) -> list[dict[str, Any]]:
    # What and when, never the secrets (TOTP key, recovery-code seed, credential public keys).
    return [
        {
            "type": authenticator.type,
            "name": authenticator.data.get("name") if authenticator.type == Authenticator.Type.WEBAUTHN else None,
            "created_at": authenticator.created_at.isoformat(),
            "last_used_at": authenticator.last_used_at.isoformat() if authenticator.last_used_at else None,
        }
        for authenticator in Authenticator.objects.filter(user=user).order_by("pk")
    ]
