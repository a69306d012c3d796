"""The settings page /settings/notifications/: choose what we email, and bring a bounced address back."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from apps.notifications import rendering, services
from apps.notifications.models import Kind, Notification, Preferences
from apps.notifications.unsubscribe import confirm_token

pytestmark = pytest.mark.django_db

URL = "/settings/notifications/"


def _checked_lead_time(page: str) -> str:
    (value,) = re.findall(r'<input type="radio" name="reminder_minutes" value="(\d*)"[^>]*checked', page)
    return value


@pytest.fixture
def browser_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_login_required(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_page_shows_the_choices_and_is_linked_from_the_profile(browser_client):
    page = browser_client.get(URL).content.decode()
    for label in ("Off", "15 minutes before", "1 hour before", "2 hours before", "1 day before"):
        assert label in page
    assert _checked_lead_time(page) == "120"
    assert "Your weekend" in page
    assert URL in browser_client.get("/profile/").content.decode()


def test_saving_stores_the_choices(browser_client, user):
    data = {"reminder_minutes": "1440", "weekly_digest": "on", "group_plan_updates": "on"}
    response = browser_client.post(URL, data)
    assert response.status_code == 302
    prefs = Preferences.objects.get(user=user)
    assert (prefs.reminder_minutes, prefs.weekly_digest) == (1440, True)
    assert (prefs.group_invitations, prefs.poll_updates, prefs.group_plan_updates) == (False, False, True)
    assert _checked_lead_time(browser_client.get(URL).content.decode()) == "1440"


def test_off_stores_none(browser_client, user):
    assert browser_client.post(URL, {"reminder_minutes": ""}).status_code == 302
    assert Preferences.objects.get(user=user).reminder_minutes is None


def test_a_made_up_lead_time_is_a_400_and_nothing_is_saved(browser_client, user):
    response = browser_client.post(URL, {"reminder_minutes": "7", "weekly_digest": ""})
    assert response.status_code == 400
    assert "Reminders before your plans" in response.content.decode()
    assert services.preferences_for(user=user).weekly_digest is True


def test_a_bounced_address_is_shown_with_a_confirm_button(browser_client, user):
    Preferences.objects.create(user=user, bounced_at=datetime(2026, 6, 10, 8, 0, tzinfo=UTC), bounce_reason="550")
    page = browser_client.get(URL).content.decode()
    assert "refused our email" in page
    assert "Confirm my address" in page
    assert "Confirm my address" not in Client().get(URL).content.decode()  # (anonymous: the log-in redirect)


def test_no_bounce_no_button(browser_client):
    assert "Confirm my address" not in browser_client.get(URL).content.decode()


def test_confirming_the_address_clears_the_bounce(browser_client, user, django_capture_on_commit_callbacks):
    Preferences.objects.create(user=user, bounced_at=datetime(2026, 6, 10, 8, 0, tzinfo=UTC), bounce_reason="550")
    with django_capture_on_commit_callbacks(execute=True):
        assert browser_client.post("/settings/notifications/confirm-address/").status_code == 302
        browser_client.post("/settings/notifications/confirm-address/")  # twice: one email
    row = Notification.objects.get(user=user, kind=Kind.ADDRESS_CONFIRMATION)
    assert row.status != "suppressed"  # a bounced address still gets the confirmation
    rendered = rendering.render(row)
    assert "Confirm" in rendered.subject
    link = rendered.text.split("works again. Confirm it to get our emails again:")[1].split()[0]
    assert link in rendered.html
    path = urlsplit(link).path
    anonymous = Client(enforce_csrf_checks=True)  # opened in another browser, signed out
    page = anonymous.get(path)
    assert page.status_code == 200
    assert Preferences.objects.get(user=user).bounced_at is not None  # a scanner's GET changes nothing
    (csrf,) = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert anonymous.post(path, {"csrfmiddlewaretoken": csrf}).status_code == 200
    prefs = Preferences.objects.get(user=user)
    assert (prefs.bounced_at, prefs.bounce_reason) == (None, "")
    assert "refused our email" not in browser_client.get(URL).content.decode()


def test_a_confirmation_link_for_an_old_address_or_forged_does_nothing(user):
    Preferences.objects.create(user=user, bounced_at=datetime(2026, 6, 10, 8, 0, tzinfo=UTC))
    old = confirm_token(user_id=user.pk, email="before@example.test")
    assert Client().post(f"/email/confirm/{old}/").status_code == 400
    good = confirm_token(user_id=user.pk, email=user.email)
    assert Client().post(f"/email/confirm/{good[:-3]}abc/").status_code == 400
    assert Preferences.objects.get(user=user).bounced_at is not None


def test_a_confirmation_link_expires_after_a_week(user, clock):
    Preferences.objects.create(user=user, bounced_at=timezone.now() - timedelta(days=7))
    token = confirm_token(user_id=user.pk, email=user.email)
    clock.shift(timedelta(days=8))
    assert Client().post(f"/email/confirm/{token}/").status_code == 400
    assert Preferences.objects.get(user=user).bounced_at is not None
    assert not mail.outbox


def test_nothing_is_sent_to_confirm_an_address_that_works(browser_client, user):
    response = browser_client.post("/settings/notifications/confirm-address/", follow=True)
    assert "nothing to confirm" in response.content.decode()
    assert not Notification.objects.filter(kind=Kind.ADDRESS_CONFIRMATION).exists()
