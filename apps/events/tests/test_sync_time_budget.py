"""A slow provider ends a run on time: the run stops after the page that took it past SYNC_RUN_MAX_SECONDS, with
that page's checkpoint, and the next run resumes there; together they store what one clean run stores."""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from django.test import override_settings

from apps.events import sync
from apps.events.models import Event, Source, SyncOutcome
from apps.events.sources.base import Page
from apps.events.tests.factories import make_source
from apps.events.tests.test_sync import ScriptedConnector, _pages

pytestmark = pytest.mark.django_db

SECONDS_A_PAGE = 10.0


class SlowConnector(ScriptedConnector):
    """Each page takes SECONDS_A_PAGE on the run's clock, as a provider answering slowly would."""

    def __init__(self, source: Source, pages: list[Page], clock: list[float]) -> None:
        super().__init__(source, pages)
        self.clock = clock

    def pages(
        self, *, window_start: datetime, window_end: datetime, checkpoint: dict[str, Any] | None
    ) -> Iterator[Page]:
        for page in super().pages(window_start=window_start, window_end=window_end, checkpoint=checkpoint):
            self.clock[0] += SECONDS_A_PAGE
            yield page


def _catalogue() -> list[tuple[Any, ...]]:
    return sorted(Event.objects.values_list("title", "start_utc", "status"))


@override_settings(SYNC_RUN_MAX_SECONDS=25)
def test_a_slow_provider_ends_the_run_on_time_and_the_next_run_resumes(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(sync, "_clock", lambda: clock[0])
    clean = make_source("clean")
    sync.sync_source(source_id=clean.pk, connector=ScriptedConnector(clean, _pages(count=5)))
    expected = _catalogue()
    Event.objects.all().delete()

    source = make_source("slow")
    first = sync.sync_source(source_id=source.pk, connector=SlowConnector(source, _pages(count=5), clock))

    assert first.outcome == SyncOutcome.INTERRUPTED
    assert (first.pages, first.checkpoint) == (3, {"page": 3})  # 30 s at the third page's end: past 25 s
    assert "SYNC_RUN_MAX_SECONDS" in first.error
    assert Event.objects.count() == 12

    connector = SlowConnector(source, _pages(count=5), clock)
    second = sync.sync_source(source_id=source.pk, connector=connector)

    assert connector.started_from == {"page": 3}
    assert second.outcome == SyncOutcome.COMPLETED
    assert (second.created, second.pages) == (8, 2)
    assert _catalogue() == expected


@override_settings(SYNC_RUN_MAX_SECONDS=25)
def test_the_last_page_completes_the_run_even_past_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [0.0]
    monkeypatch.setattr(sync, "_clock", lambda: clock[0])
    source = make_source()
    run = sync.sync_source(source_id=source.pk, connector=SlowConnector(source, _pages(count=3), clock))
    assert run.outcome == SyncOutcome.COMPLETED  # the third page ends at 30 s but has no checkpoint: nothing left
    assert Event.objects.count() == 12
