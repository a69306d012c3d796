"""The outbox and its delivery against a real SMTP server (tests/smtp.py): once per key, opt-outs, quiet hours,
temporary failures retried with backoff, permanent ones marking the address bounced, never a duplicate."""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from apps.notifications import delivery, services, tasks
from apps.notifications.models import Kind, Notification, Status
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager() -> Iterator[None]:
    """Tasks run in the process that queues them (as under `make run`), so on-commit sends reach the SMTP server."""
    tasks.send_notification.app.conf.task_always_eager = True
    yield
    tasks.send_notification.app.conf.task_always_eager = False


def reminder_context(**overrides: object) -> dict[str, object]:
    return {
        "title": "Picnic in the park",
        "start": "2026-06-17T16:00:00+00:00",
        "end": "2026-06-17T18:00:00+00:00",
        "timezone": "Europe/Berlin",
        "location": "Tiergarten",
        "minutes": 120,
        "url": "http://testserver/weekend/",
        **overrides,
    }


def ask(user, key="reminder:1", kind=Kind.REMINDER, **kwargs):
    return services.notify(kind=kind, key=key, context=reminder_context(), user=user, **kwargs)


def test_a_notification_is_stored_once_and_sent_once_as_multipart(
    smtp_server, eager, django_capture_on_commit_callbacks
):
    person = UserFactory(email="ada@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        first = ask(person)
        again = ask(person)
    assert again.pk == first.pk
    assert Notification.objects.count() == 1
    [received] = smtp_server.to("ada@example.com")
    assert received.subject == "Reminder: Picnic in the park at 18:00"
    assert "Wednesday 17 June 2026, 18:00–20:00 (Europe/Berlin)" in received.text()
    assert "<strong>Picnic in the park</strong>" in received.html()
    assert received.message["Message-ID"] == delivery.message_id("reminder:1")
    assert received.message["Auto-Submitted"] == "auto-generated"
    row = Notification.objects.get()
    assert (row.status, row.attempts) == (Status.SENT, 1)
    assert row.sent_at is not None
    # A redelivered task, or the minute tick, finds the row sent and sends nothing.
    assert tasks.send_notification.apply(args=[row.pk]).get() == "skipped"
    assert len(smtp_server.messages) == 1


def test_a_second_call_after_sending_returns_the_sent_row(smtp_server, eager, django_capture_on_commit_callbacks):
    person = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        ask(person, key="reminder:2")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        row = ask(person, key="reminder:2")
    assert row.status == Status.SENT
    assert callbacks == []
    assert len(smtp_server.messages) == 1


@pytest.mark.parametrize(
    ("kind", "flag"),
    [
        (Kind.DIGEST, "weekly_digest"),
        (Kind.GROUP_INVITATION, "group_invitations"),
        (Kind.POLL_OPENED, "poll_updates"),
        (Kind.POLL_CLOSED, "poll_updates"),
        (Kind.GROUP_PLAN_CHANGED, "group_plan_updates"),
        (Kind.REMINDER, "reminder_minutes"),
    ],
)
def test_an_opted_out_kind_is_stored_suppressed_and_never_queued(kind, flag, django_capture_on_commit_callbacks):
    person = UserFactory()
    preferences = services.preferences_for(user=person)
    setattr(preferences, flag, None if flag == "reminder_minutes" else False)
    preferences.save()
    with django_capture_on_commit_callbacks() as callbacks:
        row = services.notify(kind=kind, key=f"k:{kind}", context={}, user=person)
    assert (row.status, row.last_error) == (Status.SUPPRESSED, "opted out")
    assert callbacks == []


def test_other_kinds_still_go_out_when_one_is_turned_off(django_capture_on_commit_callbacks):
    person = UserFactory()
    preferences = services.preferences_for(user=person)
    preferences.weekly_digest = False
    preferences.save()
    with django_capture_on_commit_callbacks() as callbacks:
        row = ask(person)
    assert row.status == Status.PENDING
    assert len(callbacks) == 1


def test_quiet_hours_defer_to_the_next_morning_in_the_persons_zone(
    clock, smtp_server, eager, django_capture_on_commit_callbacks
):
    person = UserFactory(email="night@example.com")
    person.profile.timezone = "America/New_York"
    person.profile.save()
    clock.move_to(datetime(2026, 6, 18, 3, 30, tzinfo=UTC))  # 23:30 in New York
    with django_capture_on_commit_callbacks(execute=True):
        row = services.notify(kind=Kind.POLL_OPENED, key="poll-opened:1:1", context={}, user=person)
    # 08:00 EDT on the 18th is 12:00 UTC.
    assert row.not_before == datetime(2026, 6, 18, 12, 0, tzinfo=UTC)
    assert smtp_server.messages == []
    clock.move_to(datetime(2026, 6, 18, 11, 59, tzinfo=UTC))
    assert tasks.send_due.apply().get() == 0
    assert delivery.deliver(row.pk).status == "skipped"  # a task arriving early sends nothing either
    clock.move_to(datetime(2026, 6, 18, 12, 0, 30, tzinfo=UTC))
    assert delivery.due_ids(now=datetime(2026, 6, 18, 12, 0, 30, tzinfo=UTC)) == [row.pk]


def test_reminders_are_not_held_by_quiet_hours(clock, django_capture_on_commit_callbacks):
    person = UserFactory()
    clock.move_to(datetime(2026, 6, 17, 23, 0, tzinfo=UTC))  # 01:00 in Berlin, 23:00 UTC
    person.profile.timezone = "Europe/Berlin"
    person.profile.save()
    with django_capture_on_commit_callbacks() as callbacks:
        row = ask(person)
    assert row.not_before is None
    assert len(callbacks) == 1


def test_a_temporary_failure_is_retried_with_backoff_and_recorded(clock, smtp_server):
    person = UserFactory(email="busy@example.com")
    row = ask(person)
    smtp_server.fail_next(2, code=451)
    started = datetime(2026, 6, 17, 10, 0, tzinfo=UTC)
    clock.move_to(started)
    assert delivery.deliver(row.pk) == delivery.Outcome("retry", retry_in=60)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.not_before) == (Status.PENDING, 1, started + timedelta(seconds=60))
    assert "451" in row.last_error
    assert delivery.deliver(row.pk).status == "skipped"  # not due yet
    clock.move_to(started + timedelta(seconds=61))
    assert delivery.deliver(row.pk) == delivery.Outcome("retry", retry_in=120)
    clock.move_to(started + timedelta(seconds=61 + 121))
    assert delivery.deliver(row.pk).status == "sent"
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 3)
    assert len(smtp_server.to("busy@example.com")) == 1


def test_a_refused_connection_is_temporary_and_gives_up_after_the_last_attempt(clock, settings):
    from scripts.support.network import free_port  # a port nobody listens on

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    row = ask(UserFactory())
    for attempt in range(1, delivery.MAX_ATTEMPTS + 1):
        outcome = delivery.deliver(row.pk)
        row.refresh_from_db()
        assert row.attempts == attempt
        if attempt < delivery.MAX_ATTEMPTS:
            assert outcome == delivery.Outcome("retry", retry_in=delivery.backoff(attempt))
            clock.move_to(row.not_before + timedelta(seconds=1))
    assert outcome.status == "failed"
    assert row.status == Status.FAILED
    assert "ConnectionRefused" in row.last_error


def test_a_permanent_failure_marks_the_address_bounced_and_suppresses_later_email(
    smtp_server, django_capture_on_commit_callbacks
):
    person = UserFactory(email="gone@example.com")
    smtp_server.refuse("gone@example.com", code=550)
    row = ask(person)
    assert delivery.deliver(row.pk).status == "bounced"
    row.refresh_from_db()
    assert row.status == Status.FAILED
    preferences = services.preferences_for(user=person)
    assert preferences.bounced_at is not None
    assert preferences.bounce_reason.startswith("550")
    with django_capture_on_commit_callbacks() as callbacks:
        later = services.notify(kind=Kind.DIGEST, key="digest:1", context={}, user=person)
        invitation = services.notify(
            kind=Kind.GROUP_INVITATION, key="invite:1", context={}, to_address="GONE@example.com"
        )
        confirmation = services.notify(kind=Kind.ADDRESS_CONFIRMATION, key="confirm:1", context={}, user=person)
    assert (later.status, later.last_error) == (Status.SUPPRESSED, "address bounced")
    assert invitation.status == Status.SUPPRESSED
    assert confirmation.status == Status.PENDING  # how the address comes back
    assert len(callbacks) == 1


def test_a_pending_row_is_suppressed_at_send_time_if_the_address_bounced_meanwhile(smtp_server):
    person = UserFactory()
    row = ask(person)
    preferences = services.preferences_for(user=person)
    preferences.bounced_at = datetime(2026, 6, 17, 9, 0, tzinfo=UTC)
    preferences.save()
    assert delivery.deliver(row.pk).status == "suppressed"
    assert smtp_server.messages == []


def test_a_row_left_sending_by_a_killed_worker_is_not_sent_again(smtp_server):
    row = ask(UserFactory())
    Notification.objects.filter(pk=row.pk).update(status=Status.SENDING, attempts=1)
    assert delivery.deliver(row.pk).status == "skipped"
    assert smtp_server.messages == []


def test_a_send_whose_task_was_lost_is_picked_up_by_the_minute_tick():
    row = ask(UserFactory())
    assert delivery.due_ids(now=row.created_at + timedelta(minutes=9)) == []
    assert delivery.due_ids(now=row.created_at + delivery.LOST_AFTER) == [row.pk]


def test_the_receiver_of_the_core_signal_stores_a_notification(django_capture_on_commit_callbacks):
    from apps.core.notify import notification_requested

    person = UserFactory()
    notification_requested.send(
        sender=None, kind=Kind.REMINDER, key="signal:1", context=reminder_context(), user_id=person.pk
    )
    notification_requested.send(sender=None, kind=Kind.REMINDER, key="signal:2", context={}, user_id=10**9)
    row = Notification.objects.get()
    assert (row.idempotency_key, row.user_id, row.to_address) == ("signal:1", person.pk, person.email)


def test_the_send_task_asks_celery_for_a_retry_after_the_backoff(smtp_server):
    """As a worker runs it (not eagerly): a temporary failure raises Celery's Retry with the row's backoff, one
    second past its not_before; the retry message goes to the real broker (purged after)."""
    from celery.exceptions import Retry

    row = ask(UserFactory())
    smtp_server.fail_next(1, code=451)
    task = tasks.send_notification
    task.push_request(
        id="test-retry", args=[row.pk], kwargs={}, retries=0, is_eager=False, called_directly=False,
        delivery_info={"routing_key": "notifications"},
    )  # fmt: skip
    try:
        with pytest.raises(Retry) as raised:
            task.run(row.pk)
    finally:
        task.pop_request()
        with task.app.connection_for_write() as broker:
            broker.default_channel.queue_purge("notifications")
    assert raised.value.when == delivery.backoff(1) + 1
    assert list(raised.value.sig.args) == [row.pk]  # the retry sends the same row again
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.PENDING, 1)


def test_a_row_another_worker_claims_between_the_read_and_the_claim_is_skipped(smtp_server, monkeypatch):
    """The claim is a compare-and-set on the row as read: another worker's claim landing in between (injected
    here at the suppression check, which runs between the two statements) makes this one back off."""
    row = ask(UserFactory())
    check = services.suppression_reason

    def another_worker_claims_first(**kwargs: object) -> str:
        Notification.objects.filter(pk=row.pk).update(status=Status.SENDING, attempts=1)
        return check(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(services, "suppression_reason", another_worker_claims_first)
    assert delivery.deliver(row.pk).status == "skipped"
    assert smtp_server.messages == []
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENDING, 1)  # the winner's write, not overwritten


@pytest.mark.django_db(transaction=True)
def test_workers_delivering_one_row_at_once_send_it_once(smtp_server):
    row = ask(UserFactory())
    start = threading.Barrier(8)

    def deliver() -> str:
        try:
            start.wait()
            return delivery.deliver(row.pk).status
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = sorted(pool.map(lambda _: deliver(), range(8)))
    assert outcomes == ["sent"] + ["skipped"] * 7
    assert len(smtp_server.messages) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 1)
