"""Anonymous catalogue reads are cacheable (ETag, Last-Modified, 304, `public, max-age`, the Redis cache), fresh after
a sync changed the catalogue, and nothing a signed-in person sees is shared: their answers are `private, no-store`,
never the anonymous body, and one account's page never reaches another account or an anonymous caller."""

import dataclasses
import re
import zoneinfo
from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.http import http_date

from apps.core.time import weekend_window
from apps.events import sync
from apps.events.models import Event
from apps.events.sources.base import Page
from apps.events.tests.factories import BERLIN, item, make_source, venue
from apps.events.tests.test_sync import ScriptedConnector
from apps.users.models import Profile
from apps.users.tests.factories import UserFactory

# Anonymous Discover counts weekends in Berlin and the anonymous API in UTC; events here are next weekend's in Berlin.
# Midweek (the before_the_weekend clock) both count the same weekend; around midnight they need not.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("before_the_weekend")]

BERLIN_TZ = zoneinfo.ZoneInfo("Europe/Berlin")
DISCOVER = "/discover/"
SEARCH = "/api/v1/events"


def _at(hour: int, *, day: int = 0) -> datetime:
    start, _ = weekend_window("next", "Europe/Berlin", now=timezone.now())
    saturday = start.astimezone(BERLIN_TZ).date() + timedelta(days=day)
    return datetime.combine(saturday, time(hour), tzinfo=BERLIN_TZ).astimezone(UTC)


def _items(jazz_title: str = "Jazz Quartet", count: int = 1) -> list:
    items = [item("jazz", title=jazz_title, start=_at(20), category="music")]
    items += [item(f"e{n}", title=f"Concert {n}", start=_at(10) + timedelta(minutes=n)) for n in range(count - 1)]
    return items


def _sync(source, items) -> None:
    """A real sync run (apps.events.sync) of these items: it stores them and sends events_changed."""
    sync.sync_source(source_id=source.pk, connector=ScriptedConnector(source, [Page(items=items, checkpoint=None)]))


@pytest.fixture
def source():
    source = make_source()
    _sync(source, _items())
    return source


def _public(response) -> None:
    assert response["Cache-Control"] == "public, max-age=60"
    assert response["ETag"].startswith('W/"')
    assert "Last-Modified" in response


def _private(response) -> None:
    assert set(response["Cache-Control"].split(", ")) == {"private", "no-store"}
    assert "ETag" not in response
    assert "Last-Modified" not in response


# --- Anonymous: validators, 304, fresh after a sync ---------------------------------------------------------


@pytest.mark.parametrize("path", [DISCOVER + "?weekend=next", SEARCH + "?weekend=next&category=music&page_size=50"])
def test_anonymous_reads_are_a_304_until_a_sync_changes_an_event(client: Client, source, path):
    first = client.get(path)
    assert first.status_code == 200
    _public(first)
    assert "Jazz Quartet" in first.content.decode()
    assert "Cookie" in first["Vary"]

    unchanged = client.get(path, headers={"If-None-Match": first["ETag"]})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged["ETag"] == first["ETag"]
    assert unchanged["Cache-Control"] == "public, max-age=60"
    since = client.get(path, headers={"If-Modified-Since": first["Last-Modified"]})
    assert since.status_code == 304

    _sync(source, _items("Jazz Quintet"))

    fresh = client.get(path, headers={"If-None-Match": first["ETag"]})
    assert fresh.status_code == 200
    assert fresh["ETag"] != first["ETag"]
    html = fresh.content.decode()
    assert "Jazz Quintet" in html
    assert "Jazz Quartet" not in html


@pytest.fixture
def remembered_state(settings, monkeypatch):
    """The catalogue's state remembered for a second, as production runs it, on a clock the test turns."""
    from apps.events import public_cache

    settings.CATALOGUE_STATE_MEMO_SECONDS = 1.0
    now = [1000.0]
    monkeypatch.setattr(public_cache, "_clock", lambda: now[0])
    monkeypatch.setattr(public_cache, "_remembered", None)
    return now


def test_a_change_elsewhere_shows_once_the_remembered_state_lapses(client: Client, source, remembered_state):
    from apps.events import public_cache

    first = client.get(SEARCH, {"weekend": "next"})
    cache.incr(public_cache.VERSION_KEY)  # as a sync in another process bumps it: this process is not told
    assert client.get(SEARCH, {"weekend": "next"}, headers={"If-None-Match": first["ETag"]}).status_code == 304
    remembered_state[0] += 1.0
    later = client.get(SEARCH, {"weekend": "next"}, headers={"If-None-Match": first["ETag"]})
    assert later.status_code == 200
    assert later["ETag"] != first["ETag"]


def test_a_change_in_this_process_shows_at_once(client: Client, source, remembered_state):
    first = client.get(SEARCH, {"weekend": "next"})
    _sync(source, _items("Jazz Quintet"))  # events_changed in this process
    fresh = client.get(SEARCH, {"weekend": "next"}, headers={"If-None-Match": first["ETag"]})
    assert fresh.status_code == 200
    assert "Jazz Quintet" in fresh.content.decode()


def test_an_unchanged_resync_still_answers_from_the_same_version(client: Client, source):
    first = client.get(SEARCH, {"weekend": "next"})
    _sync(source, _items())  # nothing changed: no event touched, no events_changed
    assert client.get(SEARCH, {"weekend": "next"}, headers={"If-None-Match": first["ETag"]}).status_code == 304


def test_the_event_page_and_the_event_api_are_a_304_until_it_changes(client: Client, source):
    event = Event.objects.get(title="Jazz Quartet")
    for path in (f"/events/{event.pk}/", f"{SEARCH}/{event.pk}"):
        first = client.get(path)
        _public(first)
        assert client.get(path, headers={"If-None-Match": first["ETag"]}).status_code == 304
    _sync(source, _items("Jazz Quintet"))
    for path in (f"/events/{event.pk}/", f"{SEARCH}/{event.pk}"):
        assert "Jazz Quintet" in client.get(path).content.decode()


def test_an_event_saved_in_the_admin_retires_the_cached_answers(
    client: Client, source, django_capture_on_commit_callbacks
):
    first = client.get(SEARCH, {"weekend": "next"})
    event = Event.objects.get(title="Jazz Quartet")
    event.title = "Jazz Trio"
    with django_capture_on_commit_callbacks(execute=True):
        event.save()
    fresh = client.get(SEARCH, {"weekend": "next"}, headers={"If-None-Match": first["ETag"]})
    assert fresh.status_code == 200
    assert "Jazz Trio" in fresh.content.decode()


def test_an_older_if_modified_since_or_another_etag_gets_the_page(client: Client, source):
    first = client.get(SEARCH)
    modified = datetime.strptime(first["Last-Modified"], "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
    earlier = http_date((modified - timedelta(seconds=1)).timestamp())
    assert client.get(SEARCH, headers={"If-Modified-Since": earlier}).status_code == 200
    assert client.get(SEARCH, headers={"If-None-Match": '"something-else"'}).status_code == 200
    # If-None-Match decides when both are sent.
    both = {"If-None-Match": '"something-else"', "If-Modified-Since": first["Last-Modified"]}
    assert client.get(SEARCH, headers=both).status_code == 200


def test_anonymous_answers_come_from_the_cache_without_touching_the_database(client: Client, source):
    params = {"weekend": "next", "category": "music", "near": f"{BERLIN[0]},{BERLIN[1]}"}
    first = client.get(SEARCH, params)
    with CaptureQueriesContext(connection) as queries:
        again = client.get(SEARCH, {**params, "category": "music,music"})  # the same question, spelled otherwise
    assert again.status_code == 200
    assert again.content == first.content
    assert again["ETag"] == first["ETag"]
    assert queries.captured_queries == []


def test_the_anonymous_page_carries_no_csrf_token_and_sets_no_cookie(client: Client, source):
    event = Event.objects.get(title="Jazz Quartet")
    for path in (DISCOVER, f"/events/{event.pk}/"):
        response = client.get(path)
        _public(response)
        assert "csrf" not in response.content.decode().lower()
        assert not response.cookies


def test_the_clock_step_moves_the_weekend_answer_on(client: Client, source, clock):
    first = client.get(DISCOVER, {"weekend": "next"})
    clock.shift(timedelta(seconds=61))
    later = client.get(DISCOVER, {"weekend": "next"}, headers={"If-None-Match": first["ETag"]})
    assert later.status_code == 200
    assert later["ETag"] != first["ETag"]


# --- Signed in: private, never the anonymous body, never another account's --------------------------------


def _home(user, km_north: float) -> None:
    Profile.objects.filter(user=user).update(
        home_lat=BERLIN[0] + km_north / 111.195, home_lon=BERLIN[1], travel_mode="bike", timezone="Europe/Berlin"
    )


def _distances(html: str) -> set[str]:
    """The distances the cards show (the "For you" panel may show the same event again)."""
    return {found.strip() for found in re.findall(r'class="event-distance">([^<·]+)', html)}


def test_signed_in_pages_are_private_and_one_account_never_sees_anothers(client: Client, source):
    anonymous = client.get(DISCOVER, {"weekend": "next"})
    a, b = UserFactory(), UserFactory()
    _home(a, 2)
    _home(b, 5)
    client.force_login(a)
    page_a = client.get(DISCOVER, {"weekend": "next"}, headers={"If-None-Match": anonymous["ETag"]})
    assert page_a.status_code == 200
    _private(page_a)
    assert _distances(page_a.content.decode()) == {"2.0 km from home"}
    client.force_login(b)
    page_b = client.get(DISCOVER, {"weekend": "next"})
    _private(page_b)
    assert _distances(page_b.content.decode()) == {"5.0 km from home"}
    client.logout()
    again = client.get(DISCOVER, {"weekend": "next"})
    _public(again)
    html = again.content.decode()
    assert _distances(html) == {"10 m from the city centre"}
    assert "from home" not in html
    assert again.content == anonymous.content


def test_signed_in_event_page_is_private_with_their_travel_time(client: Client, source):
    event = Event.objects.get(title="Jazz Quartet")
    anonymous = client.get(f"/events/{event.pk}/")
    user = UserFactory()
    _home(user, 2)
    client.force_login(user)
    mine = client.get(f"/events/{event.pk}/", headers={"If-None-Match": anonymous["ETag"]})
    assert mine.status_code == 200
    _private(mine)
    assert "from home" in mine.content.decode()
    assert "from home" not in anonymous.content.decode()


def test_signed_in_api_answers_are_private_and_never_the_anonymous_ones(api_client, client_for, source):
    params = {"weekend": "next", "category": "music"}
    anonymous = api_client.get(SEARCH, params)
    _public(anonymous)
    a = UserFactory()
    Profile.objects.filter(user=a).update(timezone="Pacific/Auckland")  # their weekend starts half a day earlier
    as_a = client_for(a).get(SEARCH, params, HTTP_IF_NONE_MATCH=anonymous["ETag"])
    assert as_a.status_code == 200
    _private(as_a)
    event = Event.objects.get(title="Jazz Quartet")
    detail = client_for(a).get(f"{SEARCH}/{event.pk}")
    _private(detail)


def test_a_pending_message_makes_the_anonymous_page_private(client: Client, source):
    client.cookies["messages"] = CookieStorage(HttpRequest())._encode([Message(constants.INFO, "Signed out.")])
    response = client.get(DISCOVER, {"weekend": "next"})
    _private(response)
    assert "Signed out." in response.content.decode()


# --- No N+1: the same number of queries for 1 event and for many ---------------------------------------------


def _count_queries(client: Client, path: str, params: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params or {})
    assert response.status_code == 200
    return len(queries.captured_queries)


@pytest.mark.parametrize("events", [1, 40])
def test_query_counts_do_not_grow_with_the_events_listed(client: Client, events):
    source = make_source()
    items = _items(count=events)
    items = [dataclasses.replace(one, venue=venue(f"v:{n}", f"Hall {n}")) for n, one in enumerate(items)]
    _sync(source, items)
    event = Event.objects.order_by("pk").first()
    assert event is not None
    user = UserFactory()
    _home(user, 1)
    expected = {  # anonymous, with a cold cache: the catalogue's last change, then the page's own reads
        (SEARCH, "anonymous"): 2,  # + the search
        (DISCOVER, "anonymous"): 3,  # + count, page
        (f"/events/{event.pk}/", "anonymous"): 3,  # + event, its listings
        (SEARCH, "signed in"): 4,  # session, user, profile, the search
        (DISCOVER, "signed in"): 20,  # with the personal lists other apps add ("For you", ...)
        (f"/events/{event.pk}/", "signed in"): 5,
    }
    counted = {}
    for who in ("anonymous", "signed in"):
        if who == "signed in":
            client.force_login(user)
        for path in (SEARCH, DISCOVER, f"/events/{event.pk}/"):
            params = {"weekend": "next", "page_size": "50"}
            if who == "signed in":
                # What a process keeps for a few minutes whatever the test (the panels' popularity, the catalogue's
                # copy) is warm or cold depending on the tests run before: warm it here, so the count is the page's.
                client.get(path, params)
            cache.clear()
            counted[(path, who)] = _count_queries(client, path, params)
    assert counted == expected
