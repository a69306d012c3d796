"""A staff member adds a security key in real Chromium and logs in with it, through allauth's WebAuthn pages.

Chromium's virtual authenticator (DevTools protocol: WebAuthn.addVirtualAuthenticator) stands in for the key:
a platform authenticator with resident keys and user verification, which answers without a touch. So the
browser runs the real ceremonies (navigator.credentials.create/get, allauth's scripts) and the server checks
real signatures with fido2. Runs once at a phone width and once at a desktop width; screenshots of each step.
"""

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from playwright.sync_api import CDPSession, Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.users.tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Screenshot = Callable[[str], Path]
# TOTP codes depend on the time: the clock stands still at any fixed moment while a test types one in.
STOPPED_AT = datetime(2026, 6, 17, 10, 0, 0, tzinfo=UTC)


def _current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))


def _virtual_security_key(page: Page) -> tuple[CDPSession, str]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def _log_in_with_password(page: Page, *, email: str, password: str) -> None:
    main = page.get_by_role("main")
    main.get_by_label("Email").fill(email)
    main.get_by_label("Password", exact=True).fill(password)
    main.get_by_role("button", name="Log in", exact=True).click()


def _log_out(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/")
    page.get_by_role("navigation", name="Main").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in")).to_be_visible()


def _expect_admin(page: Page, base_url: str) -> None:
    expect(page).to_have_url(f"{base_url}/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()


def test_staff_add_a_security_key_and_log_in_with_it(
    page: Page, live_server: LiveServer, screenshot: Screenshot, settings
) -> None:
    settings.STAFF_MFA_REQUIRED = True
    staff = UserFactory(is_staff=True)
    base = live_server.url
    cdp, authenticator_id = _virtual_security_key(page)

    # The admin sends a password-only staff member to set up a second factor.
    page.goto(f"{base}/admin/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=%2Fadmin%2F$"))
    _log_in_with_password(page, email=staff.email, password=staff.raw_password)
    expect(page).to_have_url(f"{base}/accounts/2fa/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor authentication")
    expect(page.get_by_role("main")).to_contain_text("To open the staff pages, set up two-factor authentication first.")
    screenshot("1-set-up")

    # Adding a key: allauth asks for the password again, then the browser talks to the key.
    page.get_by_role("link", name="Add a security key").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it is you")
    page.get_by_label("Password").fill(staff.raw_password)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a security key")
    page.get_by_label("Name").fill("Desk key")
    page.get_by_label("Also use it as a passkey").check()
    screenshot("2-add-key")
    page.get_by_role("button", name="Add key").click()

    # Added, with recovery codes to keep.
    expect(page.get_by_role("heading", level=1)).to_have_text("Recovery codes")
    expect(page.get_by_label("Unused codes")).to_be_visible()
    screenshot("3-recovery-codes")
    key = Authenticator.objects.get(user=staff, type=Authenticator.Type.WEBAUTHN)
    assert key.wrap().name == "Desk key"
    assert key.wrap().is_passwordless is True
    assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]) == 1

    # This session has not used the key yet: the admin asks for it.
    page.goto(f"{base}/admin/")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/webauthn/reauthenticate/\?next=%2Fadmin%2F$"))
    screenshot("4-confirm-with-key")
    page.get_by_role("button", name="Use a security key").click()
    _expect_admin(page, base)
    screenshot("5-admin")

    # A new log-in: password, then the key.
    _log_out(page, base)
    page.goto(f"{base}/admin/")
    _log_in_with_password(page, email=staff.email, password=staff.raw_password)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor authentication")
    screenshot("6-second-step")
    page.get_by_role("button", name="Use a security key").click()
    _expect_admin(page, base)

    # And with the passkey alone, which verifies the person on the key: both factors at once.
    _log_out(page, base)
    page.goto(f"{base}/accounts/login/?next=/admin/")
    page.get_by_role("button", name="Use a passkey").click()
    _expect_admin(page, base)
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_a_failed_key_prompt_is_explained(page: Page, live_server: LiveServer, screenshot: Screenshot) -> None:
    # A key that holds no passkey for this site: Chromium rejects the request (NotAllowedError), as on cancel.
    _virtual_security_key(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name="Use a passkey").click()

    expect(page.get_by_role("alert")).to_contain_text("did not answer, or the request was cancelled")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    screenshot("passkey-refused")


def test_anyone_can_turn_on_an_authenticator_app_from_the_profile(
    page: Page, live_server: LiveServer, screenshot: Screenshot
) -> None:
    person = UserFactory()
    base = live_server.url
    with time_machine.travel(STOPPED_AT, tick=False) as clock:
        page.goto(f"{base}/accounts/login/")
        _log_in_with_password(page, email=person.email, password=person.raw_password)
        page.goto(f"{base}/profile/")
        account = page.get_by_role("region", name="Your account")
        expect(account).to_contain_text("Two-factor authentication Off")
        account.get_by_role("link", name="Two-factor authentication").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor authentication")
        expect(page.get_by_role("main")).not_to_contain_text("Staff accounts")
        page.get_by_role("link", name="Set up an authenticator app").click()
        page.get_by_label("Password").fill(person.raw_password)
        page.get_by_role("button", name="Confirm").click()

        expect(page.get_by_role("heading", level=1)).to_have_text("Set up an authenticator app")
        expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
        secret = page.get_by_role("main").locator(".secret-key code").inner_text()
        screenshot("1-scan")
        page.get_by_label("Authenticator code").fill(_current_code(secret))
        page.get_by_role("button", name="Turn on").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Recovery codes")
        page.goto(f"{base}/profile/")
        expect(page.get_by_role("region", name="Your account")).to_contain_text("Two-factor authentication On")

        # From now on a log-in asks for the code after the password.
        _log_out(page, base)
        clock.shift(timedelta(seconds=mfa_settings.TOTP_PERIOD))  # a code counts once; the next one comes later
        page.goto(f"{base}/accounts/login/")
        _log_in_with_password(page, email=person.email, password=person.raw_password)
        expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor authentication")
        page.get_by_label("Code").fill(
            format_hotp_value((int(_current_code(secret)) + 1) % 10**mfa_settings.TOTP_DIGITS)
        )
        page.get_by_role("button", name="Log in", exact=True).click()
        expect(page.get_by_role("alert")).to_contain_text("Incorrect code")
        expect(page.get_by_label("Code")).to_have_attribute("aria-invalid", "true")
        screenshot("2-wrong-code")
        page.get_by_label("Code").fill(_current_code(secret))
        page.get_by_role("button", name="Log in", exact=True).click()
        expect(page).to_have_url(f"{base}/")
        expect(page.get_by_role("navigation", name="Main").get_by_role("button", name="Log out")).to_be_visible()
