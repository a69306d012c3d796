"""The group emails and the address confirmation, rendered from the contexts groups passes (docs/notifications.md)
and delivered through a real SMTP server: subjects, text and HTML, List-Unsubscribe, the iTIP attachment."""

from urllib.parse import urlsplit

import pytest
from django.test import Client

from apps.notifications import delivery, rendering, services
from apps.notifications.models import Kind, Notification, Preferences

pytestmark = pytest.mark.django_db

SITE = "https://planner.example"
ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Weekend Planner//EN\r\nMETHOD:{method}\r\nBEGIN:VEVENT\r\n"
    "UID:group-plan-7@planner.example\r\nSEQUENCE:{sequence}\r\nDTSTAMP:20260617T100000Z\r\n"
    "DTSTART:20260620T090000Z\r\nDTEND:20260620T110000Z\r\nSUMMARY:Hike\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE


def _row(kind: str, context: dict, *, user=None, to_address: str = "", key: str = "k") -> Notification:
    return Notification.objects.create(
        kind=kind, user=user, to_address=to_address or user.email, idempotency_key=key, context=context
    )


def _plan_context(change: str, **extra) -> dict:
    method = "CANCEL" if change == "cancelled" else "REQUEST"
    return {
        "group_name": "Climbers",
        "title": "Hike",
        "start": "2026-06-20T09:00:00Z",
        "end": "2026-06-20T11:00:00Z",
        "timezone": "Europe/Berlin",
        "location": "Teufelsberg",
        "change": change,
        "url": f"{SITE}/groups/3/plans/7/",
        "ics": ICS.format(method=method, sequence=1),
        **extra,
    }


def test_invitation_to_someone_without_an_account(user):
    context = {
        "group_name": "Tom's <friends>",
        "inviter_name": "Ana",
        "url": f"{SITE}/groups/join/abc/",
        "expires": "2026-06-24T12:00:00+00:00",
    }
    rendered = rendering.render(_row(Kind.GROUP_INVITATION, context, to_address="new@example.test"))
    assert rendered.subject == "Ana invited you to Tom's <friends> on Weekend Planner"
    assert "Tom's <friends>" in rendered.text
    assert "Tom&#x27;s &lt;friends&gt;" in rendered.html  # escaped in HTML, plain in text
    assert f"{SITE}/groups/join/abc/" in rendered.text
    assert f'href="{SITE}/groups/join/abc/"' in rendered.html
    assert "24 June 2026" in rendered.text
    assert "List-Unsubscribe" not in rendered.headers  # no account: nothing to turn off
    assert "Stop these emails" not in rendered.html


def test_invitation_to_a_member_carries_the_opt_out(user):
    context = {"group_name": "Climbers", "inviter_name": "Ana", "url": f"{SITE}/j/x/", "expires": ""}
    rendered = rendering.render(_row(Kind.GROUP_INVITATION, context, user=user))
    url = rendered.headers["List-Unsubscribe"][1:-1]
    assert url.startswith(f"{SITE}/email/unsubscribe/")
    assert rendered.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in rendered.text
    assert url in rendered.html


def test_poll_opened_lists_the_options(user):
    context = {
        "group_name": "Climbers",
        "question": "Where on Saturday?",
        "options": ["Hike, Sat 20 Jun", "Museum"],
        "winner": "",
        "url": f"{SITE}/groups/3/polls/5/",
    }
    rendered = rendering.render(_row(Kind.POLL_OPENED, context, user=user))
    assert rendered.subject == "New poll in Climbers: Where on Saturday?"
    assert "- Hike, Sat 20 Jun" in rendered.text
    assert "<li>Museum</li>" in rendered.html
    assert rendered.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize(
    ("winner", "subject", "says"),
    [("Museum", "Climbers chose Museum", "The group chose: Museum"), ("", "Poll closed in Climbers: Where?", "No")],
)
def test_poll_closed_names_the_winner(user, winner, subject, says):
    context = {"group_name": "Climbers", "question": "Where?", "options": ["Museum"], "winner": winner, "url": "u"}
    rendered = rendering.render(_row(Kind.POLL_CLOSED, context, user=user))
    assert rendered.subject == subject
    assert says in rendered.text


@pytest.mark.parametrize(
    ("change", "subject", "method"),
    [
        ("created", "Climbers: Hike, Sat 20 Jun", "REQUEST"),
        ("updated", "Changed: Hike (Climbers)", "REQUEST"),
        ("cancelled", "Cancelled: Hike (Climbers)", "CANCEL"),
    ],
)
def test_group_plan_change_attaches_the_itip(user, change, subject, method):
    rendered = rendering.render(_row(Kind.GROUP_PLAN_CHANGED, _plan_context(change), user=user))
    assert rendered.subject == subject
    assert "Saturday 20 June 2026, 11:00–13:00 (Europe/Berlin)" in rendered.text  # in the plan's zone
    assert "Teufelsberg" in rendered.html
    (attachment,) = rendered.attachments
    assert attachment.mimetype == f"text/calendar; method={method}"
    assert f"METHOD:{method}" in str(attachment.content)
    assert rendered.headers["List-Unsubscribe"].startswith(f"<{SITE}/email/unsubscribe/")


def test_a_plan_without_ics_has_no_attachment(user):
    rendered = rendering.render(_row(Kind.GROUP_PLAN_CHANGED, _plan_context("updated", ics=""), user=user))
    assert rendered.attachments == ()


def test_delivered_through_smtp_with_headers_and_calendar_part(user, smtp_server):
    row = _row(Kind.GROUP_PLAN_CHANGED, _plan_context("created"), user=user, key="group-plan:7:1:1")
    delivery.deliver(row.pk)
    (received,) = smtp_server.to(user.email)
    assert received.subject == "Climbers: Hike, Sat 20 Jun"
    message = received.message
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # A long header is folded onto the next line: its value starts after the folding whitespace.
    assert str(message["List-Unsubscribe"]).strip().startswith(f"<{SITE}/email/unsubscribe/")
    assert "Hike" in received.text()
    assert "Teufelsberg" in received.html()
    calendars = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    assert len(calendars) == 1
    assert calendars[0].get_param("method") == "REQUEST"
    assert "UID:group-plan-7@planner.example" in calendars[0].get_content()


def test_the_header_unsubscribes_from_that_kind_only(user, smtp_server):
    context = {"group_name": "C", "question": "Q", "options": [], "winner": "", "url": "u"}
    delivery.deliver(_row(Kind.POLL_OPENED, context, user=user, key="poll-opened:1:1").pk)
    (received,) = smtp_server.to(user.email)
    path = urlsplit(str(received.message["List-Unsubscribe"]).strip()[1:-1]).path
    assert Client(enforce_csrf_checks=True).post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    prefs = Preferences.objects.get(user=user)
    assert (prefs.poll_updates, prefs.group_plan_updates, prefs.weekly_digest) == (False, True, True)
    again = services.notify(kind=Kind.POLL_CLOSED, key="poll-closed:1:1", context=context, user=user)
    assert again.status == "suppressed"


def test_address_confirmation_has_no_opt_out(user):
    rendered = rendering.render(_row(Kind.ADDRESS_CONFIRMATION, {"url": f"{SITE}/email/confirm/t/"}, user=user))
    assert rendered.subject == "Confirm your email address for Weekend Planner"
    assert f"{SITE}/email/confirm/t/" in rendered.text
    assert f'href="{SITE}/email/confirm/t/"' in rendered.html
    assert "List-Unsubscribe" not in rendered.headers
