"""The indexes our migrations leave behind: none that another index already holds, and one for every foreign key.

An index whose columns lead another btree index serves no read that the longer one does not, and every row written
pays for it (a foreign key gets one from Django unless it says db_index=False). A foreign key without an index makes
every delete of its target scan the referencing table."""

import pytest
from django.apps import apps
from django.db import connection

pytestmark = pytest.mark.django_db

# Our models' tables; not the many-to-many tables Django creates for them (users_user_groups and the like), whose
# indexes are Django's.
OUR_TABLES = tuple(
    model._meta.db_table
    for config in apps.get_app_configs()
    if config.name.startswith("apps.")
    for model in config.get_models()
    if model._meta.managed and not model._meta.proxy
)

# Plain btree indexes (no expression, no predicate) of our tables whose keys, operator classes included, lead another
# such index of the same table (a text_pattern_ops "_like" index beside a unique one is not covered by it). Keys and
# classes compare as the catalogue's space-separated lists, each with a trailing space so that "1" does not lead "12".
COVERED_INDEXES = """
WITH plain AS (
    SELECT i.indexrelid::regclass::text AS name, i.indrelid::regclass::text AS tbl, i.indisunique AS is_unique,
           i.indkey::text || ' ' AS keys, i.indclass::text || ' ' AS classes
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_am am ON am.oid = c.relam
    WHERE am.amname = 'btree' AND i.indpred IS NULL AND i.indexprs IS NULL
      AND i.indrelid::regclass::text = ANY(%s)
)
SELECT short.tbl, short.name, long.name
FROM plain short
JOIN plain long ON long.tbl = short.tbl AND long.name <> short.name
WHERE NOT short.is_unique
  AND starts_with(long.keys, short.keys)
  AND starts_with(long.classes, short.classes)
  AND (long.keys <> short.keys OR long.is_unique OR long.name < short.name)
ORDER BY 1, 2
"""

UNINDEXED_FOREIGN_KEYS = """
SELECT fk.conrelid::regclass::text, fk.conname
FROM pg_constraint fk
WHERE fk.contype = 'f' AND fk.conrelid::regclass::text = ANY(%s)
  AND NOT EXISTS (
      SELECT 1 FROM pg_index i
      WHERE i.indrelid = fk.conrelid
        AND starts_with(i.indkey::text || ' ', array_to_string(fk.conkey, ' ') || ' ')
  )
ORDER BY 1, 2
"""


def rows(sql: str) -> list[tuple[str, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(OUR_TABLES)])
        return cursor.fetchall()


def test_the_tables_under_test_are_ours() -> None:
    assert {"calendars_plan", "events_event", "groups_vote"} <= set(OUR_TABLES)
    assert not any(table.startswith(("auth_", "account_", "django_")) for table in OUR_TABLES)


def test_no_index_of_ours_is_held_by_another() -> None:
    assert rows(COVERED_INDEXES) == []


def test_every_foreign_key_of_ours_leads_an_index() -> None:
    assert rows(UNINDEXED_FOREIGN_KEYS) == []


def test_the_covered_index_query_finds_one_when_there_is_one() -> None:
    # Inside the test's transaction, rolled back after: an index on calendar_id alone, which five others lead with.
    with connection.cursor() as cursor:
        cursor.execute('CREATE INDEX wp_redundant_probe ON "calendars_plan" ("calendar_id")')
    assert ("calendars_plan", "wp_redundant_probe", "plan_calendar_series_end_idx") in rows(COVERED_INDEXES)


def test_the_foreign_key_query_finds_one_without_an_index() -> None:
    with connection.cursor() as cursor:
        cursor.execute('DROP INDEX "plan_event_idx"')
    assert ("calendars_plan", "calendars_plan_event_id_2ac9624b_fk_events_event_id") in rows(UNINDEXED_FOREIGN_KEYS)
