"""The reminder email can be turned off in one click like every other kind, and says its title as written."""

from urllib.parse import urlsplit

import pytest
from django.test import Client

from apps.notifications.models import Kind, Notification
from apps.notifications.rendering import render
from apps.notifications.services import preferences_for

pytestmark = pytest.mark.django_db


def _reminder(user) -> Notification:  # type: ignore[no-untyped-def]
    return Notification(
        kind=Kind.REMINDER,
        user=user,
        to_address=user.email,
        idempotency_key="reminder:test",
        context={
            "title": "Tom's <b>birthday</b> & brunch",
            "start": "2026-06-20T08:00:00+00:00",
            "end": "2026-06-20T10:00:00+00:00",
            "all_day": False,
            "timezone": "Europe/Berlin",
            "location": "Café Kranzler",
            "minutes": 120,
            "url": "https://weekendplanner.example/weekend/",
        },
    )


def test_the_subject_and_text_say_the_title_as_written_and_the_html_escapes_it(user) -> None:
    rendered = render(_reminder(user))
    assert rendered.subject == "Reminder: Tom's <b>birthday</b> & brunch at 10:00"
    assert "Tom's <b>birthday</b> & brunch starts in 2 hours." in rendered.text
    assert "Tom&#x27;s &lt;b&gt;birthday&lt;/b&gt; &amp; brunch" in rendered.html


def test_a_reminder_carries_one_click_unsubscribe_that_turns_reminders_off(user) -> None:
    rendered = render(_reminder(user))
    assert rendered.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = rendered.headers["List-Unsubscribe"].strip("<>")
    assert url in rendered.text
    assert preferences_for(user=user).reminder_minutes == 120
    answer = Client(enforce_csrf_checks=True).post(urlsplit(url).path)  # as a mail client posts it: no cookie
    assert answer.status_code == 200
    assert preferences_for(user=user).reminder_minutes is None
