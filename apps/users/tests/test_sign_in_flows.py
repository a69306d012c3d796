"""Browser-side account flows through django-allauth: log-in, password reset, Google when configured."""

import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.urls import reverse

from scripts.support.databases import database_url

pytestmark = pytest.mark.django_db


def test_log_in_and_log_out(client, user):
    response = client.post(reverse("account_login"), {"login": user.email, "password": user.raw_password})
    assert response.status_code == 302
    assert client.get(reverse("profile")).status_code == 200

    client.post(reverse("account_logout"))
    assert client.get(reverse("profile")).status_code == 302


def test_wrong_password_keeps_the_person_out(client, user):
    response = client.post(reverse("account_login"), {"login": user.email, "password": "wrong"})
    assert response.status_code == 200
    assert "not correct" in response.content.decode()
    assert client.get(reverse("profile")).status_code == 302


def test_password_reset_by_email(client, user):
    response = client.post(reverse("account_reset_password"), {"email": user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", mail.outbox[0].body).group(1)

    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    set_password_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    response = client.post(
        set_password_url, {"password1": "a-brand-new-passphrase", "password2": "a-brand-new-passphrase"}
    )
    assert response.status_code == 302

    user.refresh_from_db()
    assert user.check_password("a-brand-new-passphrase")


def _render_login_page(env_extra: dict[str, str], clean_env) -> str:
    code = (
        "import django; django.setup();"
        "from django.test import Client;"
        "print(Client().get('/accounts/login/').content.decode())"
    )
    db = connection.settings_dict  # the migrated test database
    env = clean_env(
        DJANGO_SETTINGS_MODULE="planner.test_settings",
        DATABASE_URL=database_url(db),
        **env_extra,
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, check=True
    )
    return result.stdout


def test_google_sign_in_is_offered_only_when_configured(clean_env):
    without = _render_login_page({}, clean_env)
    with_google = _render_login_page(
        {"GOOGLE_OAUTH_CLIENT_ID": "client-id.apps.googleusercontent.com", "GOOGLE_OAUTH_CLIENT_SECRET": "s3cret"},
        clean_env,
    )
    assert "/accounts/google/login/" not in without
    assert "/accounts/google/login/" in with_google
