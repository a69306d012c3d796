"""Migration 0006 (each event carries its source item) on PostgreSQL, as a deploy meets it: in a database of its own,
through `manage.py migrate` in fresh processes, with rows written the way the previous release writes them.

The previous release keeps running beside the migrated schema (docs/migrations.md): its rows stay where it reads
them and its INSERTs, which name none of the new columns, still work. The new code then finds its items, and going
back to 0005 puts them where the previous release looks for them."""

import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from scripts.support.databases import database_url, drop_database, ensure_database

# The previous release's writes, as its code sends them: an event without the new columns, then its record.
OLD_EVENT = """
INSERT INTO events_event (title, description, start_utc, timezone, all_day, time_tba, category, tags, currency,
    is_free, url, image_url, status, created_at, updated_at)
VALUES (%s, '', '2026-12-12 19:00+00', 'Europe/Berlin', false, false, 'music', '[]', '', true, '', '', 'scheduled',
    now(), now())
RETURNING id
"""
OLD_RECORD = """
INSERT INTO events_sourcerecord (source_id, provider_id, event_id, content_hash, url, first_seen_at, changed_at)
VALUES (%s, %s, %s, %s, '', now(), now())
"""

LEGACY_FOREIGN_KEYS = (
    "SELECT count(*) FROM pg_constraint WHERE conrelid = 'events_sourcerecord'::regclass AND contype = 'f'"
)


@pytest.fixture
def scratch(clean_env) -> Iterator[tuple[str, dict[str, str]]]:
    url = database_url(connection.settings_dict, name=f"wp_migration_{uuid.uuid4().hex[:8]}")
    ensure_database(url)
    yield url, clean_env(DJANGO_SETTINGS_MODULE="planner.settings", DATABASE_URL=url, LOG_LEVEL="WARNING")
    drop_database(url)


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _rows(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as db:
        return db.execute(query, params).fetchall()


def _old_release_stores(url: str, source_id: int, provider_id: str) -> int:
    with psycopg.connect(url) as db:
        (event_id,) = db.execute(OLD_EVENT, [f"Concert {provider_id}"]).fetchone()
        db.execute(OLD_RECORD, [source_id, provider_id, event_id, f"hash-{provider_id}"])
    return event_id


def test_the_previous_release_keeps_working_and_the_new_code_finds_its_items(scratch):
    url, env = scratch
    _manage(env, "migrate", "--noinput", "events", "0005")
    (source_id,) = _rows(url, "INSERT INTO events_source (name, provider, options, enabled, interval_minutes, "
                              "created_at) VALUES ('feed', 'ics', '{}', true, 360, now()) RETURNING id")[0]  # fmt: skip
    before = _old_release_stores(url, source_id, "a")

    _manage(env, "migrate", "--noinput", "events", "0006")

    during = _old_release_stores(url, source_id, "b")  # the previous release, still running
    assert _rows(url, "SELECT source_id, provider_id, content_hash FROM events_event ORDER BY id") == [
        (None, "", ""),
        (None, "", ""),
    ]
    assert len(_rows(url, "SELECT id FROM events_sourcerecord")) == 2
    # Django no longer knows the legacy table: its foreign keys would stop a flush or a delete of what they name.
    assert _rows(url, LEGACY_FOREIGN_KEYS) == [(0,)]
    assert _rows(url, "SELECT convalidated FROM pg_constraint WHERE conname = %s", "event_unique_source_item") == [
        (True,)
    ]
    assert _rows(url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'event_unique_source_item'::regclass") == [
        (True,)
    ]

    adopted = _manage(env, "shell", "-c", f"from apps.events import services; "
                      f"print(services.source_legacy_records_adopt(source_id={source_id}))")  # fmt: skip
    assert adopted.splitlines()[-1] == "2"
    assert _rows(url, "SELECT id, source_id, provider_id, content_hash FROM events_event ORDER BY id") == [
        (before, source_id, "a", "hash-a"),
        (during, source_id, "b", "hash-b"),
    ]
    assert _rows(url, "SELECT id FROM events_sourcerecord") == []

    _manage(env, "migrate", "--noinput", "events", "0005")  # back: the items return where the previous release looks
    assert _rows(url, "SELECT source_id, provider_id, event_id, content_hash FROM events_sourcerecord ORDER BY 2") == [
        (source_id, "a", before, "hash-a"),
        (source_id, "b", during, "hash-b"),
    ]
    assert _rows(url, LEGACY_FOREIGN_KEYS) == [(2,)]
    columns = "SELECT column_name FROM information_schema.columns WHERE table_name = 'events_event'"
    assert not {"source_id", "provider_id", "content_hash"} & {name for (name,) in _rows(url, columns)}

    _manage(env, "migrate", "--noinput", "events")  # and forward again
    assert "[X] 0006_fold_source_records_into_events" in _manage(env, "showmigrations", "events")
