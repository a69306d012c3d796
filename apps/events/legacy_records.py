"""The events_sourcerecord rows of the release before events carried their source item (migration 0006), moved
onto their events. Transitional: a later release drops the table with this module (docs/migrations.md).

That release's code runs beside this one during the deploy, so rows may still appear after the migration: each sync
moves its source's rows first (sync.sync_source), and so does deleting a source in the admin (on SQLite the rows'
foreign key would stop the deletion; on PostgreSQL the migration dropped it, and the rows would be left behind). A
row whose item another event already carries (the previous release stored the item again during the switch) is
dropped: its event keeps no source, and the duplicate finder merges it with the one that has.
"""

from django.db import connection, transaction

BATCH = 5_000  # rows moved per transaction: row locks held briefly, whatever the source's size

_LEGACY_TABLE = "events_sourcerecord"
# A batch is the source's rows up to a provider id, read in the order of the table's unique (source, provider id)
# index: each batch reads only its own rows, however many other sources' rows are left.
_BATCH_END = f"""
SELECT max(provider_id) FROM (
    SELECT provider_id FROM {_LEGACY_TABLE} WHERE source_id = %s ORDER BY provider_id LIMIT %s
) batch
"""  # noqa: S608 - a constant table name
# Plain SQL that PostgreSQL and SQLite (3.33 and later: UPDATE ... FROM) both run.
_ADOPT = f"""
UPDATE events_event SET source_id = legacy.source_id, provider_id = legacy.provider_id,
    content_hash = legacy.content_hash
FROM {_LEGACY_TABLE} legacy
WHERE legacy.source_id = %s AND legacy.provider_id <= %s AND events_event.id = legacy.event_id
  AND events_event.source_id IS NULL
  AND NOT EXISTS (
      SELECT 1 FROM events_event taken
      WHERE taken.source_id = legacy.source_id AND taken.provider_id = legacy.provider_id
  )
"""  # noqa: S608 - a constant table name
_DROP = f"DELETE FROM {_LEGACY_TABLE} WHERE source_id = %s AND provider_id <= %s"  # noqa: S608 - a constant table name


def adopt(*, source_id: int) -> int:
    """Moves the source's legacy rows onto their events, a batch per transaction; returns how many events took
    their source item. Safe to run again or to stop half-way: a moved row is gone, an adopted event is skipped."""
    adopted = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_BATCH_END, [source_id, BATCH])
            (end,) = cursor.fetchone()
            if end is None:
                return adopted
            cursor.execute(_ADOPT, [source_id, end])
            adopted += cursor.rowcount
            cursor.execute(_DROP, [source_id, end])
