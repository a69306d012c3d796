"""Where tracked events are written: one interface, so the store can change (ClickHouse, Firehose to S3 behind the
same call; docs/analytics.md) without touching the API, the pages or the signals.

A sink takes a batch of rows and answers the client ids it stored: ids already there are skipped, never an
error, so a batch sent twice is stored once. On PostgreSQL the batch goes through COPY into a session-local staging
table and one INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING into the partitioned table: one round trip for
the data, the dedupe done by the unique key, and the answer exact even under concurrent sends. Elsewhere (SQLite
under `make run`) the ORM's bulk insert does the same more slowly.
"""

import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from django.db import IntegrityError, connection, transaction
from psycopg.types.json import Jsonb

from apps.analytics import partitions
from apps.analytics.models import TrackedEvent

COLUMNS = (
    "client_id", "type", "at", "client_at", "received_at", "user_id", "anonymous_id", "object_type", "object_id",
    "context",
)  # fmt: skip
STAGE = "analytics_trackedevent_stage"
CREATE_STAGE = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} (
    client_id uuid, type varchar(32), at timestamptz, client_at timestamptz, received_at timestamptz,
    user_id bigint, anonymous_id varchar(64), object_type varchar(16), object_id varchar(64), context jsonb
) ON COMMIT DELETE ROWS
"""
_LIST = ", ".join(COLUMNS)
# Built from the constants above, no input.
MOVE = (
    f"INSERT INTO {partitions.TABLE} ({_LIST}) SELECT {_LIST} FROM {STAGE} ON CONFLICT DO NOTHING RETURNING client_id"  # noqa: S608
)


class Sink(Protocol):
    def write(self, rows: Sequence[TrackedEvent]) -> set[uuid.UUID]:
        """Stores the rows whose client id is new; returns the client ids stored."""
        ...


SMALL_BATCH = 100  # up to this many rows (a served list's impressions), one INSERT ... VALUES is one round trip


def _insert_sql(count: int) -> str:
    """INSERT ... VALUES with `count` rows of placeholders: built from the constants above, the values bound."""
    row = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
    values = ", ".join([row] * count)
    return (
        f"INSERT INTO {partitions.TABLE} ({_LIST}) VALUES {values} "  # noqa: S608 - constants only
        "ON CONFLICT DO NOTHING RETURNING client_id"
    )


def _values(row: TrackedEvent) -> tuple[Any, ...]:
    return (
        row.client_id, row.type, row.at, row.client_at, row.received_at, row.user_id, row.anonymous_id,
        row.object_type, row.object_id, Jsonb(row.context),
    )  # fmt: skip


class CopySink:
    """PostgreSQL: COPY into the staging table, then one INSERT ... ON CONFLICT DO NOTHING RETURNING (a small batch:
    that INSERT with the rows as VALUES)."""

    def _write(self, rows: Sequence[TrackedEvent]) -> set[uuid.UUID]:
        if len(rows) <= SMALL_BATCH:
            return self._insert(rows)
        with connection.cursor() as cursor:
            cursor.execute(CREATE_STAGE)
            cursor.execute(f"TRUNCATE {STAGE}")
            with cursor.cursor.copy(f"COPY {STAGE} ({_LIST}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(_values(row))
            cursor.execute(MOVE)
            return {client_id for (client_id,) in cursor.fetchall()}

    def _insert(self, rows: Sequence[TrackedEvent]) -> set[uuid.UUID]:
        with connection.cursor() as cursor:
            cursor.execute(_insert_sql(len(rows)), [value for row in rows for value in _values(row)])
            return {client_id for (client_id,) in cursor.fetchall()}

    def write(self, rows: Sequence[TrackedEvent]) -> set[uuid.UUID]:
        if not rows:
            return set()
        # The caller's transaction when there is one (no savepoint of its own: a round trip each way); the inner
        # savepoint is the one a missing partition needs.
        with transaction.atomic(savepoint=False):
            try:
                with transaction.atomic():
                    return self._write(rows)
            except IntegrityError as exc:
                # "no partition of relation ... found for row": a month beat has not made yet; make it and go again.
                if "no partition" not in str(exc):
                    raise
            partitions.ensure(row.at for row in rows)
            return self._write(rows)


class OrmSink:
    """Any other database: a bulk INSERT ignoring conflicts, then the rows stamped with this batch's time."""

    @transaction.atomic
    def write(self, rows: Sequence[TrackedEvent]) -> set[uuid.UUID]:
        if not rows:
            return set()
        TrackedEvent.objects.bulk_create(rows, ignore_conflicts=True)
        # A row already there was stamped by the send that stored it first; one batch shares one received_at.
        stamps = {row.received_at for row in rows}
        stored = TrackedEvent.objects.filter(client_id__in=[row.client_id for row in rows], received_at__in=stamps)
        return set(stored.values_list("client_id", flat=True))


def default_sink() -> Sink:
    return CopySink() if partitions.is_partitioned() else OrmSink()
