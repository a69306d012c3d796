"""The users services called directly, as the API, the pages and other apps call them: accounts and profiles,
tokens (issue, rotate, reuse, revoke, flush), with the database state they leave."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from apps.users import services
from apps.users.models import Profile, User
from apps.users.tests.factories import DEFAULT_PASSWORD, UserFactory
from conftest import reference_now

pytestmark = pytest.mark.django_db


def test_user_create_makes_the_profile_with_the_given_fields() -> None:
    user = services.user_create(email="ana@example.test", password=DEFAULT_PASSWORD, timezone="Europe/Lisbon")

    assert user.check_password(DEFAULT_PASSWORD)
    assert Profile.objects.get(user=user).timezone == "Europe/Lisbon"


def test_user_create_with_an_invalid_profile_field_stores_no_user() -> None:
    with pytest.raises(ValidationError) as raised:
        services.user_create(email="ana@example.test", password=DEFAULT_PASSWORD, home_lat=95)

    assert "home_lat" in raised.value.message_dict
    assert not User.objects.filter(email="ana@example.test").exists()


def test_profile_update_refuses_unknown_fields_and_invalid_values_without_saving() -> None:
    user = UserFactory()
    profile = Profile.objects.get(user=user)

    with pytest.raises(ValueError, match="is_staff"):
        services.profile_update(profile=profile, data={"is_staff": True})
    with pytest.raises(ValidationError):
        services.profile_update(profile=profile, data={"display_name": "Changed", "travel_mode": "teleport"})

    assert Profile.objects.get(user=user).display_name == ""
    services.profile_update(profile=Profile.objects.get(user=user), data={"display_name": "Ana"})
    assert Profile.objects.get(user=user).display_name == "Ana"


def test_profile_ensure_is_idempotent() -> None:
    user = UserFactory()
    first = services.profile_ensure(user=user)
    assert services.profile_ensure(user=user).pk == first.pk
    assert Profile.objects.filter(user=user).count() == 1


def test_a_refresh_token_rotates_once_and_its_reuse_revokes_the_family() -> None:
    user = UserFactory()
    pair = services.token_obtain(request=None, email=user.email, password=DEFAULT_PASSWORD)

    rotated = services.token_refresh(raw_refresh=pair.refresh)
    assert rotated.refresh != pair.refresh
    assert OutstandingToken.objects.filter(user=user).count() == 2

    with pytest.raises(services.RefreshTokenReused):
        services.token_refresh(raw_refresh=pair.refresh)
    # Every refresh token of the person is now revoked, the newest included.
    assert BlacklistedToken.objects.filter(token__user=user).count() == 2
    with pytest.raises(services.RefreshTokenReused):
        services.token_refresh(raw_refresh=rotated.refresh)


def test_token_obtain_refuses_a_wrong_password_and_issues_nothing() -> None:
    user = UserFactory()
    with pytest.raises(services.InvalidCredentials):
        services.token_obtain(request=None, email=user.email, password="not the password")
    assert not OutstandingToken.objects.filter(user=user).exists()


def test_token_revoke_twice_is_not_an_error() -> None:
    user = UserFactory()
    pair = services.token_obtain(request=None, email=user.email, password=DEFAULT_PASSWORD)

    services.token_revoke(raw_refresh=pair.refresh)
    services.token_revoke(raw_refresh=pair.refresh)

    assert BlacklistedToken.objects.filter(token__user=user).count() == 1
    with pytest.raises(services.InvalidRefreshToken):
        services.token_revoke(raw_refresh="not-a-token")


def test_flushing_expired_refresh_tokens_keeps_the_live_ones_and_repeats_safely(clock) -> None:  # type: ignore[no-untyped-def]
    user = UserFactory()
    now = reference_now()  # the flush reads the same frozen clock
    for jti, expires in (("old", now - timedelta(seconds=1)), ("live", now + timedelta(days=1))):
        OutstandingToken.objects.create(user=user, jti=jti, token="x", created_at=now, expires_at=expires)

    assert services.refresh_tokens_flush_expired() == 1
    assert services.refresh_tokens_flush_expired() == 0
    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == ["live"]


def test_user_delete_removes_the_person_and_their_tokens() -> None:
    user, other = UserFactory(), UserFactory()
    services.token_obtain(request=None, email=user.email, password=DEFAULT_PASSWORD)
    services.token_obtain(request=None, email=other.email, password=DEFAULT_PASSWORD)

    services.user_delete(user=user)

    assert not User.objects.filter(pk=user.pk).exists()
    assert not Profile.objects.filter(user_id=user.pk).exists()
    assert list(OutstandingToken.objects.values_list("user_id", flat=True)) == [other.pk]
