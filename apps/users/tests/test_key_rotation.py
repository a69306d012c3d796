"""Rotating DJANGO_SECRET_KEY and the JWT key pair logs nobody out early (docs/security.md, "Rotating the keys").

Each test walks the phases infra/ansible/playbooks/rotate-secrets.yml writes into the application Secret:
  before   the old key is current;
  stage    the new key is only accepted (DJANGO_SECRET_KEY_NEXT, JWT_NEXT_PUBLIC_KEY): pods restarted on this Secret
           accept what pods already promoted sign, so the rollout between the phases logs nobody out;
  promote  the new key signs; the old one is only accepted (DJANGO_SECRET_KEY_FALLBACKS, JWT_PREVIOUS_PUBLIC_KEY);
  retire   the old key is dropped, which is safe only once everything it signed has expired.
What it signed survives until its own lifetime ends and no longer; dropping the old key too early is what logs
people out, which the tests also show (so they can fail).
"""

import datetime as dt
from io import StringIO

import jwt
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

from apps.users.jwt import key_id
from scripts.support.production_env import jwt_key_pair

pytestmark = pytest.mark.django_db

OLD_SECRET_KEY = "old-django-secret-key-" + "o" * 40
NEW_SECRET_KEY = "new-django-secret-key-" + "n" * 40
TOKEN_URL = "/api/v1/auth/token"
REFRESH_URL = "/api/v1/auth/token/refresh"
ME_URL = "/api/v1/me"


def _django_phase(phase: str) -> override_settings:
    return override_settings(
        **{
            "before": {"SECRET_KEY": OLD_SECRET_KEY, "SECRET_KEY_FALLBACKS": []},
            "stage": {"SECRET_KEY": OLD_SECRET_KEY, "SECRET_KEY_FALLBACKS": [NEW_SECRET_KEY]},
            "promote": {"SECRET_KEY": NEW_SECRET_KEY, "SECRET_KEY_FALLBACKS": [OLD_SECRET_KEY]},
            "retire": {"SECRET_KEY": NEW_SECRET_KEY, "SECRET_KEY_FALLBACKS": []},
        }[phase]
    )


def _logged_in(client: Client) -> bool:
    response = client.get(reverse("profile"))
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def _logged_in_client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_a_session_survives_the_secret_key_rotation_until_it_expires(user, clock):
    with _django_phase("before"):
        client = _logged_in_client(user)
        assert _logged_in(client)
    with _django_phase("stage"):
        assert _logged_in(client)
    with _django_phase("promote"):
        assert _logged_in(client)  # verified with the fallback, and re-signed with the new key on the way
    with _django_phase("retire"):
        assert _logged_in(client)

    # A session lives SESSION_COOKIE_AGE (two weeks) from its last save, whatever the keys: then it ends.
    clock.shift(dt.timedelta(seconds=settings.SESSION_COOKIE_AGE + 1))
    with _django_phase("retire"):
        assert not _logged_in(client)


def test_a_session_from_the_old_key_survives_promotion_for_its_whole_lifetime(user, clock):
    with _django_phase("before"):
        client = _logged_in_client(user)
    clock.shift(dt.timedelta(seconds=settings.SESSION_COOKIE_AGE - 60))
    with _django_phase("promote"):
        assert _logged_in(client)


def test_dropping_the_old_secret_key_too_early_logs_people_out(user):
    with _django_phase("before"):
        client = _logged_in_client(user)
    with _django_phase("retire"):  # promote and retire at once: the old key is gone before the session has ended
        assert not _logged_in(client)


def test_during_the_rollout_a_pod_not_yet_promoted_accepts_sessions_signed_by_a_promoted_one(user):
    with _django_phase("promote"):
        client = _logged_in_client(user)  # signed with the new key
        other = _logged_in_client(user)
    with _django_phase("stage"):
        assert _logged_in(client)
    # A pod that never saw the staged key would log the person out. (A separate session: the staged pod above has
    # just re-signed the first one with its own current key, as Django does when a fallback verifies.)
    with _django_phase("before"):
        assert not _logged_in(other)


# --- JWT ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def key_pairs() -> dict[str, tuple[str, str]]:
    return {"old": jwt_key_pair(), "new": jwt_key_pair()}


def _jwt_phase(phase: str, key_pairs: dict[str, tuple[str, str]]) -> override_settings:
    (old_private, old_public), (new_private, new_public) = key_pairs["old"], key_pairs["new"]
    return override_settings(
        **{
            "before": {
                "JWT_PRIVATE_KEY": old_private,
                "JWT_PUBLIC_KEY": old_public,
                "JWT_NEXT_PUBLIC_KEY": "",
                "JWT_PREVIOUS_PUBLIC_KEY": "",
            },
            "stage": {
                "JWT_PRIVATE_KEY": old_private,
                "JWT_PUBLIC_KEY": old_public,
                "JWT_NEXT_PUBLIC_KEY": new_public,
                "JWT_PREVIOUS_PUBLIC_KEY": "",
            },
            "promote": {
                "JWT_PRIVATE_KEY": new_private,
                "JWT_PUBLIC_KEY": new_public,
                "JWT_NEXT_PUBLIC_KEY": "",
                "JWT_PREVIOUS_PUBLIC_KEY": old_public,
            },
            "retire": {
                "JWT_PRIVATE_KEY": new_private,
                "JWT_PUBLIC_KEY": new_public,
                "JWT_NEXT_PUBLIC_KEY": "",
                "JWT_PREVIOUS_PUBLIC_KEY": "",
            },
        }[phase]
    )


def _login(api_client, user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    response = api_client.post(TOKEN_URL, {"email": user.email, "password": user.raw_password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _me(api_client, access: str) -> int:  # type: ignore[no-untyped-def]
    return api_client.get(ME_URL, HTTP_AUTHORIZATION=f"Bearer {access}").status_code


def _refresh(api_client, refresh: str):  # type: ignore[no-untyped-def]
    return api_client.post(REFRESH_URL, {"refresh": refresh}, format="json")


def test_an_access_token_from_the_old_key_is_accepted_after_rotation_until_it_expires(
    api_client, user, clock, key_pairs
):
    with _jwt_phase("before", key_pairs):
        access = _login(api_client, user)["access"]
    assert jwt.get_unverified_header(access)["kid"] == key_id(key_pairs["old"][1])

    for phase in ("stage", "promote"):
        with _jwt_phase(phase, key_pairs):
            assert _me(api_client, access) == 200, phase

    clock.shift(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] + dt.timedelta(seconds=1))
    with _jwt_phase("promote", key_pairs):
        assert _me(api_client, access) == 401


def test_a_refresh_token_from_the_old_key_refreshes_after_rotation_until_it_expires(api_client, user, clock, key_pairs):
    with _jwt_phase("before", key_pairs):
        early = _login(api_client, user)["refresh"]
        late = _login(api_client, user)["refresh"]
        expired = _login(api_client, user)["refresh"]

    with _jwt_phase("promote", key_pairs):
        response = _refresh(api_client, early)
        assert response.status_code == 200, response.content
        # What the refresh hands out is signed with the new key, and works once the old key is retired.
        fresh = response.json()
        assert jwt.get_unverified_header(fresh["access"])["kid"] == key_id(key_pairs["new"][1])
    with _jwt_phase("retire", key_pairs):
        assert _me(api_client, fresh["access"]) == 200

    lifetime = settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
    clock.shift(lifetime - dt.timedelta(minutes=5))  # the last minutes of its 14 days
    with _jwt_phase("promote", key_pairs):
        assert _refresh(api_client, late).status_code == 200

    clock.shift(dt.timedelta(minutes=5, seconds=1))  # past them: refused, even with the old key still accepted
    with _jwt_phase("promote", key_pairs):
        assert _refresh(api_client, expired).status_code == 401


def test_retiring_the_old_jwt_key_too_early_refuses_its_tokens(api_client, user, key_pairs):
    with _jwt_phase("before", key_pairs):
        pair = _login(api_client, user)
    with _jwt_phase("retire", key_pairs):
        assert _me(api_client, pair["access"]) == 401
        assert _refresh(api_client, pair["refresh"]).status_code == 401


def test_during_the_rollout_a_pod_not_yet_promoted_accepts_tokens_signed_by_a_promoted_one(api_client, user, key_pairs):
    with _jwt_phase("promote", key_pairs):
        pair = _login(api_client, user)
    with _jwt_phase("stage", key_pairs):
        assert _me(api_client, pair["access"]) == 200
    with _jwt_phase("before", key_pairs):
        assert _me(api_client, pair["access"]) == 401


# --- The Secret's keys reach the settings ----------------------------------------------------------------------


def test_the_rotation_slots_of_the_secret_are_read_into_the_settings(tmp_path):
    """planner.settings, imported as a pod would with the keys rotate-secrets.yml writes in its environment."""
    import json
    import os
    import subprocess
    import sys

    (_, old_public), (_, next_public) = jwt_key_pair(), jwt_key_pair()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JWT_", "ENCRYPTION_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="planner.settings",
        VAR_DIR=str(tmp_path),
        DJANGO_SECRET_KEY=NEW_SECRET_KEY,
        DJANGO_SECRET_KEY_NEXT="staged-" + "s" * 50,
        DJANGO_SECRET_KEY_FALLBACKS=f"{OLD_SECRET_KEY},older-{'x' * 50}",
        ENCRYPTION_KEY="current-encryption-key",
        ENCRYPTION_KEY_NEXT="next-encryption-key",
        ENCRYPTION_KEY_FALLBACKS="old-encryption-key,older-encryption-key",
        JWT_PREVIOUS_PUBLIC_KEY=old_public,
        JWT_NEXT_PUBLIC_KEY=next_public,
    )
    code = (
        "import json; from django.conf import settings as s; print(json.dumps([s.SECRET_KEY_FALLBACKS, "
        "s.ENCRYPTION_KEY_NEXT, s.ENCRYPTION_KEY_FALLBACKS, s.JWT_NEXT_PUBLIC_KEY, s.JWT_PREVIOUS_PUBLIC_KEY]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    fallbacks, encryption_next, encryption_fallbacks, jwt_next, jwt_previous = json.loads(done.stdout.splitlines()[-1])
    assert fallbacks == ["staged-" + "s" * 50, OLD_SECRET_KEY, "older-" + "x" * 50]
    assert encryption_next == "next-encryption-key"
    assert encryption_fallbacks == ["old-encryption-key", "older-encryption-key"]
    assert (jwt_next, jwt_previous) == (next_public, old_public)


def test_reencrypt_also_moves_the_second_factor_secrets(user):
    from allauth.mfa.models import Authenticator

    from apps.core.encryption import decrypt, encrypt, encrypted_with_current_key

    old_key, new_key = "old-encryption-key-" + "o" * 30, "new-encryption-key-" + "n" * 30
    with override_settings(ENCRYPTION_KEY=old_key, ENCRYPTION_KEY_FALLBACKS=[]):
        totp = Authenticator.objects.create(user=user, type="totp", data={"secret": encrypt("JBSWY3DPEHPK3PXP")})
    with override_settings(ENCRYPTION_KEY=new_key, ENCRYPTION_KEY_FALLBACKS=[old_key]):
        call_command("reencrypt", stdout=StringIO())
    with override_settings(ENCRYPTION_KEY=new_key, ENCRYPTION_KEY_FALLBACKS=[]):
        secret = Authenticator.objects.get(pk=totp.pk).data["secret"]
        assert encrypted_with_current_key(secret)
        assert decrypt(secret) == "JBSWY3DPEHPK3PXP"
