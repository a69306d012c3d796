"""Two requests storing events of a month that has no partition yet, at the same moment (a page's two last beacon
batches): both are stored, neither deadlocks, and the month gets one partition. And a request that waits for the
partition to be made holds no lock on the events then, which the one making it needs."""

import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection, transaction

from apps.analytics import partitions, services, sinks
from apps.analytics.models import TrackedEvent

pytestmark = pytest.mark.django_db(transaction=True)  # each thread commits on a connection of its own

MONTH = date(2031, 3, 1)
ROUNDS = 5


def _batch(day: int) -> list[TrackedEvent]:
    at = datetime(MONTH.year, MONTH.month, day, 12, tzinfo=UTC)
    return [TrackedEvent(client_id=uuid.uuid4(), type="click", at=at, received_at=at) for _ in range(3)]


def _race(days: tuple[int, int]) -> tuple[list[int], list[BaseException]]:
    """Both batches written at once, each in its own transaction; what each stored, and what went wrong."""
    start = threading.Barrier(len(days))
    stored: list[int] = []
    errors: list[BaseException] = []

    def store(day: int) -> None:
        try:
            start.wait(timeout=10)
            with transaction.atomic():
                stored.append(len(sinks.CopySink().write(_batch(day))))
        except BaseException as error:  # noqa: BLE001 - reported by the test, not lost in the thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=store, args=(day,)) for day in days]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return stored, errors


def test_two_batches_making_the_same_month_at_once_are_both_stored() -> None:
    for round_ in range(ROUNDS):
        partitions.drop_before(partitions.next_month(MONTH))
        stored, errors = _race((round_ + 1, round_ + 2))
        assert errors == [], errors
        assert stored == [3, 3]
        assert partitions.month_of(MONTH) in partitions.partitions()
    # Each round dropped the month's partition and the rows with it: the last round's two batches are what is left.
    assert TrackedEvent.objects.filter(at__gte=datetime(2031, 3, 1, tzinfo=UTC)).count() == 3 * 2


def test_a_clamped_batch_waits_for_its_months_partition_holding_no_lock_on_the_events(monkeypatch) -> None:
    """The partition's maker holds the makers' advisory lock while it waits for the events table. A write that waits
    for that lock holding the table (its clamped events' lookup, when it ran in the write's transaction) deadlocks
    with it: once between tests, with a flush's TRUNCATE waiting on both. (Its id sequence, which the failed insert
    drew from, is no table and blocks neither.)"""
    partitions.drop_before(partitions.next_month(MONTH))
    received = datetime(MONTH.year, MONTH.month, 1, 12, tzinfo=UTC)
    held: list[list[str]] = []
    make = partitions.ensure

    def ensure_noting_locks(months: Any) -> list[date]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                " WHERE l.pid = pg_backend_pid() AND c.relkind IN ('r', 'p') AND c.relname LIKE %s",
                [f"{partitions.TABLE}%"],
            )
            held.append(sorted(f"{name} {mode}" for name, mode in cursor.fetchall()))
        return make(months)

    monkeypatch.setattr(partitions, "ensure", ensure_noting_locks)
    # A client clock a month behind: the event is clamped to the time received, in the month with no partition.
    sent = [{"id": str(uuid.uuid4()), "type": "click", "at": (received - timedelta(days=30)).isoformat()}]

    outcome = services.tracking_record(events=sent, user_id=None, received_at=received)

    assert outcome.accepted == 1
    assert held == [[]]
    assert partitions.month_of(MONTH) in partitions.partitions()
