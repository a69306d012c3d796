"""The page writer under the upsert (apps/events/bulk.py): what the COPY path stores, that the ORM path (SQLite's,
run here on PostgreSQL) stores the same, and that duplicates are found the same both ways."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.events import bulk, dedupe, services
from apps.events.models import Event, Venue
from apps.events.tests.factories import item, make_source, venue

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 5, 19, 0, tzinfo=UTC)


def _stored(source_name: str) -> list[tuple[Any, ...]]:
    """The source's events as the catalogue holds them, by provider id."""
    return sorted(
        Event.objects.filter(source__name=source_name).values_list(
            "provider_id", "content_hash", *bulk.EVENT_COLUMNS, "venue__key", "venue__name", "lat", "lon"
        )
    )


def _write(source: Any, items: list[Any], *, orm: bool = False) -> bulk.Written:
    """One page through the COPY path (this database's), or through the ORM path that SQLite takes."""
    keys = [(i.provider_id, i.content_hash()) for i in items]

    def row_of(n: int) -> bulk.PageRow:
        return services._page_row(items[n], keys[n][1])

    if orm:
        return bulk._write_page_orm(source.pk, keys, row_of, timezone.now())
    return bulk.write_page(source_id=source.pk, keys=keys, row_of=row_of, now=timezone.now())


def _items() -> list[Any]:
    return [
        item("a", tags=("Jazz", "Live")),
        item("b", venue=None),
        item("c", venue=venue("v:2", "Lido", lat=52.4993, lon=13.4449), status="cancelled"),
    ]


def test_the_copy_path_stores_every_column_and_the_orm_path_stores_the_same():
    copy_source, orm_source = make_source("copy"), make_source("orm")
    written = _write(copy_source, _items())
    by_orm = _write(orm_source, _items(), orm=True)

    assert (len(written.created_ids), len(by_orm.created_ids)) == (3, 3)
    assert _stored("copy") == _stored("orm")
    assert Event.objects.get(provider_id="a", source=copy_source).tags == ["Jazz", "Live"]
    no_venue = Event.objects.get(provider_id="b", source=copy_source)
    assert (no_venue.venue_id, no_venue.lat, no_venue.lon) == (None, None, None)


def test_the_orm_path_skips_unchanged_items_and_updates_changed_ones():
    source = make_source()
    _write(source, _items(), orm=True)

    changed = [item("a", tags=("Jazz", "Live")), item("b", venue=None, title="Renamed"), _items()[2]]
    again = _write(source, changed, orm=True)

    assert (len(again.created_ids), len(again.updated_ids), again.unchanged) == (0, 1, 2)
    renamed = Event.objects.get(provider_id="b")
    assert renamed.title == "Renamed"
    assert renamed.content_hash == changed[1].content_hash()


def test_a_venue_whose_details_changed_is_refreshed_and_a_page_naming_it_twice_keeps_the_last(clock):
    source = make_source()
    services.events_upsert(source=source, items=[item("a", venue=venue("v:1", "Old name"))])

    services.events_upsert(
        source=source,
        items=[item("a", venue=venue("v:1", "Middle name")), item("b", venue=venue("v:1", "New name", lat=52.53))],
    )

    stored = Venue.objects.get(key="v:1")
    assert (stored.name, stored.lat) == ("New name", pytest.approx(52.53))
    assert Venue.objects.count() == 1


def test_a_changed_event_keeps_its_id_creation_and_canonical_event(clock):
    one, two = make_source("one"), make_source("two")
    first = services.events_upsert(source=one, items=[item("x", title="Jazz Night")])
    second = services.events_upsert(source=two, items=[item("y", title="Jazz night")])
    services.events_merge_duplicates(event_ids=first.touched_event_ids + second.touched_event_ids)
    duplicate = Event.objects.get(pk=second.touched_event_ids[0])
    clock.shift(timedelta(hours=1))

    result = services.events_upsert(source=two, items=[item("y", title="Jazz night", status="postponed")])

    assert result.touched_event_ids == [duplicate.pk]
    changed = Event.objects.get(pk=duplicate.pk)
    assert (changed.status, changed.canonical_id, changed.created_at) == (
        "postponed",
        first.touched_event_ids[0],
        duplicate.created_at,
    )
    assert changed.updated_at > duplicate.updated_at


def _two_listings(**second: Any) -> list[int]:
    one, two = make_source("one"), make_source("two")
    a = services.events_upsert(source=one, items=[item("x", start=START, title="Radiohead Live", venue=venue("a"))])
    b = services.events_upsert(source=two, items=[item("y", title="Radiohead Live", **second)])
    return a.touched_event_ids + b.touched_event_ids


@pytest.mark.parametrize(
    "second",
    [
        # At the edges of what dedupe accepts: 15 minutes apart, 250 m apart at another venue.
        {"start": START + dedupe.START_TOLERANCE, "venue": venue("b", lat=52.5200 + 0.00225)},
        {"start": START - dedupe.START_TOLERANCE, "venue": venue("a", lat=52.60)},  # same venue id, far coordinates
    ],
)
def test_both_paths_find_the_pairs_at_the_edges_of_a_duplicate(second):
    event_ids = _two_listings(**second)

    pairs = bulk._candidate_pairs_postgresql(event_ids, dedupe.START_TOLERANCE)

    assert sorted(pairs) == sorted(bulk._candidate_pairs_orm(event_ids, dedupe.START_TOLERANCE))
    assert all(dedupe.is_duplicate(dedupe.Candidate(*a), dedupe.Candidate(*b)) for a, b in pairs)
    assert services.events_merge_duplicates(event_ids=event_ids) == 1


def test_listings_just_beyond_the_edges_are_not_paired():
    later = _two_listings(start=START + dedupe.START_TOLERANCE + timedelta(seconds=1), venue=venue("a"))
    assert bulk._candidate_pairs_postgresql(later, dedupe.START_TOLERANCE) == []
