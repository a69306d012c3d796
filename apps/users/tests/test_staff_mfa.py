"""Staff need a second factor for the admin (STAFF_MFA_REQUIRED), through allauth.mfa; the API is unchanged.

TOTP codes come from allauth's own TOTP helper under a stopped clock, so every code is known in advance. allauth
refuses a code twice within its 30-second step, so a test moves the clock on one step before the next code.
"""

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.conf import settings
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from apps.core import encryption
from apps.users import selectors
from apps.users.checks import staff_second_factor_check
from apps.users.tests.factories import UserFactory
from scripts.support.production_env import throwaway_production_secrets

pytestmark = pytest.mark.django_db

ADMIN = "/admin/"
ADMIN_USERS = "/admin/password_change/"  # any staff member may open it, without model permissions
# Any fixed moment: TOTP codes depend on the time, never on the date.
STOPPED_AT = datetime(2026, 6, 17, 10, 0, 0, tzinfo=UTC)
TOTP_STEP = timedelta(seconds=mfa_settings.TOTP_PERIOD)


@pytest.fixture
def stopped_clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(STOPPED_AT, tick=False) as traveller:
        yield traveller


@pytest.fixture
def mfa_required(settings):  # type: ignore[no-untyped-def]
    settings.STAFF_MFA_REQUIRED = True
    return settings


@pytest.fixture
def staff(db: None):  # type: ignore[no-untyped-def]
    return UserFactory(is_staff=True)


def current_code(secret: str) -> str:
    """The code an authenticator app shows now, computed the way allauth checks it."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))


def not_the_code(secret: str) -> str:
    return format_hotp_value((int(current_code(secret)) + 1) % 10**mfa_settings.TOTP_DIGITS)


def give_totp(user) -> str:  # type: ignore[no-untyped-def]
    """An authenticator app set up for `user` (as allauth stores it); returns its secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def log_in_with_password(client: Client, user, *, next_url: str = ADMIN):  # type: ignore[no-untyped-def]
    return client.post(
        f"{reverse('account_login')}?next={next_url}", {"login": user.email, "password": user.raw_password}
    )


def message_texts(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- Staff without a second factor ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags", [{"is_staff": True}, {"is_staff": True, "is_superuser": True}, {"is_superuser": True}], ids=str
)
def test_staff_without_a_second_factor_are_sent_to_set_one_up(client, mfa_required, flags):
    person = UserFactory(**flags)
    client.force_login(person)

    for url in (ADMIN, ADMIN_USERS, f"/admin/users/user/{person.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == reverse("mfa_index")
    # One message for each refused visit, all shown on the next page.
    assert message_texts(response) == ["To open the staff pages, set up two-factor authentication first."] * 3

    page = client.get(reverse("mfa_index"))
    assert page.status_code == 200
    assert "Staff accounts need a second factor" in page.content.decode()


def test_set_up_totp_then_password_and_code_open_the_admin(client, mfa_required, staff, stopped_clock):
    # Logged in with a password only, the admin sends them to set up a second factor.
    response = log_in_with_password(client, staff)
    assert response.status_code == 302
    assert client.get(ADMIN)["Location"] == reverse("mfa_index")

    # allauth asks for the password once more before a second factor can be added.
    activate = reverse("mfa_activate_totp")
    response = client.get(activate)
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("account_reauthenticate")
    response = client.post(reverse("account_reauthenticate"), {"password": staff.raw_password})
    assert response.status_code == 302

    page = client.get(activate)
    assert page.status_code == 200
    secret = page.context["form"].secret
    body = page.content.decode()
    assert "<svg" in body  # the QR code drawn inline
    assert "<?xml" not in body
    assert secret in body  # and the key, for typing in by hand

    response = client.post(activate, {"code": not_the_code(secret)})
    assert response.status_code == 200
    assert not Authenticator.objects.filter(user=staff).exists()

    response = client.post(activate, {"code": current_code(secret)})
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_view_recovery_codes")
    assert selectors.second_factor_types(user=staff) == {"totp"}
    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.RECOVERY_CODES).exists()

    # A fresh log-in: the password alone does not sign them in, and the admin stays shut.
    client.post(reverse("account_logout"))
    stopped_clock.shift(TOTP_STEP)
    response = log_in_with_password(client, staff)
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session
    assert urlsplit(client.get(ADMIN)["Location"]).path == reverse("admin:login")

    assert client.post(reverse("mfa_authenticate"), {"code": not_the_code(secret)}).status_code == 200
    assert "_auth_user_id" not in client.session

    response = client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
    assert response.status_code == 302
    assert response["Location"] == ADMIN
    assert client.get(ADMIN).status_code == 200
    assert client.get(ADMIN_USERS).status_code == 200


def test_a_recovery_code_also_passes_the_log_in(client, mfa_required, staff, stopped_clock):
    give_totp(staff)
    client.force_login(staff)
    client.post(reverse("account_reauthenticate"), {"password": staff.raw_password})
    client.post(reverse("mfa_generate_recovery_codes"))
    codes = Authenticator.objects.get(user=staff, type=Authenticator.Type.RECOVERY_CODES).wrap().get_unused_codes()
    client.post(reverse("account_logout"))

    log_in_with_password(client, staff)
    response = client.post(reverse("mfa_authenticate"), {"code": codes[0]})

    assert response.status_code == 302
    assert client.get(ADMIN).status_code == 200


# --- Staff with a second factor, in a session that did not use it ----------------------------------------------


def test_a_password_only_session_must_confirm_the_second_factor(client, mfa_required, staff, stopped_clock):
    secret = give_totp(staff)
    client.force_login(staff)  # a session from before the requirement, or from any password-only log-in

    response = client.get(ADMIN_USERS)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("mfa_reauthenticate")
    assert parse_qs(location.query)["next"] == [ADMIN_USERS]

    # The password again is not the second factor.
    client.post(reverse("account_reauthenticate"), {"password": staff.raw_password})
    assert client.get(ADMIN).status_code == 302

    response = client.post(f"{reverse('mfa_reauthenticate')}?next={ADMIN_USERS}", {"code": current_code(secret)})
    assert response.status_code == 302
    assert response["Location"] == ADMIN_USERS
    assert client.get(ADMIN_USERS).status_code == 200


def test_someone_with_only_security_keys_confirms_with_a_key(client, mfa_required, staff):
    Authenticator.objects.create(user=staff, type=Authenticator.Type.WEBAUTHN, data={"name": "Key", "credential": {}})
    client.force_login(staff)

    response = client.get(ADMIN)

    assert urlsplit(response["Location"]).path == reverse("mfa_reauthenticate_webauthn")


def test_a_second_factor_of_another_account_in_the_session_does_not_count(client, mfa_required, staff, stopped_clock):
    # allauth ties the session's authentication records to one user; switching accounts starts afresh.
    other = UserFactory()
    other_secret = give_totp(other)
    client.force_login(other)
    client.post(reverse("mfa_reauthenticate"), {"code": current_code(other_secret)})
    give_totp(staff)

    client.force_login(staff)

    assert urlsplit(client.get(ADMIN)["Location"]).path == reverse("mfa_reauthenticate")


def test_logging_out_of_the_admin_needs_no_second_factor(client, mfa_required, staff):
    client.force_login(staff)

    response = client.post(reverse("admin:logout"))

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


# --- The admin's own log-in form --------------------------------------------------------------------------------


@pytest.mark.parametrize("required", [True, False], ids=["required", "not-required"])
def test_the_admin_login_form_is_no_way_around(client, settings, staff, required):
    settings.STAFF_MFA_REQUIRED = required
    give_totp(staff)

    response = client.post(
        reverse("admin:login"), {"username": staff.email, "password": staff.raw_password, "next": ADMIN}
    )

    # Nothing was checked or logged in: the browser is sent to allauth's log-in, which asks for the code.
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("account_login")
    assert "_auth_user_id" not in client.session
    assert urlsplit(client.get(ADMIN)["Location"]).path == reverse("admin:login")
    assert urlsplit(client.get(reverse("admin:login"))["Location"]).path == reverse("account_login")


# --- Everyone else, and the setting off ---------------------------------------------------------------------------


def test_people_who_are_not_staff_are_never_affected(client, mfa_required, user, stopped_clock):
    client.force_login(user)
    assert client.get(reverse("profile")).status_code == 200
    assert client.get(reverse("mfa_index")).status_code == 200
    # The admin turns them away as it always did, not towards a second factor.
    response = client.get(ADMIN)
    assert urlsplit(response["Location"]).path == reverse("admin:login")
    assert client.get(response["Location"]).status_code == 403

    # Opting in changes nothing about where they may go with a password-only session.
    give_totp(user)
    client.force_login(user)
    assert client.get(reverse("profile")).status_code == 200
    assert client.get(reverse("my-weekend")).status_code == 200


def test_with_the_setting_off_staff_reach_the_admin_as_before(client, settings, staff):
    settings.STAFF_MFA_REQUIRED = False
    client.force_login(staff)
    assert client.get(ADMIN).status_code == 200

    give_totp(staff)
    client.force_login(staff)
    assert client.get(ADMIN_USERS).status_code == 200


# --- The API ------------------------------------------------------------------------------------------------------


def test_staff_with_totp_still_get_and_use_api_tokens(api_client, mfa_required, staff):
    give_totp(staff)

    response = api_client.post(
        "/api/v1/auth/token", {"email": staff.email, "password": staff.raw_password}, format="json"
    )
    assert response.status_code == 200, response.content
    pair = response.json()
    assert set(pair) == {"access", "refresh"}

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    me = api_client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["email"] == staff.email

    api_client.credentials()
    refreshed = api_client.post("/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json")
    assert refreshed.status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    assert api_client.get("/api/v1/me").status_code == 200


# --- Pages, storage, export -----------------------------------------------------------------------------------------


def test_the_profile_links_to_two_factor_authentication(client, user):
    client.force_login(user)
    page = client.get(reverse("profile")).content.decode()
    assert f'href="{reverse("mfa_index")}">Two-factor authentication</a> <span class="badge">Off</span>' in page

    give_totp(user)
    page = client.get(reverse("profile")).content.decode()
    assert 'Two-factor authentication</a> <span class="badge badge-ok">On</span>' in page


def test_two_factor_pages_use_the_site_layout(client, user, stopped_clock):
    secret = give_totp(user)
    client.force_login(user)
    client.post(reverse("mfa_reauthenticate"), {"code": current_code(secret)})
    pages = [
        reverse("mfa_index"),
        reverse("mfa_deactivate_totp"),
        reverse("mfa_add_webauthn"),
        reverse("mfa_list_webauthn"),
        reverse("mfa_generate_recovery_codes"),
        reverse("mfa_reauthenticate"),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert 'class="card narrow auth-card"' in body, url
        assert 'aria-label="Main"' in body, url  # the site's own navigation
        assert reverse("profile") in body, url


def test_an_unverified_email_is_named_before_setting_up(client, mfa_required, staff):
    # allauth refuses a second factor on an unverified address (else a squatter could lock the owner out).
    EmailAddress.objects.create(user=staff, email=staff.email, verified=False, primary=True)
    client.force_login(staff)

    page = client.get(reverse("mfa_index")).content.decode()
    assert f"Verify {staff.email} before you add a second factor" in page
    assert f'href="{reverse("account_email")}"' in page

    client.post(reverse("account_reauthenticate"), {"password": staff.raw_password})
    response = client.get(reverse("mfa_activate_totp"))
    assert response["Location"] == reverse("mfa_index")


def test_totp_secrets_are_encrypted_at_rest(user):
    secret = give_totp(user)

    stored = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP).data["secret"]

    assert secret not in stored
    assert encryption.decrypt(stored) == secret


def test_the_export_lists_second_factors_without_their_secrets(client, user):
    secret = give_totp(user)
    client.force_login(user)

    export = client.get(reverse("account-export")).json()

    assert [factor["type"] for factor in export["second_factors"]] == ["totp"]
    assert secret not in json.dumps(export)


def test_the_login_page_offers_passkeys(client):
    body = client.get(reverse("account_login")).content.decode()
    assert 'id="passkey_login"' in body
    assert reverse("mfa_login_webauthn") in body


# --- Settings -----------------------------------------------------------------------------------------------------


# Runs in a fresh interpreter: imports planner/settings.py once per environment given on stdin, as a process
# started with that environment would, and prints what it decided about the second factor.
_SETTINGS_PROBE = """
import json, os, runpy, sys
results = []
base = dict(os.environ)
for variant in json.load(sys.stdin):
    os.environ.clear()
    os.environ.update(base, **variant)
    s = runpy.run_module("planner.settings")
    results.append({
        "required": s["STAFF_MFA_REQUIRED"],
        "insecure_origin": s["MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN"],
        "app": "allauth.mfa" in s["INSTALLED_APPS"],
        "middleware": "apps.users.middleware.StaffSecondFactorMiddleware" in s["MIDDLEWARE"],
        "types": s["MFA_SUPPORTED_TYPES"],
    })
print(json.dumps(results))
"""


def _settings_in_a_fresh_process(clean_env, tmp_path, variants: list[dict[str, str]]) -> list[dict[str, object]]:
    result = subprocess.run(
        [sys.executable, "-c", _SETTINGS_PROBE],
        input=json.dumps(variants),
        env=clean_env(VAR_DIR=str(tmp_path)),
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


def test_production_settings_require_a_second_factor_for_staff(clean_env, tmp_path):
    production = throwaway_production_secrets()
    development: dict[str, str] = {}

    results = _settings_in_a_fresh_process(
        clean_env,
        tmp_path,
        [
            production,
            {**production, "STAFF_MFA_REQUIRED": "false"},
            development,
            {**development, "STAFF_MFA_REQUIRED": "true"},
        ],
    )

    on_in_production, switched_off_in_production, off_in_development, asked_for_in_development = results
    assert on_in_production == {
        "required": True,
        "insecure_origin": False,
        "app": True,
        "middleware": True,
        "types": ["totp", "webauthn", "recovery_codes"],
    }
    assert switched_off_in_production["required"] is False
    assert switched_off_in_production["insecure_origin"] is False
    assert off_in_development["required"] is False
    assert off_in_development["insecure_origin"] is True
    assert asked_for_in_development["required"] is True


def test_check_deploy_warns_when_production_switches_it_off(settings):
    settings.PRODUCTION = True
    settings.STAFF_MFA_REQUIRED = False
    assert [message.id for message in staff_second_factor_check(app_configs=None, databases=None)] == ["users.W001"]

    settings.STAFF_MFA_REQUIRED = True
    assert staff_second_factor_check(app_configs=None, databases=None) == []
