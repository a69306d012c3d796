"""Writing many catalogue rows at once: one page of a source's items per call, in the caller's transaction.

On PostgreSQL a page costs a few round trips whatever its size: one query compares the page's content hashes
with the stored ones in SQL (unchanged items stop there, nothing else is sent) and draws the new events' ids
from the sequence; the items to write are COPYed into a temporary staging table; one batch of statements then
upserts their venues and events from it with `INSERT ... ON CONFLICT ... DO UPDATE`.
Elsewhere (the SQLite of `make run`) the ORM does the same work with bulk_create and bulk_update.

It also finds the candidate duplicates among a page's events (duplicate_candidates): on PostgreSQL through the
start index, a few neighbours per event, rather than by reading every event of the page's time span.

Callers pass plain tuples in the column orders below; this module knows nothing about providers.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from psycopg import sql

from apps.events.models import Event, Venue

EVENT_COLUMNS = (
    "title", "description", "start_utc", "end_utc", "timezone", "all_day", "time_tba", "category", "tags",
    "price_min", "price_max", "currency", "is_free", "url", "image_url", "status",
)  # fmt: skip
VENUE_COLUMNS = ("key", "name", "address", "lat", "lon", "timezone")
BATCH_SIZE = 2000


@dataclass(frozen=True)
class PageRow:
    """One item of a page: its key and hash, its venue and its event columns."""

    provider_id: str
    content_hash: str
    venue: tuple[Any, ...] | None  # VENUE_COLUMNS order
    event: tuple[Any, ...]  # EVENT_COLUMNS order


@dataclass(frozen=True)
class Written:
    created_ids: list[int]  # in the order of the page
    updated_ids: list[int]
    unchanged: int


def tune_page_transaction() -> None:
    """On PostgreSQL, for the rest of this transaction: its commit does not wait for its WAL flush, and queries
    are not JIT-compiled.

    A crash may lose the last moments of a sync, never corrupt it: the checkpoint commits with its page, so the
    next run redoes it. The page's statements are estimated dear enough to be compiled, which costs far more
    (about 50 ms a query) than they take to run.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF; SET LOCAL jit TO OFF")


# The columns a page's statements and the duplicate probe plan by, per catalogue table; autovacuum refreshes the rest.
_PLANNING_COLUMNS = {
    "events_event": ("canonical_id", "start_utc", "lat", "venue_id", "source_id"),
}
_GROWN_TABLES = """
SELECT relname FROM pg_class
WHERE oid = 'events_event'::regclass
  AND pg_stat_get_live_tuples(oid) > 2 * greatest(reltuples, 0) + %s
"""
ANALYZE_AFTER_ROWS = 1_000  # a table is analysed again once it holds twice what the planner knows, plus this


def refresh_statistics_if_grown() -> None:
    """ANALYZE the events table when it has outgrown the planner's statistics.

    A first load into an empty catalogue outgrows them within a page, a minute before autovacuum's next round:
    the planner, still counting a few dozen rows, read 73,000 canonical events for each event of a page in the
    duplicate probe. In a fresh database 100,000 events went in at 593 a second, against 13,000 once analysed
    (docs/benchmarks.md). Each ANALYZE reads the planning columns of at most 30,000 sampled rows (about 50 ms at
    100,000 events); a table that grows from a page to a million events is analysed about ten times."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(_GROWN_TABLES, [ANALYZE_AFTER_ROWS])
        for (table,) in cursor.fetchall():
            columns = sql.SQL(", ").join(map(sql.Identifier, _PLANNING_COLUMNS[table]))
            cursor.execute(sql.SQL("ANALYZE {} ({})").format(sql.Identifier(table), columns))


RowOf = Callable[[int], PageRow]


def write_page(*, source_id: int, keys: Sequence[tuple[str, str]], row_of: RowOf, now: datetime) -> Written:
    """Stores a page of a source's items, given as (provider id, content hash) keys, one per provider id, in page
    order: new ones created, changed ones updated, the rest left. `row_of(n)` gives the nth item's row, asked
    for only when the item is to be written (an unchanged re-sync builds none)."""
    if not keys:
        return Written([], [], 0)
    if connection.vendor == "postgresql":
        return _write_page_postgresql(source_id, keys, row_of, now)
    return _write_page_orm(source_id, keys, row_of, now)


# --- PostgreSQL ------------------------------------------------------------------------------------------

# The new or changed items of a page, with the event each one is stored as (drawn from the sequence when new).
# Each item is looked up through the (source, provider id) unique index: LIMIT keeps the planner from hashing the
# source's whole table instead, which it prefers for a thousand items and which grows with the source.
_TO_WRITE = """
SELECT page.position, stored.id IS NULL,
       COALESCE(stored.id, nextval((SELECT pg_get_serial_sequence('events_event', 'id')::regclass)))
FROM json_array_elements(%s::json) WITH ORDINALITY AS page(item, position)
LEFT JOIN LATERAL (
    SELECT id, content_hash FROM events_event
    WHERE source_id = %s AND provider_id = page.item->>0 LIMIT 1
) stored ON true
WHERE stored.id IS NULL OR stored.content_hash <> page.item->>1
ORDER BY page.position
"""
_STAGE_COLUMNS = (
    "position", "provider_id", "content_hash", "event_id", "venue_key", "venue_name", "venue_address",
    "venue_lat", "venue_lon", "venue_timezone", *EVENT_COLUMNS,
)  # fmt: skip
# Temporary: one per connection, private to it, never logged. Emptied before each page.
_STAGE = """
CREATE TEMPORARY TABLE IF NOT EXISTS events_ingest_stage (
    position integer, provider_id text, content_hash text, event_id bigint, venue_key text,
    venue_name text, venue_address text, venue_lat double precision, venue_lon double precision,
    venue_timezone text, title text, description text, start_utc timestamptz, end_utc timestamptz, timezone text,
    all_day boolean, time_tba boolean, category text, tags jsonb, price_min numeric, price_max numeric,
    currency text, is_free boolean, url text, image_url text, status text
);
TRUNCATE events_ingest_stage;
"""
_EVENT_SET = ", ".join(
    f"{column} = EXCLUDED.{column}" for column in (*EVENT_COLUMNS, "venue_id", "lat", "lon", "content_hash")
)
# Venues first (a page naming one venue twice keeps its last details), then events, by their source item.
# A venue or event is rewritten only when something differs, so a re-sync leaves unchanged rows alone.
_UPSERT = f"""
INSERT INTO events_venue (key, name, address, lat, lon, timezone)
SELECT latest.* FROM (
    SELECT DISTINCT ON (venue_key) venue_key, venue_name, venue_address, venue_lat, venue_lon, venue_timezone
    FROM events_ingest_stage WHERE venue_key IS NOT NULL ORDER BY venue_key, position DESC
) latest
LEFT JOIN events_venue stored ON stored.key = latest.venue_key
-- Only new or changed venues reach the upsert: ON CONFLICT would lock every unchanged one it meets.
WHERE stored.id IS NULL OR (stored.name, stored.address, stored.lat, stored.lon, stored.timezone)
    IS DISTINCT FROM
    (latest.venue_name, latest.venue_address, latest.venue_lat, latest.venue_lon, latest.venue_timezone)
ON CONFLICT (key) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address, lat = EXCLUDED.lat,
    lon = EXCLUDED.lon, timezone = EXCLUDED.timezone
WHERE (events_venue.name, events_venue.address, events_venue.lat, events_venue.lon, events_venue.timezone)
    IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.address, EXCLUDED.lat, EXCLUDED.lon, EXCLUDED.timezone);
INSERT INTO events_event (id, source_id, provider_id, content_hash, {", ".join(EVENT_COLUMNS)}, venue_id, lat, lon,
    created_at, updated_at)
SELECT stage.event_id, {{source_id}}, stage.provider_id, stage.content_hash,
    {", ".join(f"stage.{c}" for c in EVENT_COLUMNS)}, venue.id, stage.venue_lat, stage.venue_lon, {{now}}, {{now}}
FROM events_ingest_stage stage
LEFT JOIN LATERAL (SELECT id FROM events_venue WHERE key = stage.venue_key LIMIT 1) venue ON true
ORDER BY stage.event_id
ON CONFLICT (source_id, provider_id) DO UPDATE SET {_EVENT_SET}, updated_at = EXCLUDED.updated_at;
"""  # noqa: S608 - column names only; now and source_id go in as psycopg literals


def _write_page_postgresql(source_id: int, keys: Sequence[tuple[str, str]], row_of: RowOf, now: datetime) -> Written:
    with connection.cursor() as cursor:
        # The keys as one JSON text: json.dumps is C, where psycopg would quote two arrays' items in Python.
        cursor.execute(_TO_WRITE, [json.dumps(keys), source_id])
        to_write = cursor.fetchall()
        if not to_write:
            return Written([], [], len(keys))
        cursor.execute(_STAGE)
        no_venue = (None,) * len(VENUE_COLUMNS)
        tags = EVENT_COLUMNS.index("tags")
        with cursor.cursor.copy(f"COPY events_ingest_stage ({', '.join(_STAGE_COLUMNS)}) FROM STDIN") as copy:
            for position, _, event_id in to_write:
                row = row_of(position - 1)  # WITH ORDINALITY counts from 1
                event = list(row.event)
                event[tags] = json.dumps(event[tags]) if event[tags] else "[]"
                copy.write_row((position, row.provider_id, row.content_hash, event_id,
                                *(row.venue or no_venue), *event))  # fmt: skip
        # Statements with parameters go one round trip each; as literals, the two upserts share one.
        upsert = sql.SQL(_UPSERT).format(now=sql.Literal(now), source_id=sql.Literal(source_id))
        cursor.execute(upsert.as_string(cursor.cursor))
    created = [event_id for _, is_new, event_id in to_write if is_new]
    updated = [event_id for _, is_new, event_id in to_write if not is_new]
    return Written(created, updated, len(keys) - len(to_write))


# --- Elsewhere (SQLite) ----------------------------------------------------------------------------------


def _venue_ids(rows: Sequence[PageRow]) -> dict[str, int]:
    """Venue ids by key, creating the new ones and refreshing the ones whose details changed."""
    wanted = {row.venue[0]: row.venue for row in rows if row.venue is not None}
    if not wanted:
        return {}
    fields = VENUE_COLUMNS[1:]
    stored = {row[0]: row for row in Venue.objects.filter(key__in=wanted).values_list("key", "id", *fields)}
    missing = [Venue(**dict(zip(VENUE_COLUMNS, v, strict=True))) for key, v in wanted.items() if key not in stored]
    if missing:
        Venue.objects.bulk_create(missing, batch_size=BATCH_SIZE, ignore_conflicts=True)
        stored.update(
            (row[0], row)
            for row in Venue.objects.filter(key__in=[v.key for v in missing]).values_list("key", "id", *fields)
        )
    changed = [
        Venue(id=row[1], **dict(zip(VENUE_COLUMNS, wanted[key], strict=True)))
        for key, row in stored.items()
        if row[2:] != wanted[key][1:]
    ]
    if changed:
        Venue.objects.bulk_update(changed, fields, batch_size=BATCH_SIZE)
    return {key: row[1] for key, row in stored.items()}


def _event(row: PageRow, venue_ids: dict[str, int], **extra: Any) -> Event:
    venue = row.venue
    return Event(
        **dict(zip(EVENT_COLUMNS, row.event, strict=True)),
        venue_id=venue_ids[venue[0]] if venue else None,
        lat=venue[3] if venue else None,
        lon=venue[4] if venue else None,
        content_hash=row.content_hash,
        **extra,
    )


def _write_page_orm(source_id: int, keys: Sequence[tuple[str, str]], row_of: RowOf, now: datetime) -> Written:
    stored = {
        pid: (event_id, content_hash)
        for pid, event_id, content_hash in Event.objects.filter(
            source_id=source_id, provider_id__in=[key[0] for key in keys]
        ).values_list("provider_id", "id", "content_hash")
    }
    new = [row_of(n) for n, (pid, _) in enumerate(keys) if pid not in stored]
    changed = [row_of(n) for n, (pid, digest) in enumerate(keys) if pid in stored and stored[pid][1] != digest]
    if not new and not changed:
        return Written([], [], len(keys))
    venue_ids = _venue_ids([*new, *changed])
    created = Event.objects.bulk_create(
        [_event(row, venue_ids, source_id=source_id, provider_id=row.provider_id) for row in new],
        batch_size=BATCH_SIZE,
    )
    if changed:
        events = [_event(row, venue_ids, id=stored[row.provider_id][0], updated_at=now) for row in changed]
        Event.objects.bulk_update(
            events, [*EVENT_COLUMNS, "venue_id", "lat", "lon", "content_hash", "updated_at"], batch_size=BATCH_SIZE
        )
    return Written(
        [event.pk for event in created],
        [stored[row.provider_id][0] for row in changed],
        len(keys) - len(new) - len(changed),
    )


# --- Candidate duplicates --------------------------------------------------------------------------------

CandidateRow = tuple[int, int | None, str, datetime, float | None, float | None, int | None]  # as dedupe.Candidate
# Two listings can only be one event within 0.3 km (dedupe.NEAR_KM), hence within this many degrees of latitude.
LATITUDE_MARGIN = 0.003
NEIGHBOURS_LIMIT = 10_000  # events starting within minutes of one another at one spot: far more than any city has
# Each given canonical event against the canonical events of another source starting within the tolerance at the
# same venue or within the margin of latitude: a superset of the pairs dedupe.is_duplicate accepts, found through
# the start indexes rather than by reading the whole time window.
_CANDIDATE_PAIRS = """
SELECT event.id, event.source_id, event.title, event.start_utc, event.lat, event.lon, event.venue_id,
       near.id, near.source_id, near.title, near.start_utc, near.lat, near.lon, near.venue_id
FROM events_event event
CROSS JOIN LATERAL (
    -- In start order, so that the planner walks the start index even before the statistics catch up with a
    -- first load (a sequential scan for each event would make a page quadratic).
    SELECT near.id, near.source_id, near.title, near.start_utc, near.lat, near.lon, near.venue_id
    FROM events_event near
    WHERE near.start_utc BETWEEN event.start_utc - %(tolerance)s AND event.start_utc + %(tolerance)s
      AND near.id <> event.id AND near.canonical_id IS NULL
      AND near.source_id IS DISTINCT FROM event.source_id
      AND (near.venue_id = event.venue_id OR near.lat BETWEEN event.lat - %(margin)s AND event.lat + %(margin)s)
    ORDER BY near.start_utc
    LIMIT %(limit)s
) near
WHERE event.id = ANY(%(ids)s) AND event.canonical_id IS NULL
"""


def duplicate_candidates(*, event_ids: Sequence[int], tolerance: timedelta) -> list[tuple[CandidateRow, CandidateRow]]:
    """Pairs (given event, other event) that may be one real-world event, for dedupe to decide."""
    if not event_ids:
        return []
    if connection.vendor == "postgresql":
        return _candidate_pairs_postgresql(event_ids, tolerance)
    return _candidate_pairs_orm(event_ids, tolerance)


def _candidate_pairs_postgresql(
    event_ids: Sequence[int], tolerance: timedelta
) -> list[tuple[CandidateRow, CandidateRow]]:
    params: dict[str, Any] = {
        "ids": list(event_ids),
        "tolerance": tolerance,
        "margin": LATITUDE_MARGIN,
        "limit": NEIGHBOURS_LIMIT,
    }
    with connection.cursor() as cursor:
        cursor.execute(_CANDIDATE_PAIRS, params)
        return [(tuple(row[:7]), tuple(row[7:])) for row in cursor.fetchall()]


def _candidate_pairs_orm(event_ids: Sequence[int], tolerance: timedelta) -> list[tuple[CandidateRow, CandidateRow]]:
    """The same pairs read the simple way: the given events against every canonical event in their time span."""
    fields = ("id", "source_id", "title", "start_utc", "lat", "lon", "venue_id")
    canonical = Event.objects.filter(canonical__isnull=True)
    touched = list(canonical.filter(pk__in=event_ids).values_list(*fields))
    if not touched:
        return []
    pool = list(
        canonical.filter(
            start_utc__gte=min(row[3] for row in touched) - tolerance,
            start_utc__lte=max(row[3] for row in touched) + tolerance,
        ).values_list(*fields)
    )
    return [
        (event, other)
        for event in touched
        for other in pool
        if other[0] != event[0] and other[1] != event[1] and abs(other[3] - event[3]) <= tolerance
    ]
