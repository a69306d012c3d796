"""GET /api/v1/events, /events/{id} and /categories: filters, edges, sort, paging and bad parameters."""

import math
import zoneinfo
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from apps.core.time import weekend_window
from apps.events import services
from apps.events.api.serializers import _PRICE, _local_iso, _price, _utc_iso
from apps.events.tests.factories import BERLIN, item, make_source, venue
from apps.users import services as user_services

# The dates here (weekends, sync ages, the demo catalogue) come from the frozen clock: conftest's clock fixture.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

URL = "/api/v1/events"


def _point_at(km_north: float) -> tuple[float, float]:
    return BERLIN[0] + km_north / 111.195, BERLIN[1]


def _store(*items, source=None):
    source = source or make_source()
    return services.events_upsert(source=source, items=list(items))


def _titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [event["title"] for event in response.json()["results"]]


def test_search_is_public_and_returns_the_documented_fields(api_client):
    _store(item("a", title="Jazz at the Lido"))
    response = api_client.get(URL, {"near": f"{BERLIN[0]},{BERLIN[1]}"})
    event = response.json()["results"][0]
    assert set(event) >= {
        "id", "title", "start", "end", "start_utc", "timezone", "all_day", "time_tba", "category", "price_min",
        "price_max", "currency", "is_free", "status", "url", "image_url", "venue", "distance_km",
    }  # fmt: skip
    assert event["start"] == "2026-12-05T20:00:00+01:00"
    assert event["start_utc"] == "2026-12-05T19:00:00Z"
    assert event["venue"]["name"] == "Kulturbrauerei"
    assert event["distance_km"] == 0.0
    assert set(response.json()) == {"next", "previous", "results"}


def test_radius_boundary(api_client):
    inside_lat, lon = _point_at(9.9)
    outside_lat, _ = _point_at(10.1)
    _store(
        item("in", title="Inside", venue=venue("in", "In", inside_lat, lon)),
        item("out", title="Outside", venue=venue("out", "Out", outside_lat, lon)),
    )
    titles = _titles(api_client.get(URL, {"near": f"{BERLIN[0]},{BERLIN[1]}", "radius_km": 10}))
    assert titles == ["Inside"]


def test_radius_boundary_far_from_the_equator_uses_true_distance(api_client):
    # 9.9 km east of a point at 60°N is about 0.178° of longitude; a box in degrees would be wrong.
    lat = 60.0
    east = 9.9 / (111.195 * math.cos(math.radians(lat)))
    _store(
        item("e", title="East", venue=venue("e", "E", lat, 10 + east)),
        item("f", title="Far", venue=venue("f", "F", lat, 10 + east * 1.03)),
    )
    assert _titles(api_client.get(URL, {"near": f"{lat},10", "radius_km": 10})) == ["East"]


def test_weekend_boundaries_in_the_searchers_zone(api_client):
    # Next weekend: none of it has begun whatever the clock says (this weekend's ended events are left out).
    start, end = weekend_window("next", "America/Chicago", now=timezone.now())
    _store(
        item("before", title="Friday night", start=start - timedelta(minutes=1)),
        item("first", title="Saturday midnight", start=start),
        item("last", title="Sunday late", start=end - timedelta(minutes=1)),
        item("after", title="Monday", start=end),
    )
    titles = _titles(api_client.get(URL, {"weekend": "next", "tz": "America/Chicago"}))
    assert titles == ["Saturday midnight", "Sunday late"]


def test_weekend_uses_the_profile_zone_when_no_tz_is_given(auth_client, user):
    user_services.profile_update(profile=user.profile, data={"timezone": "Asia/Tokyo"})
    start, _ = weekend_window("next", "Asia/Tokyo", now=timezone.now())
    _store(item("tokyo", title="Tokyo Saturday", start=start + timedelta(hours=1)))
    assert _titles(auth_client.get(URL, {"weekend": "next"})) == ["Tokyo Saturday"]


def test_starts_after_includes_and_starts_before_excludes(api_client):
    t = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    _store(item("a", title="At start", start=t), item("b", title="At end", start=t + timedelta(hours=1)))
    titles = _titles(
        api_client.get(URL, {"starts_after": "2026-12-05T10:00:00Z", "starts_before": "2026-12-05T11:00:00Z"})
    )
    assert titles == ["At start"]


def test_category_text_price_and_free_filters(api_client):
    _store(
        item("m", title="Techno night", category="nightlife", price_min=Decimal("20"), price_max=Decimal("25")),
        item("f", title="Flea market", category="markets", is_free=True, price_min=None, price_max=None),
        item("c", title="Chamber music", category="music", description="Bach in the church",
             price_min=Decimal("8"), price_max=Decimal("40")),
    )  # fmt: skip
    assert sorted(_titles(api_client.get(URL, {"category": ["markets", "music"]}))) == ["Chamber music", "Flea market"]
    assert sorted(_titles(api_client.get(URL, {"category": "markets,nightlife"}))) == ["Flea market", "Techno night"]
    assert _titles(api_client.get(URL, {"q": "bach"})) == ["Chamber music"]
    assert sorted(_titles(api_client.get(URL, {"price_max": "10"}))) == ["Chamber music", "Flea market"]
    assert _titles(api_client.get(URL, {"free": "true"})) == ["Flea market"]


def test_cancelled_and_merged_events_are_hidden_by_default(api_client):
    one, two = make_source("one"), make_source("two")
    _store(item("a", title="Jazz Night"), item("x", title="Gone", status="cancelled"), source=one)
    b = _store(item("b", title="Jazz night"), source=two)
    services.events_merge_duplicates(event_ids=b.touched_event_ids)
    assert _titles(api_client.get(URL)) == ["Jazz Night"]


def test_sort_by_distance_and_cursor_paging(api_client):
    items = []
    for n in range(7):
        lat, lon = _point_at(n + 0.5)
        items.append(item(f"d{n}", title=f"Event {n}", venue=venue(f"v{n}", f"V{n}", lat, lon),
                          start=datetime(2026, 12, 5, 10, 0, tzinfo=UTC) - timedelta(hours=n)))  # fmt: skip
    _store(*items)

    seen, url, params = [], URL, {"near": f"{BERLIN[0]},{BERLIN[1]}", "sort": "distance", "page_size": 3}
    while url:
        body = api_client.get(url, params).json()
        seen.extend(event["title"] for event in body["results"])
        distances = [event["distance_km"] for event in body["results"]]
        assert distances == sorted(distances)
        url, params = body["next"], None
    assert seen == [f"Event {n}" for n in range(7)]

    by_start = _titles(api_client.get(URL, {"page_size": 100}))
    assert by_start == [f"Event {n}" for n in reversed(range(7))]


# A bad value for one parameter, sent alone: the 400 names that parameter.
BAD_VALUES = [
    ("near", "52.5"),
    ("near", "95,10"),
    ("near", "abc,def"),
    ("radius_km", "-1"),
    ("starts_after", "2026-12-05T10:00:00"),
    ("starts_before", "tomorrow"),
    ("weekend", "last"),
    ("category", "knitting"),
    ("price_max", "-3"),
    ("free", "perhaps"),
    ("sort", "distance"),
    ("sort", "popularity"),
    ("page_size", "1000"),
]
# Parameters that are only wrong together with another: the 400 names the one at fault.
BAD_COMBINATIONS = [
    ({"tz": "Mars/Base", "weekend": "this"}, "tz"),
    ({"starts_after": "2026-12-06", "starts_before": "2026-12-05"}, "starts_before"),
]


@pytest.mark.parametrize(
    ("params", "field"), [*[({field: value}, field) for field, value in BAD_VALUES], *BAD_COMBINATIONS]
)
def test_bad_parameters_are_400_naming_the_parameter(api_client, params, field):
    response = api_client.get(URL, params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"], response.json()


def test_event_detail_adds_description_and_sources_and_follows_merges(api_client):
    one, two = make_source("one"), make_source("two")
    a = _store(item("a", title="Jazz Night", description="Swing and bebop"), source=one)
    b = _store(item("b", title="Jazz night"), source=two)
    services.events_merge_duplicates(event_ids=b.touched_event_ids)
    canonical_id, duplicate_id = a.touched_event_ids[0], b.touched_event_ids[0]

    body = api_client.get(f"{URL}/{duplicate_id}").json()

    assert body["id"] == canonical_id
    assert body["description"] == "Swing and bebop"
    assert sorted(s["name"] for s in body["sources"]) == ["one", "two"]
    assert api_client.get(f"{URL}/999999").status_code == 404


def test_categories(api_client):
    body = api_client.get("/api/v1/categories").json()
    assert [c["slug"] for c in body["results"]][:3] == ["music", "nightlife", "arts-theatre"]
    assert len(body["results"]) == 12


@pytest.mark.parametrize("near", [None, BERLIN])
def test_the_list_rows_render_exactly_as_the_event_serializer(near):
    """The list renders plain rows (event_list_out) for speed; EventOut stays the declared shape: they agree."""
    from apps.events import selectors
    from apps.events.api.serializers import EventOut, event_list_out

    _store(
        item("a", title="Jazz", price_min=Decimal("15"), price_max=Decimal("30.5")),
        item("free", title="Fair", is_free=True, price_min=None, price_max=None, currency="", end_utc=None),
        item("nowhere", title="Online", venue=None, all_day=True, timezone="America/New_York"),
        item("tba", title="Secret", time_tba=True, status="postponed", venue=venue("v:2", "Hall", *_point_at(3))),
    )
    search = selectors.EventSearch(near=near, radius_km=500 if near else 25)
    ordered = ("start_utc", "id")
    rows = list(selectors.events_search_rows(search).order_by(*ordered))
    events = list(selectors.events_search(search).order_by(*ordered))
    assert len(rows) == (3 if near else 4)
    assert event_list_out(rows) == EventOut(events, many=True).data


@given(
    moment=st.datetimes(timezones=st.one_of(st.just(UTC), st.timezones()), allow_imaginary=False),
    zone=st.timezone_keys(),
)
def test_dates_are_written_as_isoformat_writes_them(moment, zone):
    try:
        local = moment.astimezone(zoneinfo.ZoneInfo(zone))
    except OverflowError:  # the first or last day of the calendar, moved past year 1 or 9999
        return
    assert _local_iso(moment, zone) == local.isoformat()
    assert _utc_iso(moment) == moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("moment", "zone", "local"),
    [
        (datetime(2026, 12, 19, 18, tzinfo=UTC), "Europe/London", "2026-12-19T18:00:00+00:00"),  # a zero offset
        (datetime(2026, 12, 19, 18, 0, 0, 7, tzinfo=UTC), "Asia/Kolkata", "2026-12-19T23:30:00.000007+05:30"),
        (datetime(1890, 1, 1, tzinfo=UTC), "Europe/Amsterdam", "1890-01-01T00:19:32+00:19:32"),  # local mean time
    ],
)
def test_dates_in_the_offsets_that_differ(moment, zone, local):
    assert _local_iso(moment, zone) == local
    assert _utc_iso(moment) == moment.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("value", ["0.00", "15.00", "30.50", "99999999.99", "-0.00", "0E-2", "1.5", "15", "1.2E+3"])
def test_list_prices_are_written_as_the_decimal_field_writes_them(value):
    assert _price(Decimal(value)) == _PRICE.to_representation(Decimal(value))
