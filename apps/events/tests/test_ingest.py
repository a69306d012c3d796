"""The bulk upsert every sync goes through, and the merging of one event listed by two sources."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.events import services
from apps.events.models import Event, EventStatus, Venue
from apps.events.tests.factories import item, make_source, venue

pytestmark = pytest.mark.django_db


def _catalogue():
    return sorted(
        Event.objects.values_list("title", "start_utc", "status", "price_min", "venue__key", "canonical__title")
    )


def test_first_upsert_creates_events_keyed_by_their_source_item_and_venues():
    source = make_source()
    result = services.events_upsert(source=source, items=[item("a"), item("b", venue=venue("v:2", "Lido"))])

    assert (result.counts.created, result.counts.updated, result.counts.unchanged) == (2, 0, 0)
    assert Event.objects.count() == 2
    assert Venue.objects.count() == 2
    event = Event.objects.get(source=source, provider_id="a")
    assert event.title == "Concert a"
    assert event.lat == pytest.approx(52.52)
    assert event.content_hash == item("a").content_hash()


def test_upserting_the_same_items_again_changes_nothing():
    source = make_source()
    items = [item("a"), item("b")]
    services.events_upsert(source=source, items=items)
    before = _catalogue()

    result = services.events_upsert(source=source, items=items)

    assert (result.counts.created, result.counts.updated, result.counts.unchanged) == (0, 0, 2)
    assert result.touched_event_ids == []
    assert _catalogue() == before


def test_a_changed_item_updates_its_event_in_place():
    source = make_source()
    services.events_upsert(source=source, items=[item("a")])
    event_id = Event.objects.get().pk

    later = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)
    result = services.events_upsert(source=source, items=[item("a", start=later, price_min=Decimal("18.00"))])

    assert result.counts.updated == 1
    event = Event.objects.get()
    assert event.pk == event_id
    assert event.start_utc == later
    assert event.price_min == Decimal("18.00")


def test_a_cancelled_item_marks_the_event_cancelled_and_deletes_nothing():
    source = make_source()
    services.events_upsert(source=source, items=[item("a")])
    services.events_upsert(source=source, items=[item("a", status="cancelled")])
    assert Event.objects.get().status == EventStatus.CANCELLED


def test_a_repeated_item_in_one_page_is_stored_once():
    source = make_source()
    result = services.events_upsert(source=source, items=[item("a", title="Old"), item("a", title="New")])
    assert result.counts.created == 1
    assert Event.objects.get().title == "New"


def test_the_same_provider_id_from_two_sources_is_two_events():
    one, two = make_source("one"), make_source("two")
    services.events_upsert(source=one, items=[item("a")])
    services.events_upsert(source=two, items=[item("a")])
    assert sorted(Event.objects.values_list("source__name", "provider_id")) == [("one", "a"), ("two", "a")]


def test_two_sources_listing_one_event_give_one_canonical_event():
    one, two = make_source("one"), make_source("two")
    start = datetime(2026, 12, 5, 19, 0, tzinfo=UTC)
    first = services.events_upsert(source=one, items=[item("tm-1", start=start, title="Radiohead - Live in Berlin")])
    second = services.events_upsert(
        source=two,
        items=[
            item(
                "eb-9",
                start=start + timedelta(minutes=5),
                title="RADIOHEAD live in Berlin!",
                venue=venue("eb:77", "Kulturbrauerei Berlin", lat=52.5201, lon=13.4052),
            )
        ],
    )

    merged = services.events_merge_duplicates(event_ids=first.touched_event_ids + second.touched_event_ids)

    assert merged == 1
    canonical = Event.objects.get(canonical__isnull=True)
    assert canonical.pk == first.touched_event_ids[0]
    assert Event.objects.get(pk=second.touched_event_ids[0]).canonical_id == canonical.pk
    # Merging again changes nothing.
    assert services.events_merge_duplicates(event_ids=second.touched_event_ids) == 0


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"start": datetime(2026, 12, 5, 21, 0, tzinfo=UTC)}, "two hours apart"),
        ({"title": "Christmas market guided tour"}, "different title"),
        ({"venue": venue("far", "Elsewhere", lat=52.40, lon=13.10)}, "another place"),
    ],
)
def test_similar_but_different_events_are_not_merged(change, why):
    one, two = make_source("one"), make_source("two")
    start = datetime(2026, 12, 5, 19, 0, tzinfo=UTC)
    a = services.events_upsert(source=one, items=[item("x", start=start, title="Radiohead Live")])
    fields = {"start": start, "title": "Radiohead Live", "venue": venue("other", "Kulturbrauerei", 52.5201, 13.4052)}
    fields.update(change)
    b = services.events_upsert(source=two, items=[item("y", **fields)])

    assert services.events_merge_duplicates(event_ids=a.touched_event_ids + b.touched_event_ids) == 0, why


def test_one_source_listing_an_event_twice_is_left_alone():
    source = make_source()
    result = services.events_upsert(source=source, items=[item("a"), item("b", title="Concert a")])
    assert services.events_merge_duplicates(event_ids=result.touched_event_ids) == 0


def test_the_content_hash_covers_every_field():
    import dataclasses

    from apps.events.sources.base import NormalizedEvent

    base = item("a", description="x", tags=("t",), image_url="https://example.test/i.png")
    changes = {
        "provider_id": "b", "title": "Other", "start_utc": base.start_utc + timedelta(minutes=1),
        "end_utc": None, "timezone": "Europe/Paris", "all_day": True, "time_tba": True, "description": "y",
        "category": "film", "tags": ("u",), "price_min": Decimal("1"), "price_max": Decimal("99"), "currency": "USD",
        "is_free": True, "url": "https://example.test/other", "image_url": "", "status": "cancelled",
        "venue": venue("v:9"),
    }  # fmt: skip
    assert set(changes) == {f.name for f in dataclasses.fields(NormalizedEvent)}
    for name, value in changes.items():
        assert dataclasses.replace(base, **{name: value}).content_hash() != base.content_hash(), name
    moved_venue = dataclasses.replace(base, venue=dataclasses.replace(base.venue, lat=1.0))
    assert moved_venue.content_hash() != base.content_hash()
