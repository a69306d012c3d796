"""A provider that answers slowly or drops connections, over real sockets and in real time: the Ticketmaster fake
served on 127.0.0.1 and the real connector with its own client, timeouts and retries. A page that takes 10 s is
waited for (the read timeout is longer) and ends the run once the run's time budget is spent, with a checkpoint;
a page whose connections keep dropping fails the run after the retries, with the checkpoint of the page before.
Either way the next run resumes where the last one stopped, and the runs together store what one undisturbed
run stores: the same records with the same content hashes, no event twice."""

import time
from datetime import timedelta

import httpx
import pytest
from django.test import override_settings
from django.utils import timezone

from apps.events import services, sync
from apps.events.models import Event, Source, SyncOutcome
from apps.events.tests.fakes import ticketmaster as tm
from apps.events.tests.fakes.network import FakeClock, dropped, serve

pytestmark = [pytest.mark.django_db, pytest.mark.real_clock]  # the fake server's thread sleeps in real time

EVENTS = 200  # two pages of the connector's 100
SLOW_PAGE_SECONDS = 10.0
BUDGET_SECONDS = 5  # SYNC_RUN_MAX_SECONDS: one slow page spends it
# A week ahead is one slice of the connector's search: two pages in all.
WHERE = {"near": (52.52, 13.405), "radius_km": 12.5, "options": {"days_ahead": 7}}


def _records(source: Source) -> list[tuple[str, str, str]]:
    return sorted(Event.objects.filter(source=source).values_list("provider_id", "content_hash", "title"))


def _pages_asked(fake: tm.FakeTicketmaster) -> list[int]:
    return [int(request.url.params.get("page", 0)) for request in fake.requests]


def _fake() -> tm.FakeTicketmaster:
    first = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    listed = [
        tm.event(f"G5diZ9{n:07d}", f"Concert {n}", start=first + timedelta(minutes=30 * n)) for n in range(EVENTS)
    ]
    return tm.FakeTicketmaster(listed, clock=FakeClock(time.time()))


def _undisturbed(provider_url: str, fake: tm.FakeTicketmaster) -> Source:
    with override_settings(TICKETMASTER_API_URL=provider_url, TICKETMASTER_API_KEY=tm.API_KEY):
        source = services.source_create(provider="ticketmaster", name="undisturbed", **WHERE)
        assert sync.sync_source(source_id=source.pk).outcome == SyncOutcome.COMPLETED
    fake.requests.clear()
    return source


def test_a_provider_answering_in_10_s_a_page_ends_each_run_on_time_and_the_next_resumes() -> None:
    slow = {"on": False}
    fake = _fake()

    def answer(request: httpx.Request) -> httpx.Response:
        if slow["on"]:
            time.sleep(SLOW_PAGE_SECONDS)
        return fake.handle(request)

    with serve(answer) as provider_url:
        undisturbed = _undisturbed(provider_url, fake)
        slow["on"] = True
        settings = {"TICKETMASTER_API_URL": provider_url, "TICKETMASTER_API_KEY": tm.API_KEY}
        with override_settings(SYNC_RUN_MAX_SECONDS=BUDGET_SECONDS, **settings):
            source = services.source_create(provider="ticketmaster", name="slow", **WHERE)
            stopped = sync.sync_source(source_id=source.pk)

            assert stopped.outcome == SyncOutcome.INTERRUPTED
            assert "SYNC_RUN_MAX_SECONDS" in stopped.error
            assert stopped.pages == 1
            assert stopped.checkpoint["page"] == 1
            assert _pages_asked(fake) == [0], "the run stopped after the page that spent its budget"
            assert Event.objects.filter(source=source).count() == EVENTS // 2

            resumed = sync.sync_source(source_id=source.pk)

    assert _pages_asked(fake) == [0, 1], "the next run resumed at the checkpoint's page"
    assert resumed.outcome == SyncOutcome.COMPLETED
    assert resumed.pages == 1
    assert _records(source) == _records(undisturbed)
    assert Event.objects.count() == 2 * EVENTS  # each record its own event: nothing stored twice


def test_a_provider_dropping_connections_fails_the_run_at_a_checkpoint_and_the_next_resumes() -> None:
    dropping = {"on": False}
    fake = _fake()
    drop = dropped()

    def answer(request: httpx.Request) -> httpx.Response:
        if dropping["on"] and int(request.url.params.get("page", 0)) >= 1:
            fake.requests.append(request)
            return drop(request)  # raised in the server: the connection closes without an answer
        return fake.handle(request)

    with serve(answer) as provider_url:
        undisturbed = _undisturbed(provider_url, fake)
        dropping["on"] = True
        with override_settings(TICKETMASTER_API_URL=provider_url, TICKETMASTER_API_KEY=tm.API_KEY):
            source = services.source_create(provider="ticketmaster", name="dropping", **WHERE)
            failed = sync.sync_source(source_id=source.pk)

            assert failed.outcome == SyncOutcome.FAILED
            assert failed.pages == 1
            assert failed.checkpoint["page"] == 1
            assert _pages_asked(fake) == [0, 1, 1, 1, 1], "the second page was tried four times, then given up"
            assert Event.objects.filter(source=source).count() == EVENTS // 2

            dropping["on"] = False
            fake.requests.clear()
            resumed = sync.sync_source(source_id=source.pk)

    assert _pages_asked(fake) == [1], "the next run resumed at the checkpoint's page"
    assert resumed.outcome == SyncOutcome.COMPLETED
    assert _records(source) == _records(undisturbed)
    assert Event.objects.count() == 2 * EVENTS
