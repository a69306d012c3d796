"""The services that write a sync run's record: start, one stored page, the end, and a run whose worker was lost."""

from datetime import UTC, datetime
from typing import Any

import pytest

from apps.events import services
from apps.events.models import Event, SyncOutcome, SyncRun
from apps.events.sources.base import InvalidItem, Page
from apps.events.tests.factories import item, make_source

pytestmark = pytest.mark.django_db


def test_a_run_starts_from_the_checkpoint_of_the_run_it_resumes() -> None:
    source = make_source()
    unfinished = services.sync_run_start(source=source)
    unfinished.checkpoint = {"page": 3}

    run = services.sync_run_start(source=source, resumed=unfinished)

    assert (run.outcome, run.checkpoint) == (SyncOutcome.RUNNING, {"page": 3})
    assert services.sync_run_start(source=source).checkpoint is None


def test_a_stored_page_counts_on_the_run_and_moves_its_checkpoint() -> None:
    run = services.sync_run_start(source=make_source())
    page = Page(items=[item("a"), item("b")], invalid=[InvalidItem("c", "missing title")], checkpoint={"page": 1})

    result = services.sync_run_store_page(run=run, page=page)

    run.refresh_from_db()
    assert (run.fetched, run.created, run.failed, run.pages, run.checkpoint) == (3, 2, 1, 1, {"page": 1})
    assert len(result.touched_event_ids) == 2


def test_a_page_that_fails_to_store_leaves_neither_its_events_nor_its_checkpoint(monkeypatch: Any) -> None:
    run = services.sync_run_start(source=make_source())
    upsert = services.events_upsert

    def upsert_then_fail(**kwargs: Any) -> Any:
        upsert(**kwargs)
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "events_upsert", upsert_then_fail)
    with pytest.raises(RuntimeError):
        services.sync_run_store_page(run=run, page=Page(items=[item("a")], checkpoint={"page": 1}))

    assert Event.objects.count() == 0
    stored = SyncRun.objects.get(pk=run.pk)
    assert (stored.pages, stored.checkpoint) == (0, None)


def test_finishing_records_the_outcome_and_only_a_completed_run_drops_its_checkpoint() -> None:
    source = make_source()
    interrupted = services.sync_run_start(source=source)
    interrupted.checkpoint = {"page": 2}
    completed = services.sync_run_start(source=source)
    completed.checkpoint = {"page": 2}

    services.sync_run_finish(run=interrupted, outcome=SyncOutcome.INTERRUPTED, error="asked to wait 300 s")
    services.sync_run_finish(run=completed, outcome=SyncOutcome.COMPLETED)

    interrupted.refresh_from_db()
    completed.refresh_from_db()
    assert (interrupted.outcome, interrupted.checkpoint, interrupted.error) == (
        SyncOutcome.INTERRUPTED,
        {"page": 2},
        "asked to wait 300 s",
    )
    assert (completed.outcome, completed.checkpoint, completed.error) == (SyncOutcome.COMPLETED, None, "")
    assert interrupted.finished_at is not None
    assert completed.finished_at is not None


def test_finishing_merges_the_duplicates_among_the_events_the_run_touched() -> None:
    first, second = make_source("one"), make_source("two")
    touched = []
    for source in (first, second):
        run = services.sync_run_start(source=source)
        page = Page(items=[item(f"{source.name}-jazz", title="Jazz Night")])
        touched = services.sync_run_store_page(run=run, page=page).touched_event_ids

    services.sync_run_finish(run=run, outcome=SyncOutcome.COMPLETED, event_ids=touched)

    assert SyncRun.objects.get(pk=run.pk).merged == 1
    assert Event.objects.filter(canonical__isnull=False).count() == 1


def test_a_run_whose_worker_was_lost_is_recorded_as_failed_keeping_when_it_stopped() -> None:
    run = services.sync_run_start(source=make_source())
    stopped = datetime(2026, 6, 17, 9, 30, tzinfo=UTC)
    run.finished_at = stopped

    services.sync_run_abandon(run=run)

    run.refresh_from_db()
    assert (run.outcome, run.finished_at) == (SyncOutcome.FAILED, stopped)
    assert "worker lost" in run.error
