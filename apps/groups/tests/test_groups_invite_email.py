"""An invitation with an email address is emailed through notifications, carrying the join link; the invited
person's own preferences apply when the address has an account."""

from collections.abc import Iterator

import pytest
from celery import current_app

from apps.groups.tests.factories import GroupFactory
from apps.notifications import services as notification_services
from apps.notifications.models import Kind, Notification, Status
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager() -> Iterator[None]:
    """The send task runs in this process when the request commits, so the email reaches the SMTP server."""
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = False


def test_an_emailed_invitation_carries_the_link(daytime, client_for, user, smtp_server, eager, settings,
                                                 django_capture_on_commit_callbacks):  # fmt: skip
    settings.SITE_URL = "https://planner.example"
    user.profile.display_name = "Olga"
    user.profile.save()
    group = GroupFactory(owner=user, name="Sunday hikers")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(user).post(f"/api/v1/groups/{group.pk}/invites", {"email": "Friend@Example.com"},
                                         format="json")  # fmt: skip
    assert response.status_code == 201
    invite = response.json()
    row = Notification.objects.get(idempotency_key=f"group-invite:{invite['id']}")
    assert (row.kind, row.to_address, row.user) == (Kind.GROUP_INVITATION, "Friend@Example.com", None)
    assert row.context == {
        "group_name": "Sunday hikers",
        "inviter_name": "Olga",
        "url": f"https://planner.example/groups/join/{invite['token']}/",
        "expires": row.context["expires"],
    }
    assert row.context["expires"].startswith(invite["expires"][:10])
    [received] = smtp_server.to("Friend@Example.com")
    assert invite["url"] in received.text()
    assert "Sunday hikers" in received.subject + received.text()


def test_a_person_who_turned_invitations_off_gets_none(user, client_for, django_capture_on_commit_callbacks):
    invited = UserFactory(email="quiet@example.test")
    preferences = notification_services.preferences_for(user=invited)
    preferences.group_invitations = False
    preferences.save()
    group = GroupFactory(owner=user)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(user).post(f"/api/v1/groups/{group.pk}/invites", {"email": "QUIET@example.test"},
                                         format="json")  # fmt: skip
    assert response.status_code == 201
    row = Notification.objects.get(kind=Kind.GROUP_INVITATION)
    assert (row.user, row.status) == (invited, Status.SUPPRESSED)
    assert callbacks == []


def test_a_link_without_an_email_sends_nothing(user, client_for):
    group = GroupFactory(owner=user)
    assert client_for(user).post(f"/api/v1/groups/{group.pk}/invites", {}, format="json").status_code == 201
    assert not Notification.objects.exists()
