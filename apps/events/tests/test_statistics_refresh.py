"""bulk.refresh_statistics_if_grown: a catalogue that has outgrown the planner's statistics is analysed once, at the
start of the next page, and not again until it doubles (a first load planned on empty-table statistics read every
canonical event for each event of a page)."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from apps.events import bulk, services
from apps.events.tests.factories import item, make_source

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _planner_knows_the_table_empty() -> Iterator[None]:
    # Autovacuum stays out of the way, so that every ANALYZE counted is the function's.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE events_event SET (autovacuum_enabled = false)")
        cursor.execute("ANALYZE events_event")
    yield
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE events_event RESET (autovacuum_enabled)")


START = datetime(2026, 12, 5, 19, 0, tzinfo=UTC)


def statistics() -> tuple[float, int]:
    """(the planner's row count, how often it was analysed) of events_event, with this backend's counts flushed."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT 1")  # a transaction ended: the flush happened
        cursor.execute(
            "SELECT class.reltuples, stats.analyze_count FROM pg_class class "
            "JOIN pg_stat_user_tables stats ON stats.relid = class.oid WHERE class.relname = 'events_event'"
        )
        reltuples, analysed = cursor.fetchone()
    return reltuples, analysed


def test_a_grown_catalogue_is_analysed_once() -> None:
    source = make_source()
    items = [item(f"e{n}", start=START + timedelta(minutes=n)) for n in range(bulk.ANALYZE_AFTER_ROWS + 200)]
    services.events_upsert(source=source, items=items)
    _, analysed_before = statistics()

    bulk.refresh_statistics_if_grown()
    reltuples, analysed = statistics()
    assert reltuples == len(items)
    assert analysed == analysed_before + 1

    bulk.refresh_statistics_if_grown()  # nothing new since
    assert statistics()[1] == analysed


def test_a_small_catalogue_is_left_to_autovacuum() -> None:
    services.events_upsert(source=make_source(), items=[item(f"e{n}") for n in range(50)])
    _, analysed_before = statistics()
    bulk.refresh_statistics_if_grown()
    assert statistics()[1] == analysed_before
