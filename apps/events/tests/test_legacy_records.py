"""The previous release's events_sourcerecord rows (migration 0006 keeps the table for it) move onto their events:
at the start of a source's sync, in batches, and before a source is deleted. Nothing is stored twice."""

from typing import Any

import pytest
from django.db import connection

from apps.events import legacy_records, services, sync
from apps.events.models import Event, Source
from apps.events.sources.base import Page
from apps.events.tests.factories import item, make_source
from apps.events.tests.test_sync import ScriptedConnector

pytestmark = pytest.mark.django_db


def _legacy_rows() -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT source_id, provider_id, event_id FROM events_sourcerecord ORDER BY provider_id")
        return cursor.fetchall()


def _stored_by_previous_release(source: Source, items: list[Any]) -> dict[str, int]:
    """What the previous release leaves: events that do not know their source item, and a legacy row for each.
    Returns the events' ids by provider id."""
    services.events_upsert(source=source, items=items)
    events = list(Event.objects.filter(source=source).values_list("pk", "provider_id", "content_hash"))
    with connection.cursor() as cursor:
        for event_id, provider_id, content_hash in events:
            cursor.execute(
                "INSERT INTO events_sourcerecord (source_id, provider_id, event_id, content_hash, url, first_seen_at,"
                " changed_at) VALUES (%s, %s, %s, %s, '', now(), now())",
                [source.pk, provider_id, event_id, content_hash],
            )
    Event.objects.filter(pk__in=[e[0] for e in events]).update(source=None, provider_id="", content_hash="")
    return {provider_id: event_id for event_id, provider_id, _ in events}


def _sync(source: Source, items: list[Any]) -> Any:
    return sync.sync_source(source_id=source.pk, connector=ScriptedConnector(source, [Page(items=items)]))


def test_a_sync_finds_the_previous_releases_items_and_stores_nothing_twice(monkeypatch):
    monkeypatch.setattr(legacy_records, "BATCH", 2)  # three batches for five rows
    source, other = make_source("one"), make_source("two")
    items = [item(f"e{n}", title=f"Concert {n}") for n in range(5)]
    ids = _stored_by_previous_release(source, items)
    other_ids = _stored_by_previous_release(other, [item("e0")])

    run = _sync(source, [*items[:4], item("e4", title="Renamed")])

    assert (run.created, run.updated, run.unchanged) == (0, 1, 4)
    assert Event.objects.count() == 6
    stored = {e.provider_id: e for e in Event.objects.filter(source=source)}
    assert {pid: e.pk for pid, e in stored.items()} == ids
    assert stored["e0"].content_hash == items[0].content_hash()
    assert stored["e4"].title == "Renamed"
    # Only the synced source's rows moved; the other source's wait for its own sync.
    assert _legacy_rows() == [(other.pk, "e0", other_ids["e0"])]


def test_moving_the_rows_again_or_after_a_stop_half_way_changes_nothing(monkeypatch):
    monkeypatch.setattr(legacy_records, "BATCH", 1)
    source = make_source()
    ids = _stored_by_previous_release(source, [item("a"), item("b")])

    assert services.source_legacy_records_adopt(source_id=source.pk) == 2
    assert services.source_legacy_records_adopt(source_id=source.pk) == 0

    assert dict(Event.objects.filter(source=source).values_list("provider_id", "pk")) == ids
    assert _legacy_rows() == []


def test_an_item_the_previous_release_stored_again_during_the_switch_stays_one_listing():
    source = make_source()
    _sync(source, [item("a")])  # this release stored it
    kept = Event.objects.get(source=source, provider_id="a")
    # The previous release, still running, did not see it and stored it again with its own row.
    again = _stored_by_previous_release(make_source("scratch"), [item("a")])["a"]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE events_sourcerecord SET source_id = %s", [source.pk])

    run = _sync(source, [item("a")])

    assert (run.created, run.unchanged) == (0, 1)
    assert Event.objects.get(source=source, provider_id="a").pk == kept.pk
    assert Event.objects.get(pk=again).source_id is None  # a listing of no source, for the duplicate finder
    assert _legacy_rows() == []


def test_a_source_with_rows_of_the_previous_release_can_be_deleted_in_the_admin(staff_client):
    source = make_source()
    ids = _stored_by_previous_release(source, [item("a")])

    response = staff_client.post(f"/admin/events/source/{source.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    connection.check_constraints()  # the deferred foreign keys, as the commit would check them
    assert not Source.objects.filter(pk=source.pk).exists()
    assert Event.objects.get(pk=ids["a"]).source_id is None  # the event stays, as it did before
    assert _legacy_rows() == []
