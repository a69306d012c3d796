"""The contract every event-source connector keeps, whatever its provider.

The cases run for every connector in the source registry (`apps.events.sources.connector_classes`), each
against its provider's fake at the network boundary: the `CONTRACT` kit in apps/events/tests/fakes/<provider>.py
writes events in the provider's documented shapes and fails the way the provider does (its own rate-limit
signals, server errors, broken bodies, refusal of our credentials). A connector added to the registry is held
to the contract at once; until its fake has a kit, every case fails for it. What one provider alone does is
tested in its test_source_<provider>.py.
"""

import importlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from apps.core.http import (
    CredentialsRejectedError,
    ProviderError,
    ProviderUnavailableError,
    RetryLaterError,
)
from apps.events import sync
from apps.events.models import Event, EventStatus, SyncOutcome, SyncRun
from apps.events.sources import connector_classes, connector_for
from apps.events.sources.base import Connector, NormalizedEvent, Page, SourceConfigError
from apps.events.tests.fakes.contract import ContractKit, title
from apps.events.tests.fakes.network import FakeClock, FakeProvider, build_connector, dropped, serve, timeout
from apps.events.tests.resync import assert_a_second_sync_changes_nothing, completed_sync

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 17, 10, 0, tzinfo=UTC)  # the suite's fixed clock (conftest), written out
WINDOW = (NOW, NOW + timedelta(days=7))
FIRST_START = NOW + timedelta(days=1)
PAGE_SIZE = 2
LONG_WAIT = 3600.0  # longer than any connector sleeps through: the run ends and a later one resumes
PROVIDERS = sorted(connector_classes())


def _kit(provider: str) -> ContractKit | None:
    try:
        module = importlib.import_module(f"apps.events.tests.fakes.{provider}")
    except ModuleNotFoundError:
        return None
    kit = getattr(module, "CONTRACT", None)
    return kit if isinstance(kit, ContractKit) and kit.provider == provider else None


def _signals(provider: str) -> list[str]:
    kit = _kit(provider)
    return list(kit.rate_limits) if kit else ["(no kit)"]  # a case still, which fails and says what is missing


# Each provider's rate-limit signals, as (provider, signal) pairs.
SIGNALS = [(provider, signal) for provider in PROVIDERS for signal in _signals(provider)]


@pytest.fixture(params=PROVIDERS)
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def kit(provider: str, settings: Any) -> ContractKit:
    kit = _kit(provider)
    if kit is None:
        pytest.fail(f"No fake for {provider!r}: give apps/events/tests/fakes/{provider}.py a CONTRACT (a ContractKit).")
    kit.configure(settings)
    return kit


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock(NOW)


def _connector(kit: ContractKit, source: Any, fake: FakeProvider, *, page_size: int = PAGE_SIZE) -> Connector:
    """The registered connector on the fake, unpaced: the clock's sleeps are the waits the retries chose."""
    return build_connector(connector_classes()[kit.provider], source, fake, paced=False, page_size=page_size)


def _read(
    connector: Connector, checkpoint: dict[str, Any] | None = None, window: tuple[datetime, datetime] = WINDOW
) -> list[Page]:
    return list(connector.pages(window_start=window[0], window_end=window[1], checkpoint=checkpoint))


def _items(pages: list[Page]) -> list[NormalizedEvent]:
    return [item for page in pages for item in page.items]


def _ids(pages: list[Page]) -> list[str]:
    return [item.provider_id for item in _items(pages)]


def _titles(pages: list[Page]) -> list[str]:
    return sorted(item.title for item in _items(pages))


def _dated(kit: ContractKit, count: int) -> list[Any]:
    return [kit.event(number, FIRST_START + timedelta(hours=3 * number)) for number in range(count)]


def _same_request(first: httpx.Request, second: httpx.Request) -> bool:
    return (first.method, first.url, first.content) == (second.method, second.url, second.content)


def _sync(kit: ContractKit, source: Any, fake: FakeProvider, now: datetime = NOW) -> SyncRun:
    return sync.sync_source(source_id=source.pk, connector=_connector(kit, source, fake), now=now)


def _stored_titles() -> list[str]:
    return sorted(Event.objects.values_list("title", flat=True))


# --- Reading: pages, checkpoints, kinds of events --------------------------------------------------------------


def test_the_registry_builds_this_connector_for_the_providers_sources(kit: ContractKit) -> None:
    assert type(connector_for(kit.source("contract"))) is connector_classes()[kit.provider]


def test_every_page_is_read_and_each_but_the_last_leaves_a_checkpoint(kit: ContractKit, fake_clock: FakeClock) -> None:
    fake = kit.fake(fake_clock, _dated(kit, 5))

    pages = _read(_connector(kit, kit.source("contract"), fake))

    assert _titles(pages) == [title(n) for n in range(5)]
    assert sorted(_ids(pages)) == sorted(kit.provider_id(n) for n in range(5))
    assert len(pages) == len(fake.requests)  # every answer is one page
    assert all(page.checkpoint is not None for page in pages[:-1])
    assert pages[-1].checkpoint is None


def test_resuming_from_a_checkpoint_reads_exactly_what_follows_it(kit: ContractKit, fake_clock: FakeClock) -> None:
    fake = kit.fake(fake_clock, _dated(kit, 5))
    source = kit.source("contract")
    pages = _read(_connector(kit, source, fake))
    # The checkpoint knows the window: the one a later run passes (a later "now") does not move it.
    elsewhere = (NOW + timedelta(days=400), NOW + timedelta(days=401))

    for index, page in enumerate(pages):
        if page.checkpoint is not None:
            resumed = _read(_connector(kit, source, fake), checkpoint=page.checkpoint, window=elsewhere)
            assert _ids(resumed) == _ids(pages[index + 1 :])


def test_an_unreadable_checkpoint_starts_the_window_afresh(kit: ContractKit, fake_clock: FakeClock) -> None:
    fake = kit.fake(fake_clock, _dated(kit, 3))

    pages = _read(_connector(kit, kit.source("contract"), fake), checkpoint={"page": "three"})

    assert _titles(pages) == [title(n) for n in range(3)]


def test_an_empty_result_is_one_page_without_events(kit: ContractKit, fake_clock: FakeClock) -> None:
    fake = kit.fake(fake_clock)

    pages = _read(_connector(kit, kit.source("contract"), fake))

    assert [(page.items, page.invalid, page.checkpoint) for page in pages] == [([], [], None)]


def test_an_event_without_a_date_is_refused_alone_and_the_rest_goes_in(kit: ContractKit, fake_clock: FakeClock) -> None:
    undated, reason = kit.undated_event(1, FIRST_START)
    fake = kit.fake(fake_clock, [kit.event(0, FIRST_START), undated, kit.event(2, FIRST_START + timedelta(hours=2))])

    pages = _read(_connector(kit, kit.source("contract"), fake, page_size=10))

    assert _titles(pages) == [title(0), title(2)]
    assert [(bad.provider_id, bad.reason) for page in pages for bad in page.invalid] == [(kit.provider_id(1), reason)]


def test_each_unusable_event_is_refused_with_its_reason_and_the_usable_one_goes_in(
    kit: ContractKit, fake_clock: FakeClock
) -> None:
    unusable = kit.unusable_events(FIRST_START)
    fake = kit.fake(fake_clock, [kit.event(0, FIRST_START), *[broken.event for broken in unusable]])

    [page] = _read(_connector(kit, kit.source("contract"), fake, page_size=10))

    assert _ids([page]) == [kit.provider_id(0)]
    assert {(bad.provider_id, bad.reason) for bad in page.invalid} == {(u.provider_id, u.reason) for u in unusable}


def test_a_cancelled_event_comes_through_as_cancelled(kit: ContractKit, fake_clock: FakeClock) -> None:
    fake = kit.fake(fake_clock, [kit.event(0, FIRST_START, cancelled=True)])

    (item,) = _items(_read(_connector(kit, kit.source("contract"), fake)))

    assert (item.title, item.status) == (title(0), "cancelled")


# --- Failures: rate limits, server errors, timeouts, broken bodies, credentials ----------------------------------


@pytest.mark.parametrize(("provider", "signal"), SIGNALS)
def test_a_short_rate_limit_is_waited_out_as_the_provider_asks(
    kit: ContractKit, signal: str, fake_clock: FakeClock
) -> None:
    fake = kit.fake(fake_clock, _dated(kit, 3))
    fake.fail_next(kit.rate_limits[signal](fake_clock, 7))

    pages = _read(_connector(kit, kit.source("contract"), fake))

    assert _titles(pages) == [title(n) for n in range(3)]
    assert fake_clock.sleeps == [7.0]  # the provider's own wait, not a back-off of ours
    assert _same_request(fake.requests[0], fake.requests[1])
    assert len(fake.requests) == len(pages) + 1


@pytest.mark.parametrize(("provider", "signal"), SIGNALS)
def test_a_long_rate_limit_ends_the_call_for_a_later_run(kit: ContractKit, signal: str, fake_clock: FakeClock) -> None:
    fake = kit.fake(fake_clock, _dated(kit, 3))
    fake.fail_next(kit.rate_limits[signal](fake_clock, LONG_WAIT))

    with pytest.raises(RetryLaterError) as caught:
        _read(_connector(kit, kit.source("contract"), fake))

    assert caught.value.retry_after_seconds == pytest.approx(LONG_WAIT)
    assert len(fake.requests) == 1
    assert fake_clock.sleeps == []
    if kit.secret:
        assert kit.secret not in str(caught.value)


@pytest.mark.parametrize("statuses", [(500,), (500, 503)], ids=["500", "500-then-503"])
def test_server_errors_are_retried_with_a_back_off(
    kit: ContractKit, fake_clock: FakeClock, statuses: tuple[int, ...]
) -> None:
    fake = kit.fake(fake_clock, _dated(kit, 3))
    fake.fail_next(*[kit.server_error(status) for status in statuses])
    connector = _connector(kit, kit.source("contract"), fake)

    pages = _read(connector)

    assert _titles(pages) == [title(n) for n in range(3)]
    assert len(fake.requests) == len(pages) + len(statuses)
    assert _same_request(fake.requests[0], fake.requests[len(statuses)])
    assert len(fake_clock.sleeps) == len(statuses)
    assert 0 <= fake_clock.sleeps[0] <= connector.policy.base_delay  # full jitter on the first back-off


def test_a_provider_that_keeps_failing_gives_up_after_four_attempts(kit: ContractKit, fake_clock: FakeClock) -> None:
    fake = kit.fake(fake_clock, _dated(kit, 3))
    fake.fail_next(*[kit.server_error(502)] * 4)

    with pytest.raises(ProviderUnavailableError):
        _read(_connector(kit, kit.source("contract"), fake))

    assert len(fake.requests) == 4


@pytest.mark.parametrize("timeouts", [1, 2])
def test_timeouts_are_retried(kit: ContractKit, fake_clock: FakeClock, timeouts: int) -> None:
    fake = kit.fake(fake_clock, _dated(kit, 3))
    fake.fail_next(*[timeout()] * timeouts)

    pages = _read(_connector(kit, kit.source("contract"), fake))

    assert _titles(pages) == [title(n) for n in range(3)]
    assert len(fake.requests) == len(pages) + timeouts


@pytest.mark.parametrize("drops", [1, 3])
def test_dropped_connections_are_retried(kit: ContractKit, fake_clock: FakeClock, drops: int) -> None:
    fake = kit.fake(fake_clock, _dated(kit, 3))
    fake.fail_next(*[dropped()] * drops)

    pages = _read(_connector(kit, kit.source("contract"), fake))

    assert _titles(pages) == [title(n) for n in range(3)]
    assert len(fake.requests) == len(pages) + drops


def test_a_provider_that_keeps_dropping_the_connection_gives_up_after_four_attempts(
    kit: ContractKit, fake_clock: FakeClock
) -> None:
    fake = kit.fake(fake_clock, _dated(kit, 3))
    fake.fail_next(*[dropped()] * 4)

    with pytest.raises(ProviderUnavailableError, match="peer closed connection"):
        _read(_connector(kit, kit.source("contract"), fake))

    assert len(fake.requests) == 4


def test_a_body_that_stays_malformed_yields_no_page(kit: ContractKit, fake_clock: FakeClock) -> None:
    fake = kit.fake(fake_clock, _dated(kit, 3))
    fake.fail_next(*[kit.malformed_body()] * 4)
    pages = _connector(kit, kit.source("contract"), fake).pages(
        window_start=WINDOW[0], window_end=WINDOW[1], checkpoint=None
    )

    with pytest.raises(ProviderError) as caught:
        next(pages)

    # Retried like any failed attempt (a JSON API), or refused at once (a feed that is not iCalendar).
    assert len(fake.requests) == (4 if isinstance(caught.value, ProviderUnavailableError) else 1)


def test_refused_credentials_stop_after_one_request_without_retrying(
    kit: ContractKit, fake_clock: FakeClock, settings: Any
) -> None:
    fake = kit.fake(fake_clock, _dated(kit, 3))
    rejected = kit.reject_credentials(settings, fake)

    with pytest.raises(CredentialsRejectedError) as caught:
        _read(_connector(kit, kit.source("contract"), fake))

    assert caught.value.status_code in (401, 403)
    assert len(fake.requests) == 1
    assert fake_clock.sleeps == []
    for marker in kit.credentials_markers:
        assert marker in str(caught.value)
    if rejected:
        assert rejected not in str(caught.value)


def test_a_source_that_cannot_sync_as_configured_asks_nothing(
    kit: ContractKit, fake_clock: FakeClock, settings: Any
) -> None:
    fake = kit.fake(fake_clock, _dated(kit, 3))
    source = kit.source("contract")
    named = kit.misconfigure(settings, source)

    with pytest.raises(SourceConfigError, match=named):
        _read(_connector(kit, source, fake))

    assert fake.requests == []


# --- Through a sync run ---------------------------------------------------------------------------------------


def test_a_sync_stores_each_event_once_and_a_second_finds_them_unchanged(
    kit: ContractKit, fake_clock: FakeClock
) -> None:
    undated, _ = kit.undated_event(3, FIRST_START)
    cancelled = kit.event(4, FIRST_START + timedelta(hours=12), cancelled=True)
    fake = kit.fake(fake_clock, [*_dated(kit, 3), undated, cancelled])
    source = kit.source("contract")

    run = _sync(kit, source, fake)

    assert run.outcome == SyncOutcome.COMPLETED, run.error
    assert (run.fetched, run.created, run.updated, run.unchanged, run.failed) == (5, 4, 0, 0, 1)
    assert run.pages == len(fake.requests)
    assert run.checkpoint is None
    assert _stored_titles() == [title(n) for n in (0, 1, 2, 4)]
    assert Event.objects.get(title=title(4)).status == EventStatus.CANCELLED

    assert_a_second_sync_changes_nothing(
        run, lambda: _sync(kit, source, fake), "title", "start_utc", "end_utc", "timezone", "status", "venue__key"
    )


def test_a_cancellation_at_the_provider_marks_the_stored_event_cancelled(
    kit: ContractKit, fake_clock: FakeClock
) -> None:
    later = FIRST_START + timedelta(hours=3)
    fake = kit.fake(fake_clock, [kit.event(0, FIRST_START), kit.event(1, later)])
    source = kit.source("contract")
    _sync(kit, source, fake)

    kit.serve(fake, [kit.event(0, FIRST_START, cancelled=True), kit.event(1, later)])
    run = _sync(kit, source, fake)

    assert (run.created, run.updated, run.unchanged) == (0, 1, 1)
    assert Event.objects.get(title=title(0)).status == EventStatus.CANCELLED
    assert Event.objects.get(title=title(1)).status == EventStatus.SCHEDULED


def test_a_body_that_stays_malformed_fails_the_run_and_stores_nothing(kit: ContractKit, fake_clock: FakeClock) -> None:
    fake = kit.fake(fake_clock, _dated(kit, 3))
    fake.fail_next(*[kit.malformed_body()] * 4)

    run = _sync(kit, kit.source("contract"), fake)

    assert run.outcome == SyncOutcome.FAILED
    assert kit.malformed_marker in run.error
    assert (run.fetched, run.created, run.pages) == (0, 0, 0)
    assert Event.objects.count() == 0


def test_refused_credentials_fail_the_run_after_one_request(
    kit: ContractKit, fake_clock: FakeClock, settings: Any
) -> None:
    fake = kit.fake(fake_clock, _dated(kit, 3))
    rejected = kit.reject_credentials(settings, fake)
    source = kit.source("contract")

    run = _sync(kit, source, fake)

    assert run.outcome == SyncOutcome.FAILED
    for marker in kit.credentials_markers:
        assert marker in run.error
    if rejected:
        assert rejected not in run.error
    assert len(fake.requests) == 1
    assert SyncRun.objects.filter(source=source).count() == 1
    assert Event.objects.count() == 0


def test_a_long_wait_interrupts_the_run_and_the_next_run_stores_everything(
    kit: ContractKit, fake_clock: FakeClock
) -> None:
    fake = kit.fake(fake_clock, _dated(kit, 3))
    long_wait = next(iter(kit.rate_limits.values()))
    fake.fail_next(long_wait(fake_clock, LONG_WAIT))
    source = kit.source("contract")

    first = _sync(kit, source, fake)

    assert first.outcome == SyncOutcome.INTERRUPTED
    assert "wait 3600 s" in first.error
    assert (first.pages, first.created, first.checkpoint) == (0, 0, None)

    second = _sync(kit, source, fake, now=NOW + timedelta(hours=1))

    assert second.outcome == SyncOutcome.COMPLETED, second.error
    assert _stored_titles() == [title(n) for n in range(3)]


def test_a_run_interrupted_after_a_page_resumes_right_after_it(kit: ContractKit, fake_clock: FakeClock) -> None:
    fake = kit.fake(fake_clock, _dated(kit, 5))
    long_wait = next(iter(kit.rate_limits.values()))
    fake.fail_next(fake.answer, long_wait(fake_clock, LONG_WAIT))  # the first page, then a long wait
    source = kit.source("contract")

    first = _sync(kit, source, fake)

    if first.outcome == SyncOutcome.COMPLETED and first.pages == 1:
        pytest.skip(f"{kit.provider} answers with one page: there is no page after it to wait for")
    assert first.outcome == SyncOutcome.INTERRUPTED
    assert (first.pages, first.created) == (1, PAGE_SIZE)
    assert first.checkpoint is not None

    second = _sync(kit, source, fake, now=NOW + timedelta(hours=1))

    assert second.outcome == SyncOutcome.COMPLETED, second.error
    assert (second.created, second.unchanged) == (5 - PAGE_SIZE, 0)  # nothing read twice, nothing lost
    assert _stored_titles() == [title(n) for n in range(5)]


def test_through_a_real_local_server_with_the_connectors_own_client(
    kit: ContractKit, fake_clock: FakeClock, settings: Any
) -> None:
    fake = kit.fake(fake_clock, _dated(kit, 5))
    short_wait = next(iter(kit.rate_limits.values()))
    fake.fail_next(kit.server_error(503), short_wait(fake_clock, 2))
    with serve(fake.handle) as base_url:
        kit.configure(settings, base_url)
        source = kit.source("contract-local", base_url)
        connector = connector_classes()[kit.provider](source, sleep=fake_clock.sleep, clock=fake_clock.time)

        run = completed_sync(source, connector, NOW)

    assert run.created == 5
    assert len(fake.requests) == run.pages + 2  # the 503 and the rate limit, each asked again
