"""The sync flow as operators run it: beat's scheduler task, a real worker on the sync queue, a feed served
over real HTTP on 127.0.0.1; and the sync_events command against the same feed."""

import io
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from apps.events import selectors, services
from apps.events.models import Event, SyncOutcome, SyncRun
from apps.events.tasks import schedule_due_syncs
from apps.events.tests.fakes.ics import vcalendar, vevent
from apps.events.tests.fakes.network import serve


def _feed(count: int = 3) -> str:
    # Three days from the clock the test runs on: the suite's fixed one, or the real one beside a worker.
    soon = timezone.now() + timedelta(days=3)
    return vcalendar(
        *[
            vevent(
                UID=f"talk-{n}@example.test",
                DTSTART=(soon + timedelta(hours=n)).strftime("%Y%m%dT%H%M%SZ"),
                DTEND=(soon + timedelta(hours=n, minutes=45)).strftime("%Y%m%dT%H%M%SZ"),
                SUMMARY=f"Talk {n}",
                LOCATION="Stadtbibliothek Pankow",
            )
            for n in range(count)
        ]
    )


@pytest.fixture
def feed_url():
    body = _feed()
    with serve(lambda request: httpx.Response(200, text=body, headers={"Content-Type": "text/calendar"})) as base:
        yield f"{base}/calendar.ics"


@pytest.mark.django_db(transaction=True)
def test_beat_schedules_a_due_source_and_a_real_worker_syncs_it(feed_url, celery_worker):
    source = services.source_create(provider="ics", name="library", options={"url": feed_url})
    worker = celery_worker("sync")

    assert schedule_due_syncs.apply().get() == [source.pk]  # beat's task, run here; it enqueues on "sync"

    deadline = datetime.now(UTC) + timedelta(seconds=60)
    while datetime.now(UTC) < deadline and not SyncRun.objects.filter(source=source, finished_at__isnull=False):
        worker.poll()
        assert worker.returncode is None, "the worker died"
        time.sleep(0.5)
    run = SyncRun.objects.get(source=source)
    assert run.outcome == SyncOutcome.COMPLETED, run.error
    assert sorted(Event.objects.values_list("title", flat=True)) == ["Talk 0", "Talk 1", "Talk 2"]
    # It ran just now: nothing is due any more.
    assert selectors.sources_due() == []


@pytest.mark.django_db
def test_sync_events_command_prints_counts_and_exits_zero(feed_url):
    services.source_create(provider="ics", name="library", options={"url": feed_url})
    out = io.StringIO()
    call_command("sync_events", "library", stdout=out)
    assert "completed - fetched 3, created 3" in out.getvalue()

    out = io.StringIO()
    call_command("sync_events", "--all", stdout=out)
    assert "unchanged 3" in out.getvalue()


@pytest.mark.django_db
def test_sync_events_command_fails_when_the_run_fails():
    with serve(lambda request: httpx.Response(200, text="<html>not a calendar</html>")) as base:
        services.source_create(provider="ics", name="broken", options={"url": f"{base}/x.ics"})
        with pytest.raises(CommandError, match="broken"):
            call_command("sync_events", "broken", stdout=io.StringIO())
    assert SyncRun.objects.get().outcome == SyncOutcome.FAILED


@pytest.mark.django_db
def test_sources_are_due_by_their_own_interval():
    a = services.source_create(
        provider="ics", name="a", options={"url": "https://example.test/a.ics"}, interval_minutes=60
    )
    b = services.source_create(
        provider="ics", name="b", options={"url": "https://example.test/b.ics"}, interval_minutes=600
    )
    for source in (a, b):
        SyncRun.objects.create(source=source, outcome=SyncOutcome.COMPLETED)
    SyncRun.objects.update(started_at=timezone.now() - timedelta(minutes=90))
    assert selectors.sources_due() == [a.pk]


@pytest.mark.django_db
def test_sync_events_async_fails_naming_the_sources_the_queue_did_not_take(monkeypatch):
    services.source_create(provider="ics", name="library", options={"url": "https://example.test/a.ics"})
    monkeypatch.setattr("apps.events.management.commands.sync_events.enqueue", lambda task, source_id: False)
    with pytest.raises(CommandError, match="unreachable; not queued: library"):
        call_command("sync_events", "library", "--async", stdout=io.StringIO())
