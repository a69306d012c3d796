"""A Celery worker SIGKILLed in the middle of a sync, for real: the worker fetches a Ticketmaster fake served over
HTTP on 127.0.0.1 (a page every few tenths of a second), is killed once two pages are stored, and the next run
ends with what an undisturbed run of the same provider stores: the same records with the same content hashes,
no event twice, and the dead worker's lock gone within SYNC_LOCK_SECONDS."""

import os
import signal
import time
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from celery import current_app
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from apps.events import services, sync, tasks
from apps.events.models import Event, Source, SyncOutcome, SyncRun
from apps.events.tests.fakes import ticketmaster as tm
from apps.events.tests.fakes.network import FakeClock, serve

pytestmark = pytest.mark.django_db(transaction=True)  # the worker, another process, reads what the test wrote

EVENTS = 450  # a dozen pages as the connector asks for them
SECONDS_A_PAGE = 0.4
LOCK_SECONDS = 2


def _until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.05)


def _records(source: Source) -> list[tuple[str, str, str]]:
    return sorted(Event.objects.filter(source=source).values_list("provider_id", "content_hash", "title"))


def _purge_sync_queue() -> None:
    """Messages left by earlier tests would run first (apps do not import the project: the app Celery made current)."""
    with current_app.connection_for_write() as connection:
        connection.default_channel.queue_purge("sync")


def test_a_worker_killed_mid_sync_leaves_what_an_undisturbed_run_leaves(celery_worker) -> None:  # type: ignore[no-untyped-def]
    first = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    listed = [tm.event(f"G5diZ9{n:07d}", f"Concert {n}", start=first + timedelta(hours=n)) for n in range(EVENTS)]
    fake = tm.FakeTicketmaster(listed, clock=FakeClock(time.time()))

    def slowly(request: httpx.Request) -> httpx.Response:
        time.sleep(SECONDS_A_PAGE)
        return fake.handle(request)

    with serve(slowly) as provider_url:
        provider = {"TICKETMASTER_API_URL": provider_url, "TICKETMASTER_API_KEY": tm.API_KEY}
        where = {"near": (52.52, 13.405), "radius_km": 12.5}
        with override_settings(**provider):
            undisturbed = services.source_create(provider="ticketmaster", name="undisturbed", **where)
            assert sync.sync_source(source_id=undisturbed.pk).outcome == SyncOutcome.COMPLETED
        source = services.source_create(provider="ticketmaster", name="killed", **where)

        _purge_sync_queue()
        worker = celery_worker("sync", SYNC_LOCK_SECONDS=str(LOCK_SECONDS), **provider)
        tasks.sync_source.delay(source.pk)
        _until(lambda: SyncRun.objects.filter(source=source, pages__gte=2).exists(), "two pages stored by the worker")
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)

        killed = SyncRun.objects.get(source=source)
        assert killed.outcome == SyncOutcome.RUNNING  # nothing ran after the kill to say otherwise
        assert killed.checkpoint
        assert 0 < Event.objects.filter(source=source).count() < EVENTS  # stored up to the kill, no more
        lock = f"events:sync-lock:{source.pk}"
        assert cache.get(lock) is not None, "the killed worker's lock is still there"
        _until(lambda: cache.get(lock) is None, "the dead worker's lock lapsed", timeout=3 * LOCK_SECONDS)

        with override_settings(**provider):
            resumed = sync.sync_source(source_id=source.pk)

    assert resumed.outcome == SyncOutcome.COMPLETED
    killed.refresh_from_db()
    assert killed.outcome == SyncOutcome.FAILED  # recorded as abandoned by the run that resumed it
    assert _records(source) == _records(undisturbed)
    assert len(_records(source)) == EVENTS
    # No item twice and none without its source item.
    assert Event.objects.count() == 2 * EVENTS
    assert Event.objects.filter(source__isnull=False).count() == 2 * EVENTS
