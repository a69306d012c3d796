"""The events selectors that the search tests do not reach: which sources are due, their sync status for the
metrics, and an event with its duplicates' listings."""

from datetime import timedelta

import pytest

from apps.events import selectors, services
from apps.events.models import Event, Source, SyncOutcome, SyncRun
from apps.events.tests.factories import item, make_source
from conftest import reference_now

pytestmark = pytest.mark.django_db


def _source(name: str, *, interval_minutes: int = 360) -> Source:
    return services.source_create(
        provider="ics",
        name=name,
        options={"url": f"https://example.test/{name}.ics"},
        interval_minutes=interval_minutes,
    )


def _run(source: Source, *, minutes_ago: int, outcome: str = SyncOutcome.COMPLETED) -> SyncRun:
    started = reference_now() - timedelta(minutes=minutes_ago)  # the frozen clock that sources_due reads
    run = SyncRun.objects.create(source=source, outcome=outcome)
    finished = started + timedelta(minutes=1) if outcome != SyncOutcome.RUNNING else None
    SyncRun.objects.filter(pk=run.pk).update(started_at=started, finished_at=finished)
    return run


def test_a_source_is_due_when_never_run_or_when_its_interval_has_passed_since_the_last_start(clock) -> None:  # type: ignore[no-untyped-def]
    never = _source("never")
    fresh = _source("fresh", interval_minutes=60)
    stale = _source("stale", interval_minutes=60)
    stuck = _source("stuck", interval_minutes=60)
    disabled = _source("disabled")
    Source.objects.filter(pk=disabled.pk).update(enabled=False)
    _run(fresh, minutes_ago=30)
    _run(stale, minutes_ago=90)
    _run(stale, minutes_ago=61)  # the latest start counts
    _run(stuck, minutes_ago=120, outcome=SyncOutcome.RUNNING)  # its task resumes it or finds the lock taken

    assert sorted(selectors.sources_due()) == sorted([never.pk, stale.pk, stuck.pk])
    assert fresh.pk in selectors.sources_due(now=reference_now() + timedelta(minutes=31))


def test_sync_status_counts_only_completed_runs(clock) -> None:  # type: ignore[no-untyped-def]
    source = _source("feed", interval_minutes=30)
    completed = _run(source, minutes_ago=200)
    _run(source, minutes_ago=100, outcome=SyncOutcome.FAILED)
    _run(source, minutes_ago=10, outcome=SyncOutcome.INTERRUPTED)

    [status] = selectors.sources_sync_status()

    assert status.name == "feed"
    assert status.interval_seconds == 30 * 60
    assert status.last_synced == SyncRun.objects.get(pk=completed.pk).finished_at


def test_a_merged_duplicate_resolves_to_its_canonical_event_which_lists_every_source() -> None:
    first = services.events_upsert(source=make_source("berlin-venues"), items=[item("a", title="Jazz Quartet")])
    second = services.events_upsert(source=make_source("berlin-clubs"), items=[item("b", title="Jazz Quartet")])
    ids = [*first.touched_event_ids, *second.touched_event_ids]
    services.events_merge_duplicates(event_ids=ids)
    canonical = Event.objects.get(pk__in=ids, canonical__isnull=True)
    duplicate = Event.objects.get(pk__in=ids, canonical__isnull=False)

    assert selectors.event_detail(event_id=duplicate.pk) == canonical
    assert selectors.event_detail(event_id=canonical.pk) == canonical
    assert selectors.event_detail(event_id=max(ids) + 1000) is None
    listings = selectors.event_listings(event=canonical)
    assert [(listing["name"], listing["url"]) for listing in listings] == [
        ("berlin-clubs", "https://example.test/b"),
        ("berlin-venues", "https://example.test/a"),
    ]
