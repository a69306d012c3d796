"""Inserting many catalogue rows at once. On PostgreSQL: COPY, with event ids drawn from the sequence first
(so the caller knows them without RETURNING). Elsewhere (the SQLite of `make run`): the ORM's bulk_create.

Callers pass plain tuples in the column order below; this module knows nothing about providers.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection
from psycopg.types.json import Jsonb

from apps.events.models import Event, SourceRecord

EVENT_COLUMNS = (
    "title", "description", "start_utc", "end_utc", "timezone", "all_day", "time_tba", "category", "tags",
    "price_min", "price_max", "currency", "is_free", "url", "image_url", "status", "venue_id", "lat", "lon",
)  # fmt: skip
RECORD_COLUMNS = ("source_id", "provider_id", "event_id", "content_hash", "url")


def stored_records(*, source_id: int, provider_ids: Sequence[str]) -> list[tuple[int, str, int, str]]:
    """(record id, provider id, event id, content hash) of the source's records among these provider ids."""
    if connection.vendor != "postgresql":
        return list(
            SourceRecord.objects.filter(source_id=source_id, provider_id__in=provider_ids).values_list(
                "id", "provider_id", "event_id", "content_hash"
            )
        )
    with connection.cursor() as cursor:
        # One array parameter rather than a thousand: the IN list's binding costs more than the lookup.
        cursor.execute(
            "SELECT id, provider_id, event_id, content_hash FROM events_sourcerecord "
            "WHERE source_id = %s AND provider_id = ANY(%s)",
            [source_id, list(provider_ids)],
        )
        return [tuple(row) for row in cursor.fetchall()]


def relax_commit_durability() -> None:
    """On PostgreSQL, this transaction's commit does not wait for its WAL flush. A crash may lose the last
    moments of a sync, never corrupt it: the checkpoint commits with its page, so the next run redoes it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def insert_events(rows: Sequence[tuple[Any, ...]], *, now: datetime) -> list[int]:
    """Inserts events (tuples in EVENT_COLUMNS order) and returns their ids, in order."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        events = [Event(**dict(zip(EVENT_COLUMNS, row, strict=True))) for row in rows]
        return [event.pk for event in Event.objects.bulk_create(events, batch_size=1000)]
    tags = EVENT_COLUMNS.index("tags")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('events_event', 'id')) FROM generate_series(1, %s)", [len(rows)]
        )
        ids = [row[0] for row in cursor.fetchall()]
        columns = ", ".join(("id", *EVENT_COLUMNS, "created_at", "updated_at"))
        with cursor.cursor.copy(f"COPY events_event ({columns}) FROM STDIN") as copy:
            for event_id, row in zip(ids, rows, strict=True):
                values = list(row)
                values[tags] = Jsonb(values[tags])
                copy.write_row((event_id, *values, now, now))
    return ids


def insert_records(rows: Sequence[tuple[Any, ...]], *, now: datetime) -> None:
    """Inserts source records (tuples in RECORD_COLUMNS order)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        SourceRecord.objects.bulk_create(
            [SourceRecord(**dict(zip(RECORD_COLUMNS, row, strict=True))) for row in rows], batch_size=1000
        )
        return
    columns = ", ".join((*RECORD_COLUMNS, "first_seen_at", "changed_at"))
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY events_sourcerecord ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row((*row, now, now))
