"""Writes to the catalogue: sources, the idempotent bulk upsert that every sync and import goes through, the
merging of duplicates, and the record of each sync run."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.events import bulk, dedupe, legacy_records
from apps.events.models import Event, Provider, Source, SyncOutcome, SyncRun
from apps.events.signals import sync_finished
from apps.events.sources.base import NormalizedEvent, Page, SourceConfigError

# --- Sources ---------------------------------------------------------------------------------------------


AREA_PROVIDERS = {Provider.TICKETMASTER, Provider.MEETUP}
REQUIRED_OPTIONS: dict[str, tuple[str, ...]] = {Provider.ICS: ("url",)}


@transaction.atomic
def source_create(
    *,
    provider: str,
    name: str,
    near: tuple[float, float] | None = None,
    radius_km: float | None = None,
    options: dict[str, Any] | None = None,
    interval_minutes: int = 360,
) -> Source:
    options = options or {}
    if provider not in Provider.values:
        raise SourceConfigError(f"Unknown provider {provider!r}; known: {', '.join(Provider.values)}.")
    if provider in AREA_PROVIDERS and near is None:
        raise SourceConfigError(f"{provider} searches by area: give --near=LAT,LON (and --radius-km).")
    if provider == Provider.EVENTBRITE and not ({"organization_id", "venue_id"} & set(options)):
        raise SourceConfigError("eventbrite needs --option organization_id=... or --option venue_id=...")
    missing = [key for key in REQUIRED_OPTIONS.get(provider, ()) if not options.get(key)]
    if missing:
        raise SourceConfigError(f"{provider} needs --option {missing[0]}=...")
    source = Source(
        name=name,
        provider=provider,
        center_lat=near[0] if near else None,
        center_lon=near[1] if near else None,
        radius_km=radius_km if near else None,
        options=options,
        interval_minutes=interval_minutes,
    )
    if near is not None and radius_km is None:
        source.radius_km = 25.0
    source.full_clean()
    source.save()
    return source


def source_legacy_records_adopt(*, source_id: int) -> int:
    """Gives the source's events the source items the previous release kept in events_sourcerecord (until a later
    release drops that table: apps/events/legacy_records.py). Cheap when there are none: one index lookup."""
    return legacy_records.adopt(source_id=source_id)


# --- Upsert ----------------------------------------------------------------------------------------------


@dataclass
class UpsertCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: "UpsertCounts") -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged


@dataclass
class UpsertResult:
    counts: UpsertCounts
    touched_event_ids: list[int]  # created or changed: the ones whose duplicates need looking for


def _page_row(item: NormalizedEvent, content_hash: str) -> bulk.PageRow:
    """The item as bulk.write_page takes it: event columns in bulk.EVENT_COLUMNS order, venue in VENUE_COLUMNS."""
    venue = item.venue
    event = (
        item.title, item.description, item.start_utc, item.end_utc, item.timezone, item.all_day, item.time_tba,
        item.category, list(item.tags), item.price_min, item.price_max, item.currency, item.is_free, item.url,
        item.image_url, item.status,
    )  # fmt: skip
    place = (venue.key, venue.name, venue.address, venue.lat, venue.lon, venue.timezone) if venue else None
    return bulk.PageRow(item.provider_id, content_hash, place, event)


@transaction.atomic(savepoint=False)  # a page is all or nothing with whatever transaction it is part of
def events_upsert(*, source: Source, items: Sequence[NormalizedEvent]) -> UpsertResult:
    """Stores one page of a source's items in one transaction, keyed by (source, provider id).

    Items whose content hash did not change are skipped without a write, which is what makes an unchanged
    re-sync cheap. Running it twice with the same items gives the same rows.
    """
    latest = list({item.provider_id: item for item in items}.values())  # an item repeated: the last one wins
    keys = [(item.provider_id, item.content_hash()) for item in latest]
    bulk.refresh_statistics_if_grown()
    bulk.tune_page_transaction()
    written = bulk.write_page(
        source_id=source.pk, keys=keys, row_of=lambda n: _page_row(latest[n], keys[n][1]), now=timezone.now()
    )
    counts = UpsertCounts(
        created=len(written.created_ids), updated=len(written.updated_ids), unchanged=written.unchanged
    )
    return UpsertResult(counts=counts, touched_event_ids=written.created_ids + written.updated_ids)


# --- Duplicates across sources ---------------------------------------------------------------------------


@transaction.atomic
def events_merge_duplicates(*, event_ids: Sequence[int]) -> int:
    """Points each of the given events that another source already lists at one canonical event.

    The canonical event is the one first seen (lowest id); the rest keep their rows (and source items) and point to
    it, so nothing a source said is lost and a later change of either still lands. Returns how many events
    became duplicates. The database finds the candidate pairs (bulk.duplicate_candidates); dedupe decides.
    """
    root: dict[int, int] = {}

    def find(event_id: int) -> int:
        while root.get(event_id, event_id) != event_id:
            event_id = root[event_id]
        return event_id

    for event, other in bulk.duplicate_candidates(event_ids=event_ids, tolerance=dedupe.START_TOLERANCE):
        if dedupe.is_duplicate(dedupe.Candidate(*event), dedupe.Candidate(*other)):
            a, b = find(event[0]), find(other[0])
            if a != b:
                root[max(a, b)] = min(a, b)

    merged = {event_id: find(event_id) for event_id in root}
    if not merged:
        return 0
    groups: dict[int, list[int]] = defaultdict(list)
    for event_id, canonical_id in merged.items():
        groups[canonical_id].append(event_id)
    now = timezone.now()
    for canonical_id, duplicate_ids in groups.items():
        # Events that pointed at one just merged now point at the surviving canonical event too.
        Event.objects.filter(Q(pk__in=duplicate_ids) | Q(canonical_id__in=duplicate_ids)).update(
            canonical_id=canonical_id, updated_at=now
        )
    return len(merged)


# --- Sync runs -------------------------------------------------------------------------------------------


@transaction.atomic
def sync_run_start(*, source: Source, resumed: SyncRun | None = None) -> SyncRun:
    """A new run of the source, starting from the checkpoint of the unfinished run it resumes, if any."""
    return SyncRun.objects.create(source=source, checkpoint=resumed.checkpoint if resumed else None)


@transaction.atomic
def sync_run_abandon(*, run: SyncRun) -> None:
    """Records a run that stopped without finishing (its worker was lost) as failed."""
    run.outcome = SyncOutcome.FAILED
    run.finished_at = run.finished_at or timezone.now()
    run.error = run.error or "The run stopped without finishing (worker lost); the next run resumed it."
    run.save(update_fields=["outcome", "finished_at", "error"])


@transaction.atomic
def sync_run_store_page(*, run: SyncRun, page: Page) -> UpsertResult:
    """Stores one page of the run's source, merges the duplicates among its new or changed events, and counts it
    on the run, in one transaction: the checkpoint after the page commits together with the page, so a run
    killed at any point resumes right after it, and nothing waits for the run's end (whose memory would grow
    with the run)."""
    result = events_upsert(source=run.source, items=page.items)
    run.fetched += len(page.items) + len(page.invalid)
    run.created += result.counts.created
    run.updated += result.counts.updated
    run.unchanged += result.counts.unchanged
    run.merged += events_merge_duplicates(event_ids=result.touched_event_ids)
    run.failed += len(page.invalid)
    run.pages += 1
    run.checkpoint = page.checkpoint
    run.save(update_fields=[*SyncRun.COUNTS, "checkpoint"])
    return result


@transaction.atomic
def sync_run_finish(*, run: SyncRun, outcome: str, error: str = "", event_ids: Iterable[int] = ()) -> SyncRun:
    """Ends the run: merges duplicates among the given events (those of pages stored by a run it resumed, whose
    own pages were merged as they were stored) and records its outcome and end. A completed run drops its
    checkpoint; any other keeps it for the next run to resume from."""
    run.outcome = outcome
    run.error = error
    if outcome == SyncOutcome.COMPLETED:
        run.checkpoint = None
    run.merged += events_merge_duplicates(event_ids=sorted(set(event_ids)))
    run.finished_at = timezone.now()
    run.save()
    transaction.on_commit(lambda: sync_finished.send(sender=SyncRun, run=run))
    return run
