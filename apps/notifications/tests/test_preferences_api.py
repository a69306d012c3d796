"""GET/PATCH /api/v1/me/notifications: a person's own email preferences, a 400 naming the field at fault."""

from datetime import UTC, datetime

import pytest

from apps.notifications.models import Preferences

pytestmark = pytest.mark.django_db

URL = "/api/v1/me/notifications"


def test_get_gives_the_defaults(auth_client, user):
    response = auth_client.get(URL)
    assert response.status_code == 200
    assert response.json() == {
        "reminder_minutes": 120,
        "weekly_digest": True,
        "group_invitations": True,
        "poll_updates": True,
        "group_plan_updates": True,
        "bounced_at": None,
    }


def test_patch_changes_only_what_is_sent(auth_client, user):
    response = auth_client.patch(URL, {"reminder_minutes": 15, "poll_updates": False}, format="json")
    assert response.status_code == 200
    assert response.json()["reminder_minutes"] == 15
    prefs = Preferences.objects.get(user=user)
    assert (prefs.reminder_minutes, prefs.poll_updates, prefs.weekly_digest) == (15, False, True)


def test_null_turns_reminders_off(auth_client, user):
    assert auth_client.patch(URL, {"reminder_minutes": None}, format="json").status_code == 200
    assert Preferences.objects.get(user=user).reminder_minutes is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reminder_minutes", 45),
        ("reminder_minutes", "15"),
        ("reminder_minutes", True),
        ("reminder_minutes", 15.5),
        ("weekly_digest", "yes"),
        ("weekly_digest", 1),
        ("group_plan_updates", None),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_saved(auth_client, user, field, value):
    response = auth_client.patch(URL, {"poll_updates": False, field: value}, format="json")
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid"
    assert list(body["fields"]) == [field]
    assert not Preferences.objects.filter(user=user, poll_updates=False).exists()


def test_bounced_at_is_read_only_and_shown(auth_client, user):
    bounced = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
    Preferences.objects.create(user=user, bounced_at=bounced, bounce_reason="550 no such user")
    response = auth_client.patch(URL, {"bounced_at": None}, format="json")
    assert response.status_code == 200
    assert response.json()["bounced_at"] == "2026-06-01T09:30:00Z"
    assert Preferences.objects.get(user=user).bounced_at == bounced


def test_each_person_sees_and_changes_only_their_own(auth_client, user, other_user, client_for):
    client_for(other_user).patch(URL, {"weekly_digest": False}, format="json")
    assert auth_client.get(URL).json()["weekly_digest"] is True
    assert Preferences.objects.get(user=other_user).weekly_digest is False


@pytest.mark.parametrize("method", ["get", "patch"])
def test_anonymous_is_a_401(api_client, method):
    assert getattr(api_client, method)(URL, {}, format="json").status_code == 401


def test_the_schema_declares_the_fields_and_statuses(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/me/notifications"]["patch"]
    assert {"200", "400", "401"} <= set(operation["responses"])
    component = schema["components"]["schemas"]["Preferences"]
    assert set(component["properties"]) == {
        "reminder_minutes",
        "weekly_digest",
        "group_invitations",
        "poll_updates",
        "group_plan_updates",
        "bounced_at",
    }
