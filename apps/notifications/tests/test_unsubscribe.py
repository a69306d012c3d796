"""One-click unsubscribe (RFC 8058): the signed link turns one kind of email off on POST, with no login and no CSRF
token; its GET only shows a button; a tampered token changes nothing."""

from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client

from apps.notifications import services
from apps.notifications.models import Kind, Preferences
from apps.notifications.unsubscribe import (
    PREFERENCE_OF_KIND,
    UNSUBSCRIBE_SALT,
    read_unsubscribe_token,
    unsubscribe_headers,
    unsubscribe_token,
)

pytestmark = pytest.mark.django_db


def _path(url: str) -> str:
    return urlsplit(url).path


def _url(user, kind: str) -> str:
    header = unsubscribe_headers(user=user, kind=kind)["List-Unsubscribe"]
    assert header.startswith("<http")
    assert header.endswith(">")
    return _path(header[1:-1])


def test_headers_follow_rfc_8058(user, settings):
    settings.SITE_URL = "https://planner.example"
    headers = unsubscribe_headers(user=user, kind=Kind.DIGEST)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Unsubscribe"].startswith("<https://planner.example/email/unsubscribe/")


def test_no_headers_without_an_account_or_an_opt_out(user):
    assert unsubscribe_headers(user=None, kind=Kind.GROUP_INVITATION) == {}
    assert unsubscribe_headers(user=user, kind=Kind.ADDRESS_CONFIRMATION) == {}


@pytest.mark.parametrize("kind", sorted(PREFERENCE_OF_KIND))
def test_one_click_post_turns_that_kind_off_without_login_or_csrf(user, kind):
    client = Client(enforce_csrf_checks=True)
    response = client.post(_url(user, kind), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    prefs = Preferences.objects.get(user=user)
    off = {name: getattr(prefs, name) for name in set(PREFERENCE_OF_KIND.values())}
    expected_off = PREFERENCE_OF_KIND[kind]
    assert off[expected_off] in (None, False)
    assert all(value not in (None, False) for name, value in off.items() if name != expected_off)


def test_posting_twice_is_fine(user):
    client = Client(enforce_csrf_checks=True)
    url = _url(user, Kind.POLL_CLOSED)
    assert client.post(url).status_code == 200
    assert client.post(url).status_code == 200
    assert Preferences.objects.get(user=user).poll_updates is False


def test_get_shows_a_button_and_changes_nothing(user):
    response = Client().get(_url(user, Kind.DIGEST))
    assert response.status_code == 200
    assert b'<form method="post">' in response.content
    assert b"weekly" in response.content
    assert services.preferences_for(user=user).weekly_digest is True


def test_a_tampered_token_is_a_400_and_changes_nothing(user, other_user):
    token = unsubscribe_token(user_id=user.pk, kind=Kind.DIGEST)
    value, signature = token.rsplit(":", 1)
    forged = signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object({"u": other_user.pk, "k": Kind.DIGEST})
    other_salt = signing.Signer(salt="something-else").sign_object({"u": other_user.pk, "k": Kind.DIGEST})
    client = Client(enforce_csrf_checks=True)
    for bad in (f"{value}:{signature[:-2]}xx", forged.rsplit(":", 1)[0] + ":" + signature, other_salt, "nonsense"):
        assert client.post(f"/email/unsubscribe/{bad}/").status_code == 400
        assert client.get(f"/email/unsubscribe/{bad}/").status_code == 400
    assert not Preferences.objects.filter(weekly_digest=False).exists()


def test_a_deleted_person_is_a_404(user):
    url = _url(user, Kind.DIGEST)
    user.delete()
    assert Client().post(url).status_code == 404


def test_token_round_trip_names_person_and_kind(user):
    found = read_unsubscribe_token(unsubscribe_token(user_id=user.pk, kind=Kind.GROUP_PLAN_CHANGED))
    assert (found.user_id, found.kind, found.preference) == (user.pk, Kind.GROUP_PLAN_CHANGED, "group_plan_updates")
