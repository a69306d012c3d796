"""A GiST index on each plan's span (its calendar, and [earliest start, latest end] of its series), so the window
queries (apps.calendars.window_slots.reaching) read the plans that reach a window rather than every plan that
starts before it.

PostgreSQL only: btree_gist (a trusted extension, which the database owner may create) puts the calendar id in
the same GiST index, built concurrently (docs/migrations.md). Elsewhere (SQLite in local development, which has
no GiST) the window test runs on the btree indexes of the two bounds. The index is not in the model's Meta: it is
on an expression, which window_slots.SPAN_SQL states in the query; a test checks that the query uses it.
"""

from django.db import migrations

INDEX = "plan_calendar_series_span_gist"
# window_slots.SPAN_SQL as it was when this migration was written (a migration does not import app code).
SPAN_SQL = (
    "tstzrange(COALESCE(series_start_utc, '-infinity'::timestamptz), "
    "GREATEST(COALESCE(series_start_utc, '-infinity'::timestamptz), "
    "COALESCE(series_end_utc, 'infinity'::timestamptz)), "
    "'[]')"
)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON calendars_plan USING gist (calendar_id, {SPAN_SQL})"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("calendars", "0003_plan_series_start_utc")]

    operations = [migrations.RunPython(create_index, drop_index)]
