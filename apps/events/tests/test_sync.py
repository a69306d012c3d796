"""Sync runs: counts, idempotence, resuming after a crash, the lock, and the commands."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.core.http import CredentialsRejectedError, RetryLaterError
from apps.events import sync
from apps.events.models import Event, Source, SyncOutcome, SyncRun
from apps.events.signals import events_changed
from apps.events.sources.base import Connector, InvalidItem, Page
from apps.events.tests.factories import item, make_source

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


def _pages(count: int = 3, per_page: int = 4) -> list[Page]:
    pages = []
    for number in range(count):
        items = [item(f"p{number}-{i}", start=START + timedelta(hours=number * per_page + i)) for i in range(per_page)]
        checkpoint = {"page": number + 1} if number + 1 < count else None
        pages.append(Page(items=items, checkpoint=checkpoint))
    return pages


class ScriptedConnector(Connector):
    """Serves prepared pages from a checkpoint on; can die after a number of pages like a killed worker."""

    provider = "ics"

    def __init__(
        self, source: Source, pages: list[Page], *, die_after: int | None = None, error: Exception | None = None
    ):
        super().__init__(source)
        self.scripted = pages
        self.die_after = die_after
        self.error = error
        self.started_from: dict[str, Any] | None = None

    def pages(
        self, *, window_start: datetime, window_end: datetime, checkpoint: dict[str, Any] | None
    ) -> Iterator[Page]:
        self.started_from = checkpoint
        first = checkpoint["page"] if checkpoint else 0
        for served, page in enumerate(self.scripted[first:]):
            if self.die_after is not None and served == self.die_after:
                raise self.error or SystemExit("worker killed")
            yield page


def _catalogue() -> list[tuple[Any, ...]]:
    return sorted(Event.objects.values_list("title", "start_utc", "status", "canonical_id"))


def test_a_run_stores_every_page_and_records_its_counts():
    source = make_source()
    run = sync.sync_source(source_id=source.pk, connector=ScriptedConnector(source, _pages()))

    assert run.outcome == SyncOutcome.COMPLETED
    assert (run.fetched, run.created, run.updated, run.unchanged, run.pages) == (12, 12, 0, 0, 3)
    assert run.checkpoint is None
    assert run.finished_at is not None
    assert Event.objects.count() == 12


def test_syncing_twice_gives_the_same_catalogue_and_reports_unchanged():
    source = make_source()
    sync.sync_source(source_id=source.pk, connector=ScriptedConnector(source, _pages()))
    before = _catalogue()

    second = sync.sync_source(source_id=source.pk, connector=ScriptedConnector(source, _pages()))

    assert (second.created, second.updated, second.unchanged) == (0, 0, 12)
    assert _catalogue() == before


def test_a_killed_run_resumes_from_its_checkpoint_with_nothing_lost_or_doubled():
    clean = make_source("clean")
    sync.sync_source(source_id=clean.pk, connector=ScriptedConnector(clean, _pages()))
    expected = sorted(Event.objects.values_list("title", "start_utc"))
    Event.objects.all().delete()

    source = make_source("crashy")
    with pytest.raises(SystemExit):
        sync.sync_source(source_id=source.pk, connector=ScriptedConnector(source, _pages(), die_after=2))
    killed = SyncRun.objects.get(source=source)
    assert killed.outcome == SyncOutcome.RUNNING  # as a killed worker leaves it
    assert killed.checkpoint == {"page": 2}
    assert Event.objects.count() == 8

    connector = ScriptedConnector(source, _pages())
    resumed = sync.sync_source(source_id=source.pk, connector=connector)

    assert connector.started_from == {"page": 2}
    assert resumed.outcome == SyncOutcome.COMPLETED
    assert (resumed.created, resumed.pages) == (4, 1)
    assert sorted(Event.objects.values_list("title", "start_utc")) == expected
    killed.refresh_from_db()
    assert killed.outcome == SyncOutcome.FAILED


def test_a_provider_asking_to_wait_too_long_ends_the_run_with_a_checkpoint():
    source = make_source()
    run = sync.sync_source(
        source_id=source.pk,
        connector=ScriptedConnector(source, _pages(), die_after=1, error=RetryLaterError(300)),
    )
    assert run.outcome == SyncOutcome.INTERRUPTED
    assert run.checkpoint == {"page": 1}
    assert "300" in run.error

    again = ScriptedConnector(source, _pages())
    assert sync.sync_source(source_id=source.pk, connector=again).outcome == SyncOutcome.COMPLETED
    assert again.started_from == {"page": 1}
    assert Event.objects.count() == 12


def test_rejected_credentials_fail_the_run_and_say_why():
    source = make_source()
    run = sync.sync_source(
        source_id=source.pk,
        connector=ScriptedConnector(source, _pages(), die_after=0, error=CredentialsRejectedError("invalid api key")),
    )
    assert run.outcome == SyncOutcome.FAILED
    assert "invalid api key" in run.error


def test_bad_items_are_counted_and_the_rest_of_the_page_goes_in():
    source = make_source()
    page = Page(
        items=[item("ok")], invalid=[InvalidItem(None, "missing id"), InvalidItem("x", "impossible coordinates")]
    )
    run = sync.sync_source(source_id=source.pk, connector=ScriptedConnector(source, [page]))
    assert (run.fetched, run.created, run.failed) == (3, 1, 2)


def test_two_runs_of_one_source_never_overlap():
    source = make_source()
    with sync.source_lock(source.pk), pytest.raises(sync.SyncAlreadyRunning):
        sync.sync_source(source_id=source.pk, connector=ScriptedConnector(source, _pages()))
    assert not SyncRun.objects.exists()
    # The lock is released with its holder.
    assert sync.sync_source(source_id=source.pk, connector=ScriptedConnector(source, _pages())).outcome == "completed"


def test_two_sources_listing_one_event_give_one_canonical_event_after_sync():
    one, two = make_source("one"), make_source("two")
    sync.sync_source(source_id=one.pk, connector=ScriptedConnector(one, [Page(items=[item("a", title="Jazz Night")])]))
    run = sync.sync_source(
        source_id=two.pk, connector=ScriptedConnector(two, [Page(items=[item("z", title="Jazz night")])])
    )
    assert run.merged == 1
    assert Event.objects.filter(canonical__isnull=True).count() == 1


def test_add_source_command_validates_and_creates():
    call_command("add_source", "ticketmaster", "--name", "berlin-tm", "--near=52.52,13.405", "--radius-km", "15")
    source = Source.objects.get(name="berlin-tm")
    assert (source.center_lat, source.center_lon, source.radius_km) == (52.52, 13.405, 15)
    with pytest.raises(CommandError, match="near"):
        call_command("add_source", "meetup", "--name", "no-area")
    with pytest.raises(CommandError, match="url"):
        call_command("add_source", "ics", "--name", "no-url")
    call_command("add_source", "eventbrite", "--name", "eb", "--option", "organization_id=123")
    assert Source.objects.get(name="eb").options == {"organization_id": "123"}


def test_sync_events_command_needs_a_known_source():
    with pytest.raises(CommandError):
        call_command("sync_events", "nope")
    with pytest.raises(CommandError):
        call_command("sync_events")


def test_seed_demo_fills_three_weekends_once():
    from apps.core.taxonomy import CATEGORY_SLUGS

    call_command("seed_demo")
    count = Event.objects.count()
    assert count >= 500
    assert set(Event.objects.values_list("category", flat=True)) == CATEGORY_SLUGS
    assert Event.objects.filter(is_free=True).exists()
    assert Event.objects.filter(is_free=False, price_min__isnull=False).exists()
    assert not Event.objects.filter(venue__lat__isnull=True).exists()

    call_command("seed_demo")
    call_command("seed_demo", "--if-empty")
    assert Event.objects.count() == count


def test_a_checkpoint_that_keeps_failing_is_given_up_after_three_runs():
    source = make_source()
    broken = ScriptedConnector(source, _pages(), die_after=1, error=ValueError("malformed page"))
    sync.sync_source(source_id=source.pk, connector=broken)
    starts = []
    for _ in range(3):
        connector = ScriptedConnector(source, _pages(), die_after=0, error=ValueError("malformed page"))
        sync.sync_source(source_id=source.pk, connector=connector)
        starts.append(connector.started_from)
    assert starts == [{"page": 1}, {"page": 1}, None]


def test_items_that_do_not_fit_are_refused_alone():
    from decimal import Decimal

    from apps.events.sources.base import check_event

    assert check_event(item("a", title="x" * 501)) == "title longer than 500 characters"
    assert check_event(item("a", price_min=Decimal("30"), price_max=Decimal("10"))) == "price range upside down"
    assert check_event(item("a")) is None


def test_seed_demo_for_a_given_date_gives_the_same_events_on_any_day(clock):
    call_command("seed_demo", "--date", "2027-03-24")
    first = sorted(Event.objects.values_list("title", "start_utc", "venue__name"))
    assert first[0][1].date().isoformat() >= "2027-03-26"  # the Friday of the first weekend after the date

    Event.objects.all().delete()
    clock.move_to("2031-01-09T08:00:00+00:00")
    call_command("seed_demo", "--date", "2027-03-24")
    assert sorted(Event.objects.values_list("title", "start_utc", "venue__name")) == first


def test_a_stored_page_merges_its_duplicates_before_the_run_ends():
    one, two = make_source("one"), make_source("two")
    sync.sync_source(source_id=one.pk, connector=ScriptedConnector(one, [Page(items=[item("a", title="Jazz Night")])]))
    pages = [Page(items=[item("z", title="Jazz night")], checkpoint={"page": 1}), Page(items=[item("y")])]

    with pytest.raises(SystemExit):
        sync.sync_source(source_id=two.pk, connector=ScriptedConnector(two, pages, die_after=1))

    assert Event.objects.filter(canonical__isnull=True).count() == 1
    assert SyncRun.objects.get(source=two).merged == 1


def test_events_changed_goes_out_in_batches_covering_every_created_or_changed_event(monkeypatch: Any):
    heard: list[list[int]] = []

    def hear(sender: object, event_ids: list[int], **_: Any) -> None:
        heard.append(event_ids)

    monkeypatch.setattr(sync, "ANNOUNCE_BATCH", 5)
    events_changed.connect(hear, dispatch_uid="test-events-changed-batches")
    try:
        source = make_source()
        sync.sync_source(source_id=source.pk, connector=ScriptedConnector(source, _pages()))
        unchanged = len(heard)
        sync.sync_source(source_id=source.pk, connector=ScriptedConnector(source, _pages()))
    finally:
        events_changed.disconnect(dispatch_uid="test-events-changed-batches")

    # 3 pages of 4: announced after the second page (8 waiting) and at the end (4); nothing for a re-sync.
    assert [len(ids) for ids in heard] == [8, 4]
    assert sorted(id_ for ids in heard for id_ in ids) == sorted(Event.objects.values_list("pk", flat=True))
    assert unchanged == len(heard)
