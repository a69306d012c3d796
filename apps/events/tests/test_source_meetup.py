"""What only the Meetup connector does, against a fake Meetup GraphQL API answering `eventSearch` in its published
shapes: the search request, the mapping of an event (fees, venues, topics), GraphQL errors, its checkpoints. What
every connector does is in test_connector_contract.py."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from apps.core.http import CredentialsRejectedError
from apps.events import services
from apps.events.models import Event, Source
from apps.events.sources.base import NormalizedEvent, NormalizedVenue, Page, SourceConfigError
from apps.events.sources.meetup import EVENT_SEARCH_QUERY, MeetupConnector, MeetupError
from apps.events.tests.fakes import meetup as fake_mu
from apps.events.tests.fakes.meetup import FakeMeetup, build_connector, event, fee, graphql_error, group, venue
from apps.events.tests.fakes.network import FakeClock
from apps.events.tests.resync import assert_a_second_sync_changes_nothing, completed_sync

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 5, 12, 0, tzinfo=UTC)  # a Friday noon; the sync window is the next 60 days
WINDOW = (NOW, NOW + timedelta(days=60))
BERLIN = (52.52, 13.405)

# What a second sync must leave as it was.
CATALOGUE = ("title", "start_utc", "status", "price_min", "is_free", "venue__key")


_meetup_settings = fake_mu.CONTRACT.settings_fixture()  # the fake's URL and key, for every test here


@pytest.fixture
def fake() -> FakeMeetup:
    return FakeMeetup(clock=FakeClock(NOW))


def make_source(name: str = "meetup-berlin", *, radius_km: float = 16.09344, **options: Any) -> Source:
    return services.source_create(provider="meetup", name=name, near=BERLIN, radius_km=radius_km, options=options)


def runs(count: int, *, first_id: int = 301001, start: datetime = NOW + timedelta(days=1)) -> list[dict[str, Any]]:
    return [
        event(str(first_id + n), title=f"Tempelhof run no. {n + 1}", start=start + timedelta(days=n, hours=-5))
        for n in range(count)
    ]


def collect(connector: MeetupConnector, checkpoint: dict[str, Any] | None = None) -> list[Page]:
    return list(connector.pages(window_start=WINDOW[0], window_end=WINDOW[1], checkpoint=checkpoint))


def items(pages: list[Page]) -> list[NormalizedEvent]:
    return [item for page in pages for item in page.items]


def ids(pages: list[Page]) -> list[str]:
    return [item.provider_id for item in items(pages)]


# --- Paging and shapes -----------------------------------------------------------------------------------------


def test_pages_through_event_search_and_normalises_each_event(fake: FakeMeetup) -> None:
    fake.add_all(runs(5))

    pages = collect(build_connector(make_source(), fake, page_size=2))

    assert [len(page.items) for page in pages] == [2, 2, 1]
    assert ids(pages) == ["301001", "301002", "301003", "301004", "301005"]
    assert pages[-1].checkpoint is None
    first = pages[0].items[0]
    assert first.title == "Tempelhof run no. 1"
    assert first.start_utc == datetime(2026, 6, 6, 7, 0, tzinfo=UTC)
    assert first.end_utc == datetime(2026, 6, 6, 9, 0, tzinfo=UTC)
    assert first.timezone == "Europe/Berlin"
    assert first.description.startswith("We meet at the gate")
    assert first.category == "sports"
    assert (first.price_min, first.price_max, first.currency, first.is_free) == (None, None, "", True)
    assert first.url == "https://www.meetup.com/berlin-runners/events/301001/"
    assert first.image_url == "https://secure.meetupstatic.com/photos/event/highres_5301001.jpeg"
    assert first.status == "scheduled"
    gate = ("meetup:27405011", "Tempelhofer Feld, Eingang Columbiadamm", "Columbiadamm 160, Berlin", 52.4843, 13.4063)
    assert first.venue == NormalizedVenue(*gate, timezone="Europe/Berlin")


def test_the_request_is_the_published_event_search_with_the_area_and_window(fake: FakeMeetup) -> None:
    fake.add_all(runs(3))

    collect(build_connector(make_source(query="running"), fake, page_size=2))

    assert len(fake.requests) == 2
    request = fake.requests[0]
    assert request.method == "POST"
    assert request.url.path == "/gql-ext"
    assert request.headers["Authorization"] == f"Bearer {fake_mu.API_KEY}"
    body = fake.body(0)
    assert body["query"] == EVENT_SEARCH_QUERY
    assert body["variables"] == {
        "filter": {
            "query": "running",
            "lat": 52.52,
            "lon": 13.405,
            "radius": 10.0,  # 16.09344 km in miles
            "startDateRange": "2026-06-05T12:00:00Z",
            "endDateRange": "2026-08-04T12:00:00Z",
        },
        "first": 2,
        "after": None,
    }
    assert fake.body(1)["variables"]["after"] == fake_mu._encode_cursor(1)


def test_online_events_are_left_out_and_hybrid_ones_keep_their_room(fake: FakeMeetup) -> None:
    start = NOW + timedelta(days=2)
    fake.add(
        event("301001", title="Zoom talk", start=start, event_type="ONLINE"),
        event(
            "301002",
            title="Hybrid talk",
            start=start + timedelta(hours=1),
            event_type="HYBRID",
            venues=[fake_mu.online_venue(), venue("27405099", replace(fake_mu.TEMPELHOFER_FELD, name="betahaus"))],
        ),
    )

    [hybrid] = items(collect(build_connector(make_source(), fake)))

    assert hybrid.provider_id == "301002"
    assert hybrid.venue is not None
    assert hybrid.venue.key == "meetup:27405099"


def test_events_outside_the_area_are_not_returned(fake: FakeMeetup) -> None:
    fake.add(
        event(
            "301001",
            title="Potsdam run",
            start=NOW + timedelta(days=2),
            venues=[venue("1", replace(fake_mu.TEMPELHOFER_FELD, name="Park Sanssouci", lat=52.40, lon=13.04))],
        )
    )

    assert ids(collect(build_connector(make_source(), fake))) == []


# --- Prices, free, cancelled, categories, bad items --------------------------------------------------------------


def test_an_event_without_fee_settings_has_no_price_and_is_free(fake: FakeMeetup) -> None:
    fake.add(event("301001", title="Open run", start=NOW + timedelta(days=2), fee_settings=None))

    [item] = items(collect(build_connector(make_source(), fake)))

    assert (item.price_min, item.price_max, item.currency, item.is_free) == (None, None, "", True)


def test_a_fee_is_the_price(fake: FakeMeetup) -> None:
    fake.add(event("301001", title="Paid workshop", start=NOW + timedelta(days=2), fee_settings=fee(12.5, "EUR")))

    [item] = items(collect(build_connector(make_source(), fake)))

    assert (item.price_min, item.price_max, item.currency, item.is_free) == (
        Decimal("12.50"),
        Decimal("12.50"),
        "EUR",
        False,
    )


def test_a_zero_fee_is_free(fake: FakeMeetup) -> None:
    fake.add(
        event("301001", title="Donation run", start=NOW + timedelta(days=2), fee_settings=fee(0, "EUR", required=False))
    )

    [item] = items(collect(build_connector(make_source(), fake)))

    assert (item.price_min, item.is_free) == (Decimal("0.00"), True)


def test_a_permanently_cancelled_event_comes_through_as_cancelled(fake: FakeMeetup) -> None:
    fake.add(event("301001", title="Storm: no run", start=NOW + timedelta(days=2), status="CANCELLED_PERM"))

    [item] = items(collect(build_connector(make_source(), fake)))

    assert item.status == "cancelled"


def test_drafts_are_not_for_the_catalogue(fake: FakeMeetup) -> None:
    fake.add(event("301001", title="Not yet", start=NOW + timedelta(days=2), status="DRAFT"))

    assert ids(collect(build_connector(make_source(), fake))) == []


@pytest.mark.parametrize(
    ("urlkey", "slug"),
    [
        ("music", "music"),
        ("art-culture", "arts-theatre"),
        ("technology", "learning"),
        ("parents-family", "family"),
        ("games", ""),
    ],
)
def test_topic_categories_map_to_the_taxonomy(fake: FakeMeetup, urlkey: str, slug: str) -> None:
    fake.add(event("301001", title="Something", start=NOW + timedelta(days=2), the_group=group(topic_urlkey=urlkey)))

    [item] = items(collect(build_connector(make_source(), fake)))

    assert item.category == slug


def test_a_group_without_a_known_zone_falls_back_to_utc_with_the_right_instant(fake: FakeMeetup) -> None:
    fake.add(event("301001", title="Run", start=NOW + timedelta(days=2), the_group=group(timezone="")))

    [item] = items(collect(build_connector(make_source(), fake)))

    assert (item.timezone, item.start_utc) == ("UTC", NOW + timedelta(days=2))


# --- Failures: GraphQL errors, a source without an area, an answer without data ----------------------------------


def test_a_graphql_error_fails_the_run_without_retrying(fake: FakeMeetup) -> None:
    fake.fail_next(
        fake_mu.errors(graphql_error("GRAPHQL_VALIDATION_FAILED", "Cannot query field 'venue' on type 'Event'."))
    )

    with pytest.raises(MeetupError, match="Cannot query field"):
        collect(build_connector(make_source(), fake))

    assert len(fake.requests) == 1


def test_a_graphql_authentication_error_stops_after_one_request(fake: FakeMeetup) -> None:
    fake.fail_next(fake_mu.errors(graphql_error("UNAUTHORIZED", "Not authorized")))

    with pytest.raises(CredentialsRejectedError, match="Not authorized"):
        collect(build_connector(make_source(), fake))

    assert len(fake.requests) == 1


def test_a_source_without_an_area_is_a_configuration_error(fake: FakeMeetup) -> None:
    source = make_source()
    source.center_lat = source.center_lon = None

    with pytest.raises(SourceConfigError, match="centre"):
        collect(build_connector(source, fake))


def test_an_answer_without_data_fails(fake: FakeMeetup) -> None:
    fake.fail_next(lambda request: httpx.Response(200, json={"data": {"eventSearch": {"edges": None}}}))

    with pytest.raises(MeetupError, match="without edges or pageInfo"):
        collect(build_connector(make_source(), fake))


# --- Checkpoints -----------------------------------------------------------------------------------------------


def test_resuming_from_a_checkpoint_reads_on_from_its_cursor_and_ignores_the_window_arguments(fake: FakeMeetup) -> None:
    fake.add_all(runs(5))
    source = make_source()
    checkpoint = collect(build_connector(source, fake, page_size=2))[0].checkpoint
    assert checkpoint is not None
    assert checkpoint["after"] == fake_mu._encode_cursor(1)
    assert checkpoint["window_start"] == NOW.isoformat()
    fake.requests.clear()

    resumed = list(
        build_connector(source, fake, page_size=2).pages(
            window_start=NOW + timedelta(days=400), window_end=NOW + timedelta(days=401), checkpoint=checkpoint
        )
    )

    assert ids(resumed) == ["301003", "301004", "301005"]
    variables = fake.body(0)["variables"]
    assert variables["after"] == checkpoint["after"]
    assert variables["filter"]["startDateRange"] == "2026-06-05T12:00:00Z"


# --- Full sync runs ------------------------------------------------------------------------------------------------


def test_a_full_sync_stores_the_events_and_a_second_sync_finds_them_unchanged(fake: FakeMeetup) -> None:
    start = NOW + timedelta(days=1)
    fake.add_all(runs(3))
    fake.add(
        event(
            "301010",
            title="Paid yoga",
            start=start + timedelta(days=5),
            fee_settings=fee(8, "EUR"),
            the_group=group("berlin-yoga", "Berlin Yoga", topic_urlkey="health-wellbeing"),
        ),
        event(
            "301011",
            title="Cancelled picnic",
            start=start + timedelta(days=6),
            status="CANCELLED",
            the_group=group("picnics", "Picnics", topic_urlkey="social-activities"),
        ),
        event("301012", title="Online talk", start=start + timedelta(days=7), event_type="ONLINE"),
    )
    source = make_source()

    run = completed_sync(source, build_connector(source, fake, page_size=2), NOW)

    assert (run.fetched, run.created, run.updated, run.unchanged, run.failed, run.pages) == (5, 5, 0, 0, 0, 3)
    assert Event.objects.count() == 5
    assert Event.objects.filter(source=source).count() == 5
    assert Event.objects.get(title="Cancelled picnic").status == "cancelled"
    yoga = Event.objects.get(title="Paid yoga")
    assert (yoga.price_min, yoga.currency, yoga.is_free, yoga.category) == (Decimal("8.00"), "EUR", False, "")
    run_one = Event.objects.get(title="Tempelhof run no. 1")
    assert (run_one.lat, run_one.lon, run_one.category) == (52.4843, 13.4063, "sports")
    assert run_one.venue is not None
    assert run_one.venue.key == "meetup:27405011"

    assert_a_second_sync_changes_nothing(
        run,
        lambda: completed_sync(source, build_connector(source, fake, page_size=2), NOW),
        *CATALOGUE,
    )
