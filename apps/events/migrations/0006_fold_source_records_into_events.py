# Each event carries the key of the source item it was stored from (source, provider id) and that item's content
# hash, which the separate events_sourcerecord rows held: one row per item instead of two (docs/benchmarks.md).
#
# Expand step (docs/migrations.md): the previous release keeps writing events_sourcerecord while it still runs, so
# the table stays; Django forgets it here and a later release drops it. Its rows move onto their events source by
# source, at the start of each source's next sync, in batches (services.source_legacy_records_adopt).

import django.db.models.deletion
from django.db import migrations, models

_FOREIGN_KEY = "events_event_source_id_fk_events_source_id"
_UNIQUE = "event_unique_source_item"

# PostgreSQL, outside a transaction, each statement safe to run again: the foreign key is added NOT VALID and
# validated afterwards (a scan that does not hold up writes), the unique index is built concurrently and then
# becomes the constraint. A concurrent build that was interrupted leaves an invalid index: it is dropped first.
_POSTGRESQL_FORWARDS = [
    "ALTER TABLE events_event ADD COLUMN IF NOT EXISTS source_id bigint NULL",
    f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = '{_FOREIGN_KEY}') THEN
            ALTER TABLE events_event ADD CONSTRAINT {_FOREIGN_KEY} FOREIGN KEY (source_id)
                REFERENCES events_source (id) DEFERRABLE INITIALLY DEFERRED NOT VALID;
        END IF;
    END $$""",
    f"ALTER TABLE events_event VALIDATE CONSTRAINT {_FOREIGN_KEY}",
    f"""DO $$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass('{_UNIQUE}') AND NOT indisvalid) THEN
            DROP INDEX {_UNIQUE};
        END IF;
    END $$""",
    f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {_UNIQUE} ON events_event (source_id, provider_id)",
    f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = '{_UNIQUE}') THEN
            ALTER TABLE events_event ADD CONSTRAINT {_UNIQUE} UNIQUE USING INDEX {_UNIQUE};
        END IF;
    END $$""",
    # The legacy table's foreign keys go: Django no longer knows the table, so its flush (TRUNCATE of the tables
    # it knows) and its deletes would trip over them. The previous release deletes records through its ORM.
    """DO $$ DECLARE name text; BEGIN
        FOR name IN SELECT conname FROM pg_constraint
                    WHERE conrelid = 'events_sourcerecord'::regclass AND contype = 'f' LOOP
            EXECUTE format('ALTER TABLE events_sourcerecord DROP CONSTRAINT %I', name);
        END LOOP;
    END $$""",
]
# Back to 0005 (before the previous release runs again): the events' source items return to the legacy table first.
_RESTORE_LEGACY_ROWS = """
INSERT INTO events_sourcerecord (source_id, provider_id, event_id, content_hash, url, first_seen_at, changed_at)
SELECT source_id, provider_id, id, content_hash, url, created_at, updated_at FROM events_event
WHERE source_id IS NOT NULL
ON CONFLICT (source_id, provider_id) DO NOTHING
"""
_POSTGRESQL_BACKWARDS = [
    "DELETE FROM events_sourcerecord legacy WHERE NOT EXISTS (SELECT 1 FROM events_event WHERE id = legacy.event_id)"
    " OR NOT EXISTS (SELECT 1 FROM events_source WHERE id = legacy.source_id)",
    _RESTORE_LEGACY_ROWS,
    "ALTER TABLE events_sourcerecord ADD CONSTRAINT events_sourcerecord_event_id_fk_events_event_id FOREIGN KEY"
    " (event_id) REFERENCES events_event (id) DEFERRABLE INITIALLY DEFERRED",
    "ALTER TABLE events_sourcerecord ADD CONSTRAINT events_sourcerecord_source_id_fk_events_source_id FOREIGN KEY"
    " (source_id) REFERENCES events_source (id) DEFERRABLE INITIALLY DEFERRED",
    f"ALTER TABLE events_event DROP CONSTRAINT IF EXISTS {_UNIQUE}",
    "ALTER TABLE events_event DROP COLUMN IF EXISTS source_id",
]
# SQLite (make run's embedded default): the same column, foreign key and unique index, the plain way.
_SQLITE_FORWARDS = [
    "ALTER TABLE events_event ADD COLUMN source_id bigint NULL "
    "REFERENCES events_source (id) DEFERRABLE INITIALLY DEFERRED",
    f"CREATE UNIQUE INDEX {_UNIQUE} ON events_event (source_id, provider_id)",
]
_SQLITE_BACKWARDS = [_RESTORE_LEGACY_ROWS, f"DROP INDEX {_UNIQUE}", "ALTER TABLE events_event DROP COLUMN source_id"]


def add_source_key(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    for statement in _POSTGRESQL_FORWARDS if postgresql else _SQLITE_FORWARDS:
        schema_editor.execute(statement, params=None)  # no placeholders: % is literal


def remove_source_key(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    for statement in _POSTGRESQL_BACKWARDS if postgresql else _SQLITE_BACKWARDS:
        schema_editor.execute(statement, params=None)  # no placeholders: % is literal


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("events", "0005_drop_fk_indexes_covered_by_others"),
    ]

    operations = [
        # With a database default, so the previous release's INSERTs (which do not name them) still work.
        migrations.AddField(
            model_name="event",
            name="content_hash",
            field=models.CharField(blank=True, db_default="", default="", max_length=64),
        ),
        migrations.AddField(
            model_name="event",
            name="provider_id",
            field=models.CharField(blank=True, db_default="", default="", max_length=300),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="event",
                    name="source",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="events",
                        to="events.source",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="event",
                    constraint=models.UniqueConstraint(fields=("source", "provider_id"), name=_UNIQUE),
                ),
            ],
            database_operations=[migrations.RunPython(add_source_key, remove_source_key, atomic=False)],
        ),
        # Forgotten by Django, kept in the database for the previous release (see above).
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="SourceRecord")]),
    ]
