"""Source freshness gauges, in-process: one query, what the rows say, on the web /metrics page.

tests/deploy/test_metrics.py scrapes them from a real gunicorn as well."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.events.metrics import LAST_SYNCED, SYNC_INTERVAL, SourceSyncCollector
from apps.events.models import Source, SyncOutcome, SyncRun
from apps.events.tests.factories import make_source

# The dates here (weekends, sync ages, the demo catalogue) come from the frozen clock: conftest's clock fixture.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def _run(source: Source, *, minutes_ago: int, outcome: str) -> None:
    run = SyncRun.objects.create(source=source)
    now = timezone.now()
    SyncRun.objects.filter(pk=run.pk).update(
        started_at=now - timedelta(minutes=minutes_ago + 1), finished_at=now - timedelta(minutes=minutes_ago),
        outcome=outcome,
    )  # fmt: skip


def _gauges() -> dict[str, dict[str, float]]:
    return {
        family.name: {sample.labels["source"]: sample.value for sample in family.samples}
        for family in SourceSyncCollector().collect()
    }


def test_sources_are_read_in_one_query(django_assert_num_queries) -> None:
    for name in ("a", "b", "c"):
        _run(make_source(name), minutes_ago=5, outcome=SyncOutcome.COMPLETED)
    with django_assert_num_queries(1):
        gauges = _gauges()
    assert set(gauges[LAST_SYNCED]) == {"a", "b", "c"}


def test_last_completed_run_counts_and_a_never_synced_source_counts_from_its_creation() -> None:
    synced = make_source("synced")
    _run(synced, minutes_ago=300, outcome=SyncOutcome.COMPLETED)
    _run(synced, minutes_ago=30, outcome=SyncOutcome.FAILED)
    _run(synced, minutes_ago=10, outcome=SyncOutcome.INTERRUPTED)
    never = make_source("never")
    Source.objects.filter(pk=never.pk).update(interval_minutes=60)
    disabled = make_source("disabled")
    Source.objects.filter(pk=disabled.pk).update(enabled=False)
    Source.objects.create(name="demo", provider="demo")

    gauges = _gauges()

    completed = SyncRun.objects.get(source=synced, outcome=SyncOutcome.COMPLETED)
    assert gauges[LAST_SYNCED] == {
        "synced": completed.finished_at.timestamp(),
        "never": Source.objects.get(pk=never.pk).created_at.timestamp(),
    }
    assert gauges[SYNC_INTERVAL] == {"synced": 360 * 60.0, "never": 3600.0}


def test_the_web_metrics_page_shows_them(client) -> None:
    make_source("library")
    body = client.get("/metrics").content.decode()
    assert f'{SYNC_INTERVAL}{{source="library"}} 21600.0' in body
    assert f'{LAST_SYNCED}{{source="library"}}' in body
