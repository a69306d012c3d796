"""A notifications worker SIGKILLed in the middle of a batch of reminder emails, for real: a slow SMTP server
(tests/smtp.py) keeps each send in flight long enough to kill the worker's process group during one. Another
worker then finishes the batch, every task is delivered again (as Redis does when a killed worker's messages
come back), and the tick runs again: each due reminder arrives exactly once, except at most the one in flight
when the worker died, which stays SENDING (the documented at-most-once window) and is never sent twice."""

import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from celery import current_app

from apps.calendars.models import Calendar
from apps.calendars.tests.factories import PlanFactory
from apps.notifications import reminders, tasks
from apps.notifications.models import Notification, Reminder, Status
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the workers, other processes, read what the test wrote

PEOPLE = 12


def _until(condition: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.02)


def _purge_notifications_queue() -> None:
    with current_app.connection_for_write() as broker:
        broker.default_channel.queue_purge("notifications")


def test_a_worker_killed_mid_batch_sends_no_reminder_twice(celery_worker, smtp_server) -> None:  # type: ignore[no-untyped-def]
    # Real time (a test that starts processes): plans an hour from now, so their 2-hour reminders are due.
    soon = (datetime.now(UTC) + timedelta(hours=1)).replace(tzinfo=None, second=0, microsecond=0)
    people = [UserFactory(email=f"person{n}@example.com") for n in range(PEOPLE)]
    for person in people:
        calendar = Calendar.objects.get(owner=person, is_default=True)
        PlanFactory(calendar=calendar, title="Dinner", timezone="UTC", start=soon)
    assert Reminder.objects.filter(done=False).count() == PEOPLE  # the receivers materialised them on commit
    _purge_notifications_queue()
    smtp_server.slow(0.5)
    assert reminders.tick() == PEOPLE  # stores the notifications and queues one send task each

    worker = celery_worker("notifications", EMAIL_URL=f"smtp://127.0.0.1:{smtp_server.port}")
    # Mid-batch: some emails arrived, and the worker is inside the next send (DATA handed over, no answer yet).
    _until(lambda: len(smtp_server.messages) >= 3, "three reminders arrived")
    _until(lambda: smtp_server.data_started > len(smtp_server.messages), "a send is in flight")
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    arrived_before = len(smtp_server.messages)
    assert arrived_before < PEOPLE, "the worker finished the batch before the kill: the test proves nothing"

    smtp_server.slow(0)
    celery_worker("notifications", EMAIL_URL=f"smtp://127.0.0.1:{smtp_server.port}")
    rows = Notification.objects.filter(kind="reminder")

    def settled() -> bool:
        return not rows.filter(status=Status.PENDING).exists()

    _until(settled, "the second worker sent what was left")
    # Every send delivered again (what Redis does with a dead worker's unacknowledged messages), and the tick again.
    for pk in rows.values_list("pk", flat=True):
        tasks.publish_send(pk)
    assert reminders.tick() == 0
    # A last email queued behind them: once it arrives, the worker has handled every redelivered task.
    last = UserFactory(email="last@example.com")
    PlanFactory(calendar=Calendar.objects.get(owner=last, is_default=True), title="Dinner", timezone="UTC", start=soon)
    assert reminders.tick() == 1
    _until(lambda: rows.filter(user=last, status=Status.SENT).exists(), "the last reminder was sent")

    received = Counter(recipient for message in smtp_server.messages for recipient in message.recipients)
    assert max(received.values()) == 1, f"a reminder arrived twice: {received}"
    assert received["last@example.com"] == 1
    missing = {person.email for person in people} - set(received)
    in_flight = set(rows.filter(status=Status.SENDING).values_list("to_address", flat=True))
    assert len(in_flight) <= 1
    assert missing <= in_flight  # only the send the kill interrupted may be missing
    sent = set(rows.filter(status=Status.SENT, user__in=people).values_list("to_address", flat=True))
    assert sent == {person.email for person in people} - in_flight
    assert all(message.subject.startswith("Reminder: Dinner at ") for message in smtp_server.messages)
