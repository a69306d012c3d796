"""The sync lock lives as long as its holder: renewed while a run is alive (even inside one long page), gone within
SYNC_LOCK_SECONDS once the holder stopped renewing it, as a worker killed mid-run does. Redis keeps real time, so
these tests wait on the real clock, for about a second each."""

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from django.core.cache import cache
from django.test import override_settings

from apps.events import sync
from apps.events.models import Event, Source, SyncOutcome
from apps.events.sources.base import Page
from apps.events.tests.factories import make_source
from apps.events.tests.test_sync import ScriptedConnector, _pages

pytestmark = [pytest.mark.django_db, pytest.mark.real_clock]

LOCK_SECONDS = 1


def _lock_key(source: Source) -> str:
    return f"events:sync-lock:{source.pk}"


class LongPageConnector(ScriptedConnector):
    """Its first page takes 2.5 lock lifetimes to arrive; meanwhile `probe` tries to take the lock."""

    def __init__(self, source: Source, pages: list[Page]) -> None:
        super().__init__(source, pages)
        self.taken_by_another: list[bool] = []

    def pages(
        self, *, window_start: datetime, window_end: datetime, checkpoint: dict[str, Any] | None
    ) -> Iterator[Page]:
        time.sleep(2.5 * LOCK_SECONDS)
        other = threading.Thread(target=self._probe)  # another worker: a thread, with its own cache connection
        other.start()
        other.join()
        yield from super().pages(window_start=window_start, window_end=window_end, checkpoint=checkpoint)

    def _probe(self) -> None:
        self.taken_by_another.append(bool(cache.add(_lock_key(self.source), "another run", timeout=60)))


@override_settings(SYNC_LOCK_SECONDS=LOCK_SECONDS)
def test_a_run_keeps_its_lock_through_a_page_longer_than_the_lock() -> None:
    source = make_source()
    connector = LongPageConnector(source, _pages(count=1))
    run = sync.sync_source(source_id=source.pk, connector=connector)
    assert connector.taken_by_another == [False]
    assert run.outcome == SyncOutcome.COMPLETED
    assert cache.get(_lock_key(source)) is None  # given back at the end


@override_settings(SYNC_LOCK_SECONDS=LOCK_SECONDS)
def test_the_lock_of_a_killed_worker_lapses_and_the_next_run_resumes() -> None:
    source = make_source()
    with pytest.raises(SystemExit):
        sync.sync_source(source_id=source.pk, connector=ScriptedConnector(source, _pages(), die_after=1))
    # A killed worker leaves its lock behind and renews it no more; the SystemExit above gave it back, so put back
    # what a SIGKILL would have left: the key, with the time to live it had.
    cache.set(_lock_key(source), "killed worker's token", timeout=LOCK_SECONDS)
    with pytest.raises(sync.SyncAlreadyRunning):
        sync.sync_source(source_id=source.pk, connector=ScriptedConnector(source, _pages()))

    time.sleep(LOCK_SECONDS + 0.2)
    connector = ScriptedConnector(source, _pages())
    run = sync.sync_source(source_id=source.pk, connector=connector)

    assert connector.started_from == {"page": 1}
    assert run.outcome == SyncOutcome.COMPLETED
    assert Event.objects.count() == 12
