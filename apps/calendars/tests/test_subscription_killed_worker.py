"""A Celery worker SIGKILLed in the middle of a subscription refresh, for real: the worker fetches a feed served over
HTTP on 127.0.0.1 and is killed while it downloads the feed, or while its import transaction is open in PostgreSQL
(seen from outside in pg_locks). Nothing of the killed refresh stays, the row lock dies with the worker's
connection, the subscription is still due, and the next refresh ends with the rows an undisturbed refresh of the
same feed stores."""

import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from celery import current_app
from django.db import connection

from apps.calendars import selectors, services, tasks
from apps.calendars.models import Calendar, Plan, Subscription
from apps.events.tests.fakes.network import serve
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the worker, another process, reads what the test wrote

PLANS = 600  # an import of a few seconds, so the kill lands inside its transaction
FIRST = datetime(2026, 10, 16, 18, 0, tzinfo=UTC)


def _feed() -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Example//Killed refresh//EN"]
    for n in range(PLANS):
        start = FIRST + timedelta(hours=5 * n)
        lines += [
            "BEGIN:VEVENT",
            f"UID:plan-{n}@example.test",
            "DTSTAMP:20261001T000000Z",
            f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
            f"DTEND:{start + timedelta(hours=2):%Y%m%dT%H%M%SZ}",
            f"SUMMARY:Plan {n}",
            f"LOCATION:Room {n % 7}",
        ]
        if n % 10 == 0:  # some weekly series, one date left out
            lines += ["RRULE:FREQ=WEEKLY;COUNT=6", f"EXDATE:{start + timedelta(weeks=2):%Y%m%dT%H%M%SZ}"]
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def _until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.02)


def _rows(calendar: Calendar) -> list[tuple[object, ...]]:
    fields = ("ical_uid", "title", "start_utc", "end_utc", "rrule", "exdates", "location", "sequence", "status")
    return sorted(Plan.objects.filter(calendar=calendar).values_list(*fields))


def _another_process_writes_plans() -> bool:
    """Another backend holds the lock an INSERT takes on the plans table: its import transaction is open."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE relation = 'calendars_plan'::regclass"
            " AND mode = 'RowExclusiveLock' AND granted AND pid <> pg_backend_pid()"
        )
        return bool(cursor.fetchone()[0])


def _other_backends_in_a_transaction() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
        )
        return int(cursor.fetchone()[0])


def _purge_sync_queue() -> None:
    """Messages left by earlier tests would run first (apps do not import the project: the app Celery made current)."""
    with current_app.connection_for_write() as broker:
        broker.default_channel.queue_purge("sync")


@pytest.mark.parametrize("moment", ["downloading", "importing"])
def test_a_worker_killed_mid_refresh_leaves_what_an_undisturbed_refresh_leaves(celery_worker, moment: str) -> None:  # type: ignore[no-untyped-def]
    body = _feed()
    asked = threading.Event()
    answer = threading.Event()  # held while the test kills a worker that is downloading

    def feed(request: httpx.Request) -> httpx.Response:
        asked.set()
        if moment == "downloading":
            answer.wait(timeout=60)
        return httpx.Response(200, headers={"Content-Type": "text/calendar", "ETag": '"v1"'}, content=body)

    undisturbed = Calendar.objects.get(owner=UserFactory(), is_default=True)
    killed = Calendar.objects.get(owner=UserFactory(), is_default=True)
    with serve(feed) as base_url:
        url = f"{base_url}/calendar.ics"
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("django.conf.settings.CALENDAR_SUBSCRIPTIONS_ALLOW_PRIVATE", True, raising=False)
            answer.set()
            reference = services.subscription_create(calendar=undisturbed, url=url)
            assert services.subscription_refresh(subscription_id=reference.pk).status == "imported"
            answer.clear()
            asked.clear()
            subscription = services.subscription_create(calendar=killed, url=url)

            _purge_sync_queue()
            worker = celery_worker("sync", CALENDAR_SUBSCRIPTIONS_ALLOW_PRIVATE="true")
            tasks.sync_subscription.delay(subscription.pk)
            if moment == "downloading":
                _until(asked.is_set, "the worker asked for the feed")
            else:
                _until(_another_process_writes_plans, "the worker's import transaction wrote plans")
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
            answer.set()

            # The killed refresh left nothing: its transaction died with its connection, and took its row lock along.
            _until(lambda: _other_backends_in_a_transaction() == 0, "the killed worker's transaction rolled back")
            assert Plan.objects.filter(calendar=killed).count() == 0
            subscription.refresh_from_db()
            assert subscription.last_fetched_at is None
            assert subscription.etag == ""
            assert subscription.pk in selectors.subscriptions_due(), "still due: the next beat tick retries it"

            resumed = services.subscription_refresh(subscription_id=subscription.pk)
            again = services.subscription_refresh(subscription_id=subscription.pk)  # the feed ignores the ETag

    assert resumed.status == "imported"
    assert resumed.created == PLANS
    assert again.status == "imported"
    assert (again.created, again.updated) == (0, PLANS)
    assert _rows(killed) == _rows(undisturbed)
    assert len(_rows(killed)) == PLANS
    assert Subscription.objects.get(pk=subscription.pk).etag == '"v1"'
