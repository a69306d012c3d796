"""Accounts through every door: create_user, the sign-up form, the profile page, deletion, the demo account."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.users.models import Profile, User

pytestmark = pytest.mark.django_db


def test_create_user_with_email_login_gets_a_profile():
    user = User.objects.create_user(email="Ana@Example.TEST", password="s3cret-passphrase")
    assert user.email == "ana@example.test"
    assert user.check_password("s3cret-passphrase")
    assert Profile.objects.filter(user=user).exists()
    assert not user.is_staff


def test_create_user_requires_an_email():
    with pytest.raises(ValueError, match="email"):
        User.objects.create_user(email="", password="x")


def test_create_superuser_is_staff():
    admin = User.objects.create_superuser(email="root@example.test", password="s3cret-passphrase")
    assert admin.is_staff
    assert admin.is_superuser


def test_email_is_unique():
    User.objects.create_user(email="ana@example.test", password="x")
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        User.objects.create_user(email="ANA@example.test", password="y")


def test_sign_up_form_creates_an_account_and_logs_in(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "new@example.test", "password1": "a-long-passphrase-1", "password2": "a-long-passphrase-1"},
    )
    assert response.status_code == 302
    user = User.objects.get(email="new@example.test")
    assert Profile.objects.filter(user=user).exists()
    assert client.get(reverse("profile")).status_code == 200


def test_profile_page_needs_log_in(client):
    response = client.get(reverse("profile"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


PROFILE_FORM = {
    "display_name": "Ana",
    "home_address": "",
    "home_lat": "52.52",
    "home_lon": "13.40",
    "timezone": "Europe/Berlin",
    "interests": ["music", "outdoors"],
    "budget": "80",
    "currency": "eur",
    "travel_mode": "walk",
    "max_distance_km": "10",
}


def test_profile_page_saves_valid_input(client, user):
    client.force_login(user)
    response = client.post(reverse("profile"), PROFILE_FORM)
    assert response.status_code == 302
    profile = Profile.objects.get(user=user)
    assert profile.interests == ["music", "outdoors"]
    assert profile.currency == "EUR"
    assert profile.travel_mode == "walk"


def test_profile_page_shows_errors_and_stores_nothing(client, user):
    client.force_login(user)
    invalid = {**PROFILE_FORM, "display_name": "Changed", "timezone": "UTC", "home_lat": "95", "home_lon": "10"}
    response = client.post(reverse("profile"), invalid)
    assert response.status_code == 400
    assert "home_lat" in response.context["form"].errors
    assert Profile.objects.get(user=user).display_name == ""


def test_account_deletion_page_removes_the_account(client, user):
    client.force_login(user)
    assert client.post(reverse("account-delete"), {"confirm": "nope"}).status_code == 400
    assert User.objects.filter(pk=user.pk).exists()

    response = client.post(reverse("account-delete"), {"confirm": "delete"})

    assert response.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()
    assert client.get(reverse("profile")).status_code == 302  # logged out


def test_account_export_page_downloads_json(client, user):
    client.force_login(user)
    response = client.get(reverse("account-export"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["account"]["email"] == user.email


def test_admin_lists_users_and_profiles(client):
    admin = User.objects.create_superuser(email="root@example.test", password="s3cret-passphrase")
    client.force_login(admin)
    assert client.get("/admin/users/user/").status_code == 200
    assert client.get("/admin/users/profile/").status_code == 200
    assert client.get(f"/admin/users/user/{admin.pk}/change/").status_code == 200


def test_demo_account_is_created_once_with_a_printed_password(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    first, second = io.StringIO(), io.StringIO()

    call_command("create_demo_account", stdout=first)
    call_command("create_demo_account", stdout=second)

    password = (tmp_path / "demo-password.txt").read_text()
    assert password in first.getvalue()
    assert first.getvalue() == second.getvalue()
    user = User.objects.get(email="demo@weekendplanner.test")
    assert user.check_password(password)
