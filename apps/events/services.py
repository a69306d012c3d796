"""Writes to the catalogue: sources, the idempotent bulk upsert that every sync and import goes through, the
merging of duplicates, and the record of each sync run."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from apps.events import bulk, dedupe
from apps.events.models import Event, Provider, Source, SourceRecord, SyncOutcome, SyncRun, Venue
from apps.events.signals import sync_finished
from apps.events.sources.base import NormalizedEvent, NormalizedVenue, Page, SourceConfigError

VENUE_FIELDS = ("name", "address", "lat", "lon", "timezone")
BATCH_SIZE = 2000


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


def _venue_ids(venues: Iterable[NormalizedVenue]) -> dict[str, int]:
    """Venue ids by key, creating the new ones and refreshing the ones whose details changed."""
    wanted = {venue.key: venue for venue in venues}
    if not wanted:
        return {}
    stored = {row[0]: row for row in Venue.objects.filter(key__in=wanted).values_list("key", "id", *VENUE_FIELDS)}
    missing = [
        Venue(key=key, **{f: getattr(v, f) for f in VENUE_FIELDS}) for key, v in wanted.items() if key not in stored
    ]
    if missing:
        Venue.objects.bulk_create(missing, batch_size=BATCH_SIZE, ignore_conflicts=True)
        stored.update(
            (row[0], row)
            for row in Venue.objects.filter(key__in=[v.key for v in missing]).values_list("key", "id", *VENUE_FIELDS)
        )
    changed = [
        Venue(id=row[1], key=key, **{f: getattr(wanted[key], f) for f in VENUE_FIELDS})
        for key, row in stored.items()
        if row[2:] != tuple(getattr(wanted[key], f) for f in VENUE_FIELDS)
    ]
    if changed:
        Venue.objects.bulk_update(changed, VENUE_FIELDS, batch_size=BATCH_SIZE)
    return {key: row[1] for key, row in stored.items()}


def _event_row(item: NormalizedEvent, venue_id: int | None) -> tuple[Any, ...]:
    """The item as a row in bulk.EVENT_COLUMNS order."""
    venue = item.venue
    return (
        item.title, item.description, item.start_utc, item.end_utc, item.timezone, item.all_day, item.time_tba,
        item.category, list(item.tags), item.price_min, item.price_max, item.currency, item.is_free, item.url,
        item.image_url, item.status, venue_id, venue.lat if venue else None, venue.lon if venue else None,
    )  # fmt: skip


@transaction.atomic
def events_upsert(*, source: Source, items: Sequence[NormalizedEvent]) -> UpsertResult:
    """Stores one page of a source's items in one transaction, keyed by (source, provider id).

    Items whose content hash did not change are skipped without a write, which is what makes an unchanged
    re-sync cheap. Running it twice with the same items gives the same rows.
    """
    latest = {item.provider_id: item for item in items}  # a provider repeating an item: the last one wins
    hashes = {pid: item.content_hash() for pid, item in latest.items()}
    stored = {
        pid: (record_id, event_id, content_hash)
        for record_id, pid, event_id, content_hash in bulk.stored_records(
            source_id=source.pk, provider_ids=list(latest)
        )
    }
    new_ids = [pid for pid in latest if pid not in stored]
    changed_ids = [pid for pid, (_, _, content_hash) in stored.items() if content_hash != hashes[pid]]
    counts = UpsertCounts(unchanged=len(stored) - len(changed_ids))
    if not new_ids and not changed_ids:
        return UpsertResult(counts=counts, touched_event_ids=[])

    bulk.relax_commit_durability()
    venue_ids = _venue_ids(venue for pid in (*new_ids, *changed_ids) if (venue := latest[pid].venue) is not None)

    def venue_of(item: NormalizedEvent) -> int | None:
        return venue_ids[item.venue.key] if item.venue else None

    now = timezone.now()
    created_ids = bulk.insert_events([_event_row(latest[pid], venue_of(latest[pid])) for pid in new_ids], now=now)
    bulk.insert_records(
        [
            (source.pk, pid, event_id, hashes[pid], latest[pid].url)
            for pid, event_id in zip(new_ids, created_ids, strict=True)
        ],
        now=now,
    )
    counts.created = len(created_ids)

    if changed_ids:
        columns = bulk.EVENT_COLUMNS
        events = [
            Event(
                id=stored[pid][1],
                updated_at=now,
                **dict(zip(columns, _event_row(latest[pid], venue_of(latest[pid])), strict=True)),
            )
            for pid in changed_ids
        ]
        Event.objects.bulk_update(events, [*columns, "updated_at"], batch_size=BATCH_SIZE)
        SourceRecord.objects.bulk_update(
            [
                SourceRecord(id=stored[pid][0], content_hash=hashes[pid], url=latest[pid].url, changed_at=now)
                for pid in changed_ids
            ],
            ["content_hash", "url", "changed_at"],
            batch_size=BATCH_SIZE,
        )
        counts.updated = len(changed_ids)

    return UpsertResult(counts=counts, touched_event_ids=created_ids + [stored[pid][1] for pid in changed_ids])


# --- Duplicates across sources ---------------------------------------------------------------------------


def _slot(moment: Any) -> int:
    return int(moment.timestamp() // dedupe.START_TOLERANCE.total_seconds())


@transaction.atomic
def events_merge_duplicates(*, event_ids: Sequence[int]) -> int:
    """Points each of the given events that another source already lists at one canonical event.

    The canonical event is the one first seen (lowest id); the rest keep their rows and records and point to
    it, so nothing a source said is lost and a later change of either still lands. Returns how many events
    became duplicates.
    """
    if not event_ids:
        return 0
    fields = ("id", "title", "start_utc", "lat", "lon", "venue_id")
    touched_rows = list(
        Event.objects.filter(pk__in=event_ids, canonical__isnull=True)
        .annotate(source_id=Min("records__source_id"))
        .values(*fields, "source_id")
    )
    if not touched_rows:
        return 0
    window_start = min(r["start_utc"] for r in touched_rows) - dedupe.START_TOLERANCE
    window_end = max(r["start_utc"] for r in touched_rows) + dedupe.START_TOLERANCE
    pool = [
        dedupe.Candidate(**row)
        for row in Event.objects.filter(canonical__isnull=True, start_utc__gte=window_start, start_utc__lte=window_end)
        .annotate(source_id=Min("records__source_id"))
        .values(*fields, "source_id")
    ]
    by_slot: dict[int, list[dedupe.Candidate]] = defaultdict(list)
    for candidate in pool:
        by_slot[_slot(candidate.start_utc)].append(candidate)

    root: dict[int, int] = {}

    def find(event_id: int) -> int:
        while root.get(event_id, event_id) != event_id:
            event_id = root[event_id]
        return event_id

    for row in touched_rows:
        event = dedupe.Candidate(**row)
        slot = _slot(event.start_utc)
        for other in (c for s in (slot - 1, slot, slot + 1) for c in by_slot.get(s, ())):
            if dedupe.is_duplicate(event, other):
                a, b = find(event.id), find(other.id)
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
    """Stores one page of the run's source and counts it on the run, in one transaction: the checkpoint after
    the page commits together with the page, so a run killed at any point resumes right after it."""
    result = events_upsert(source=run.source, items=page.items)
    run.fetched += len(page.items) + len(page.invalid)
    run.created += result.counts.created
    run.updated += result.counts.updated
    run.unchanged += result.counts.unchanged
    run.failed += len(page.invalid)
    run.pages += 1
    run.checkpoint = page.checkpoint
    run.save()
    return result


@transaction.atomic
def sync_run_finish(*, run: SyncRun, outcome: str, error: str = "", event_ids: Iterable[int] = ()) -> SyncRun:
    """Ends the run: merges duplicates among the events it touched and records its outcome and end. A completed
    run drops its checkpoint; any other keeps it for the next run to resume from."""
    run.outcome = outcome
    run.error = error
    if outcome == SyncOutcome.COMPLETED:
        run.checkpoint = None
    run.merged = events_merge_duplicates(event_ids=sorted(set(event_ids)))
    run.finished_at = timezone.now()
    run.save()
    transaction.on_commit(lambda: sync_finished.send(sender=SyncRun, run=run))
    return run
