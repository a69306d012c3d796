"""What every full-sync test does: a sync run that must complete, and at the end the check that syncing the same
provider answers again changes nothing."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from apps.events import sync
from apps.events.models import Event, Source, SyncOutcome, SyncRun
from apps.events.sources.base import Connector


def completed_sync(source: Source, connector: Connector, now: datetime) -> SyncRun:
    """Syncs `source` through `connector` as the scheduled task would at `now`; the run must complete."""
    run = sync.sync_source(source_id=source.pk, connector=connector, now=now)
    assert run.outcome == SyncOutcome.COMPLETED, run.error
    return run


def assert_a_second_sync_changes_nothing(first: SyncRun, sync_again: Callable[[], SyncRun], *fields: str) -> None:
    """`sync_again()` reads the same items as `first` and finds each one it stored unchanged (no write), and the
    catalogue's `fields` stay as they were."""
    before = _catalogue(fields)

    again = sync_again()

    assert again.outcome == SyncOutcome.COMPLETED, again.error
    counts = (again.fetched, again.created, again.updated, again.unchanged, again.failed)
    assert counts == (first.fetched, 0, 0, first.created, first.failed)
    assert _catalogue(fields) == before


def _catalogue(fields: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return sorted(Event.objects.values_list(*fields))
