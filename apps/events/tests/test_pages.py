"""The Discover page and the event page through Django's test client: filters in the URL, the htmx partial,
what cards and the event page say, 404s and merged duplicates."""

import re
import zoneinfo
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from apps.core.time import weekend_window
from apps.events import services
from apps.events.display import price_text
from apps.events.models import Event
from apps.events.tests.factories import BERLIN, item, make_source, venue
from apps.users.models import Profile

pytestmark = pytest.mark.django_db

BERLIN_TZ = zoneinfo.ZoneInfo("Europe/Berlin")
DISCOVER = "/discover/"


def _next_saturday() -> datetime:
    """Next weekend's Saturday (a date in Berlin), as a midnight in Berlin."""
    start, _ = weekend_window("next", "Europe/Berlin", now=timezone.now())
    return start.astimezone(BERLIN_TZ)


def _at(hour: int, minute: int = 0, *, day: int = 0) -> datetime:
    """Next weekend's Saturday (+day) at hour:minute Berlin time, in UTC."""
    saturday = _next_saturday().date() + timedelta(days=day)
    return datetime.combine(saturday, time(hour, minute), tzinfo=BERLIN_TZ).astimezone(UTC)


def _point_at(km_north: float) -> tuple[float, float]:
    return BERLIN[0] + km_north / 111.195, BERLIN[1]


def _store(*items, source=None):
    return services.events_upsert(source=source or make_source(), items=list(items))


def _titles(response) -> list[str]:
    assert response.status_code == 200
    html = response.content.decode()
    return re.findall(r'class="event-card-title"[^>]*><a href="/events/\d+/">([^<]+)</a>', html)


@pytest.fixture
def catalogue():
    far = _point_at(8)
    return _store(
        item("jazz", title="Jazz Quartet", start=_at(20), category="music", description="Swing and bebop"),
        item("market", title="Flea Market", start=_at(10, day=1), category="markets", is_free=True,
             price_min=None, price_max=None, currency=""),
        item("brunch", title="Sunday Brunch", start=_at(12, 30, day=1), category="food-drink",
             price_min=Decimal("8"), price_max=Decimal("8"), venue=venue("v:far", "Far Hall", *far)),
        item("late", title="Techno Night", start=_at(23, 30), end_utc=_at(5, day=1), category="nightlife",
             price_min=Decimal("20"), price_max=None),
        item("tba", title="Secret Gig", start=_at(0), end_utc=None, time_tba=True, category="music",
             price_min=None, price_max=None),
    )  # fmt: skip


def test_discover_lists_next_weekend_near_the_centre_for_anonymous_visitors(client: Client, catalogue):
    response = client.get(DISCOVER, {"weekend": "next"})

    assert response.status_code == 200
    assert response.templates[0].name == "events/discover.html"
    assert _titles(response) == ["Secret Gig", "Jazz Quartet", "Techno Night", "Flea Market", "Sunday Brunch"]
    html = response.content.decode()
    assert "Set your home" in html or "set your home" in html
    assert "within 25 km of the city centre" in html
    # Prices in words; time-TBA events say so; the viewer (Berlin by default) needs no zone named.
    assert "€15–30" in html
    assert "Free" in html
    assert "€8" in html
    assert "Up to" not in html
    assert "Time to be announced" in html
    assert "Berlin time" not in html
    # The filters are a plain GET form (works without JavaScript) that htmx enhances.
    assert 'method="get" action="/discover/"' in html
    assert 'hx-get="/discover/"' in html
    assert 'hx-push-url="true"' in html
    assert 'hx-target="#results"' in html


def test_filters_live_in_the_url_and_show_as_chosen(client: Client, catalogue):
    def titles(**params):
        return _titles(client.get(DISCOVER, {"weekend": "next", **params}))

    assert titles(category=["markets", "food-drink"]) == ["Flea Market", "Sunday Brunch"]
    assert titles(free="on") == ["Flea Market"]
    assert titles(price_max="10") == ["Flea Market", "Sunday Brunch"]
    assert titles(q="bebop") == ["Jazz Quartet"]
    assert titles(distance="5") == ["Secret Gig", "Jazz Quartet", "Techno Night", "Flea Market"]

    response = client.get(DISCOVER, {"weekend": "next", "category": "markets", "free": "on", "distance": "10"})
    html = response.content.decode()
    assert re.search(r'<input type="checkbox" name="category" value="markets"[^>]*checked', html)
    assert not re.search(r'<input type="checkbox" name="category" value="music"[^>]*checked', html)
    assert re.search(r'<input type="checkbox" name="free"[^>]*checked', html)
    assert re.search(r'<input type="radio" name="weekend" value="next"[^>]*checked', html)
    assert re.search(r'<option value="10" selected>', html)


def test_time_of_day_is_the_event_clock(client: Client, catalogue):
    def titles(*parts):
        return _titles(client.get(DISCOVER, {"weekend": "next", "time": list(parts)}))

    # Brunch starts 12:30 in Berlin (10:30 or 11:30 UTC): afternoon, not morning.
    assert titles("morning") == ["Flea Market"]
    assert titles("afternoon") == ["Sunday Brunch"]
    assert titles("evening") == ["Jazz Quartet"]
    assert titles("night") == ["Techno Night"]
    assert titles("morning", "night") == ["Techno Night", "Flea Market"]


def test_this_weekend_is_the_default_and_next_weekend_events_are_not_in_it(
    client: Client, catalogue, before_the_weekend
):
    response = client.get(DISCOVER)
    assert re.search(r'<input type="radio" name="weekend" value="this"[^>]*checked', response.content.decode())
    assert _titles(response) == []
    assert "Nothing matches these filters" in response.content.decode()


def test_this_weekend_drops_what_is_already_over(client: Client):
    _store(
        item("over", title="Morning Run", start=_at(10), end_utc=_at(11)),
        item("ongoing", title="Afternoon Fair", start=_at(14), end_utc=_at(16)),
        item("just-started", title="Open Studio", start=_at(14, 30), end_utc=None),
        item("long-started", title="Noon Concert", start=_at(12), end_utc=None),
        item("tba", title="Secret Gig", start=_at(0), end_utc=None, time_tba=True),
        item("later", title="Evening Show", start=_at(20)),
    )
    # Saturday 15:00 in Berlin: next weekend's Saturday becomes this weekend.
    with mock.patch("django.utils.timezone.now", return_value=_at(15)):
        titles = _titles(client.get(DISCOVER))
    assert titles == ["Secret Gig", "Afternoon Fair", "Open Studio", "Evening Show"]


def test_late_on_a_sunday_this_weekend_says_nothing_is_left_and_points_to_next_weekend(client: Client, clock):
    _store(item("next", title="Evening Show", start=_at(20)))
    clock.move_to(_at(23, 30, day=1))  # Sunday 23:30 in Berlin: next weekend's Sunday becomes this weekend's
    html = client.get(DISCOVER).content.decode()
    assert "Nothing left this weekend" in html
    assert "Nothing matches these filters" not in html
    assert 'href="/discover/?weekend=next"' in html
    following = client.get(DISCOVER, {"weekend": "next"})
    assert _titles(following) == []  # the show was this weekend's Saturday: over, and not in the next one either


def test_a_weekend_under_way_says_nothing_is_left_only_when_what_the_filters_chose_is_over(
    client: Client, catalogue, clock
):
    clock.move_to(_at(9, day=1))  # next weekend's Sunday 09:00 in Berlin: the jazz on Saturday night is over
    over = client.get(DISCOVER, {"category": "music", "q": "jazz"}).content.decode()
    assert "Nothing left this weekend" in over
    clock.move_to(_at(9))  # its Saturday morning: the filters choose nothing (no film), nothing is over
    filtered = client.get(DISCOVER, {"category": "film"}).content.decode()
    assert "Nothing matches these filters" in filtered
    assert "Nothing left this weekend" not in filtered


def test_htmx_requests_get_the_results_partial_and_the_clean_url_to_push(client: Client, catalogue):
    response = client.get(
        DISCOVER, {"weekend": "next", "category": "markets", "q": "", "price_max": ""}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    assert next(t.name for t in response.templates) == "events/_results.html"
    html = response.content.decode()
    assert "<html" not in html
    assert "<form" not in html
    assert _titles(response) == ["Flea Market"]
    # The summary above the list is updated out of band, so its live region stays in place.
    assert re.search(r'<p id="results-summary" hx-swap-oob="innerHTML">Next weekend \(.*\): 1 event within', html)
    assert response["HX-Push-Url"] == "/discover/?weekend=next&category=markets"
    assert "HX-Request" in response["Vary"]


def test_htmx_history_restore_gets_the_whole_page(client: Client, catalogue):
    response = client.get(
        DISCOVER, {"weekend": "next"}, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert response.templates[0].name == "events/discover.html"
    assert "<html" in response.content.decode()


def test_invalid_filters_are_reported_and_the_rest_still_apply(client: Client, catalogue):
    response = client.get(DISCOVER, {"weekend": "next", "price_max": "cheap", "category": ["markets", "knitting"]})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Enter a number." in html
    assert "Select a valid choice." in html
    assert 'aria-invalid="true"' in html
    # The bad category invalidates that field only; the price is ignored, the weekend still applies.
    assert len(_titles(response)) == 5


def test_pages_of_thirty_with_links_that_keep_the_filters(client: Client):
    _store(*[item(f"e{n}", title=f"Concert {n:02d}", start=_at(10) + timedelta(minutes=n)) for n in range(31)])

    first = client.get(DISCOVER, {"weekend": "next", "category": "music"})
    assert len(_titles(first)) == 30
    html = first.content.decode()
    assert "Page 1 of 2" in html
    assert 'href="/discover/?weekend=next&amp;category=music&amp;page=2"' in html

    second = client.get(DISCOVER, {"weekend": "next", "category": "music", "page": "2"})
    assert _titles(second) == ["Concert 30"]
    assert "Previous" in second.content.decode()


def test_signed_in_people_search_from_home_with_their_distance_and_see_travel_times(
    client: Client, user, before_the_weekend
):
    # The events are next weekend's in Berlin and the viewer lives in UTC: midweek, both count the same weekend.
    home = _point_at(20)
    Profile.objects.filter(user=user).update(
        home_lat=home[0], home_lon=home[1], travel_mode="bike", max_distance_km=3, timezone="UTC"
    )
    _store(
        item("near", title="Near Home", start=_at(20), venue=venue("v:near", "Corner Bar", *_point_at(21.5))),
        item("centre", title="In The Centre", start=_at(20)),
    )
    client.force_login(user)

    response = client.get(DISCOVER, {"weekend": "next"})

    assert _titles(response) == ["Near Home"]
    html = response.content.decode()
    assert "within 3 km of home" in html
    assert re.search(r'<option value="3" selected>Within 3 km</option>', html)
    assert "1.5 km from home" in html
    assert re.search(r"about \d+ min by bike", html)
    # The viewer lives in UTC; the event's zone is named.
    assert "Berlin time" in html
    assert "set your home" not in html.lower()


def test_signed_in_without_home_are_asked_to_set_it(client: Client, user, catalogue):
    client.force_login(user)
    html = client.get(DISCOVER, {"weekend": "next"}).content.decode()
    assert 'href="/profile/">Set your home</a>' in html


def test_event_page_shows_when_where_price_description_and_sources(client: Client, catalogue):
    event = Event.objects.get(title="Jazz Quartet")

    response = client.get(f"/events/{event.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Jazz Quartet</h1>" in html
    assert "20:00–22:00" in html
    assert re.search(r"Europe/Berlin \((CET|CEST)\)", html)
    assert "Kulturbrauerei" in html
    assert "Schönhauser Allee 36, Berlin" in html
    assert f"https://www.openstreetmap.org/?mlat={BERLIN[0]:.5f}&amp;mlon={BERLIN[1]:.5f}" in html
    assert "€15–30" in html
    assert "Swing and bebop" in html
    assert 'href="https://example.test/jazz"' in html
    assert "Add to my weekend" not in html  # comes with calendars


def test_event_page_shows_travel_time_from_home_and_the_time_in_the_viewers_zone(client: Client, user, catalogue):
    Profile.objects.filter(user=user).update(
        home_lat=BERLIN[0], home_lon=BERLIN[1], travel_mode="transit", timezone="Europe/London"
    )
    client.force_login(user)
    event = Event.objects.get(title="Jazz Quartet")

    html = client.get(f"/events/{event.pk}/").content.decode()

    assert re.search(r"\d+ min by public transport from home", html)
    assert re.search(r"19:00 in your time zone \(Europe/London\)", html)


def test_cancelled_event_page_says_so(client: Client):
    result = _store(item("gone", title="Called Off", start=_at(20), status="cancelled"))
    html = client.get(f"/events/{result.touched_event_ids[0]}/").content.decode()
    assert '<span class="badge badge-danger">Cancelled</span>' in html
    assert "This event is cancelled." in html


def test_unknown_event_is_404(client: Client):
    assert client.get("/events/999999/").status_code == 404


def test_a_merged_duplicate_shows_its_canonical_event(client: Client):
    a = _store(item("a", title="Jazz Night", start=_at(20), description="Swing"), source=make_source("one"))
    b = _store(item("b", title="Jazz night", start=_at(20)), source=make_source("two"))
    services.events_merge_duplicates(event_ids=b.touched_event_ids)
    canonical_id, duplicate_id = a.touched_event_ids[0], b.touched_event_ids[0]

    response = client.get(f"/events/{duplicate_id}/", follow=True)

    assert response.redirect_chain == [(f"/events/{canonical_id}/", 302)]
    html = response.content.decode()
    assert "<h1>Jazz Night</h1>" in html
    assert "(one)" in html
    assert "(two)" in html


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"is_free": True}, "Free"),
        ({"price_min": Decimal("15"), "price_max": Decimal("30"), "currency": "EUR"}, "€15–30"),
        ({"price_min": Decimal("12.50"), "price_max": Decimal("12.50"), "currency": "EUR"}, "€12.50"),
        ({"price_min": Decimal("20"), "price_max": None, "currency": "USD"}, "$20"),
        ({"price_min": None, "price_max": Decimal("30"), "currency": "GBP"}, "Up to £30"),
        ({"price_min": Decimal("15"), "price_max": Decimal("30"), "currency": "CHF"}, "15–30 CHF"),
        ({"price_min": None, "price_max": None, "currency": ""}, "Price not announced"),
    ],
)
def test_price_in_words(fields, expected):
    assert price_text(Event(**{"is_free": False, "currency": "", **fields})) == expected
