import pytest

from apps.events import services
from apps.events.models import Event
from apps.events.tests.factories import item, make_source

pytestmark = pytest.mark.django_db


def test_operators_see_sources_runs_and_events_with_their_merges(staff_client):
    one, two = make_source("one"), make_source("two")
    services.events_upsert(source=one, items=[item("a", title="Jazz Night")])
    b = services.events_upsert(source=two, items=[item("b", title="Jazz night")])
    services.events_merge_duplicates(event_ids=b.touched_event_ids)
    canonical = Event.objects.get(canonical__isnull=True)

    for url in ("/admin/events/source/", "/admin/events/syncrun/", "/admin/events/event/", "/admin/events/venue/"):
        assert staff_client.get(url).status_code == 200, url
    page = staff_client.get(f"/admin/events/event/{canonical.pk}/change/").content.decode()
    assert "Merged duplicates" in page
    assert "Jazz night" in page


def test_sync_now_queues_the_selected_sources(staff_client):
    source = make_source("library")
    response = staff_client.post(
        "/admin/events/source/", {"action": "sync_now", "_selected_action": [source.pk]}, follow=True
    )
    assert "Queued 1 source(s) for syncing." in response.content.decode()


def test_sync_now_says_which_sources_the_unreachable_queue_did_not_take(staff_client, monkeypatch):
    taken, refused = make_source("taken"), make_source("refused")
    monkeypatch.setattr("apps.events.admin.enqueue", lambda task, source_id: source_id == taken.pk)
    response = staff_client.post(
        "/admin/events/source/", {"action": "sync_now", "_selected_action": [taken.pk, refused.pk]}, follow=True
    )
    page = response.content.decode()
    assert "Queued 1 source(s) for syncing." in page
    assert "The task queue is unreachable; not queued: refused." in page
