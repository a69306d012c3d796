"""What only the Eventbrite connector does, against a fake Eventbrite API v3 answering in its documented shapes:
the organisations and venues a source follows, the mapping of an event, its own errors and checkpoints. What
every connector does is in test_connector_contract.py."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from apps.events import services, sync
from apps.events.models import Event, Source, SyncOutcome
from apps.events.sources.base import NormalizedVenue, Page, SourceConfigError
from apps.events.sources.eventbrite import EventbriteConnector, EventbriteError
from apps.events.tests.fakes import eventbrite as fake_eb
from apps.events.tests.fakes.eventbrite import FakeEventbrite, build_connector, event
from apps.events.tests.fakes.network import FakeClock
from apps.events.tests.resync import assert_a_second_sync_changes_nothing, completed_sync

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 5, 12, 0, tzinfo=UTC)  # a Friday noon; the sync window is the next 60 days
WINDOW = (NOW, NOW + timedelta(days=60))

# What a second sync must leave as it was.
CATALOGUE = ("title", "start_utc", "status", "price_min", "price_max", "currency", "venue__key")


_eventbrite_settings = fake_eb.CONTRACT.settings_fixture()  # the fake's URL and key, for every test here


@pytest.fixture
def fake() -> FakeEventbrite:
    return FakeEventbrite(clock=FakeClock(NOW), now=NOW)


def make_source(name: str = "eb-brooklyn", **options: Any) -> Source:
    return services.source_create(provider="eventbrite", name=name, options=options or {"organization_id": "1001"})


def concerts(count: int, *, first_id: int = 5001, start: datetime = NOW + timedelta(days=1)) -> list[dict[str, Any]]:
    return [
        event(str(first_id + n), name=f"Brooklyn concert no. {n + 1}", start=start + timedelta(days=n, hours=8))
        for n in range(count)
    ]


def collect(connector: EventbriteConnector, checkpoint: dict[str, Any] | None = None) -> list[Page]:
    return list(connector.pages(window_start=WINDOW[0], window_end=WINDOW[1], checkpoint=checkpoint))


def ids(pages: list[Page]) -> list[str]:
    return [item.provider_id for page in pages for item in page.items]


# --- Paging and shapes -----------------------------------------------------------------------------------------


def test_pages_through_an_organisation_and_normalises_each_event(fake: FakeEventbrite) -> None:
    fake.add_organization("1001", concerts(5))
    source = make_source()

    pages = collect(build_connector(source, fake, page_size=2))

    assert [len(page.items) for page in pages] == [2, 2, 1]
    assert ids(pages) == ["5001", "5002", "5003", "5004", "5005"]
    assert pages[-1].checkpoint is None
    assert all(page.checkpoint is not None for page in pages[:-1])

    first = pages[0].items[0]
    assert first.title == "Brooklyn concert no. 1"
    assert first.start_utc == datetime(2026, 6, 6, 20, 0, tzinfo=UTC)
    assert first.end_utc == datetime(2026, 6, 6, 23, 0, tzinfo=UTC)
    assert first.timezone == "America/New_York"
    assert first.description == "An evening of live music."
    assert first.category == "music"
    assert (first.price_min, first.price_max, first.currency, first.is_free) == (
        Decimal("25.00"),
        Decimal("60.00"),
        "USD",
        False,
    )
    assert first.url == "https://www.eventbrite.com/e/5001"
    assert first.image_url == "https://img.evbuc.com/5001.jpg"
    assert first.status == "scheduled"
    brooklyn_bowl = ("eventbrite:3003", "Brooklyn Bowl", "61 Wythe Ave, Brooklyn, NY 11249", 40.7218, -73.9575)
    assert first.venue == NormalizedVenue(*brooklyn_bowl, timezone="America/New_York")


def test_requests_carry_the_bearer_token_expansions_and_paging(fake: FakeEventbrite) -> None:
    fake.add_organization("1001", concerts(3))

    collect(build_connector(make_source(), fake, page_size=2))

    assert len(fake.requests) == 2
    first, second = fake.requests
    assert first.headers["Authorization"] == f"Bearer {fake_eb.API_KEY}"
    assert first.url.path == "/v3/organizations/1001/events/"
    assert fake.params(0) == {
        "expand": "venue,ticket_availability",
        "status": "all",
        "order_by": "start_asc",
        "time_filter": "current_future",
        "page_size": "2",
    }
    assert "continuation" in second.url.params


def test_follows_several_organisations_and_venues_in_turn(fake: FakeEventbrite) -> None:
    fake.add_organization("1001", concerts(3, first_id=5001))
    fake.add_organization("1002", concerts(1, first_id=6001))
    fake.add_venue("3003", concerts(2, first_id=7001))
    source = make_source(organization_id="1001, 1002", venue_id="3003")

    pages = collect(build_connector(source, fake, page_size=2))

    assert ids(pages) == ["5001", "5002", "5003", "6001", "7001", "7002"]
    assert [request.url.path for request in fake.requests] == [
        "/v3/organizations/1001/events/",
        "/v3/organizations/1001/events/",
        "/v3/organizations/1002/events/",
        "/v3/venues/3003/events/",
    ]
    venue_params = fake.params(-1)
    assert venue_params["only_public"] == "true"
    assert venue_params["start_date.range_start"] == "2026-06-05T12:00:00Z"
    assert venue_params["start_date.range_end"] == "2026-08-04T12:00:00Z"
    checkpoints = [page.checkpoint for page in pages]
    assert [c["index"] if c else None for c in checkpoints] == [0, 1, 2, None]


def test_events_outside_the_window_are_left_out_and_paging_stops_past_its_end(fake: FakeEventbrite) -> None:
    inside = concerts(2, first_id=5001)
    later = concerts(4, first_id=5101, start=WINDOW[1] + timedelta(days=1))
    fake.add_organization("1001", inside + later)

    pages = collect(build_connector(make_source(), fake, page_size=3))

    assert ids(pages) == ["5001", "5002"]
    assert len(fake.requests) == 1  # the first page already went past the window: no need for the rest
    assert pages[-1].checkpoint is None


def test_drafts_unlisted_and_online_events_are_not_for_the_catalogue(fake: FakeEventbrite) -> None:
    start = NOW + timedelta(days=2)
    fake.add_organization(
        "1001",
        [
            event("5001", name="Public show", start=start),
            event("5002", name="Draft show", start=start + timedelta(hours=1), status="draft"),
            event("5003", name="Private show", start=start + timedelta(hours=2), listed=False),
            event("5004", name="Livestream", start=start + timedelta(hours=3), online_event=True),
        ],
    )

    pages = collect(build_connector(make_source(), fake))

    assert ids(pages) == ["5001"]
    assert not [bad for page in pages for bad in page.invalid]


# --- Prices, free, categories, bad items ------------------------------------------------------------------------


def test_an_event_without_a_price_has_no_price_range(fake: FakeEventbrite) -> None:
    fake.add_organization(
        "1001", [event("5001", name="Pay what you can", start=NOW + timedelta(days=3), min_price=None, max_price=None)]
    )

    [item] = ids_items(collect(build_connector(make_source(), fake)))

    assert (item.price_min, item.price_max, item.currency, item.is_free) == (None, None, "", False)


def test_free_events_are_free_at_zero(fake: FakeEventbrite) -> None:
    fake.add_organization("1001", [event("5001", name="Open rehearsal", start=NOW + timedelta(days=3), is_free=True)])

    [item] = ids_items(collect(build_connector(make_source(), fake)))

    assert item.is_free is True
    assert (item.price_min, item.price_max, item.currency) == (Decimal("0.00"), Decimal("0.00"), "USD")


@pytest.mark.parametrize(
    ("category_id", "format_id", "slug"),
    [
        ("110", "6", "food-drink"),
        ("105", None, "arts-theatre"),
        ("102", "9", "learning"),
        (None, "5", "festivals"),
        ("199", None, ""),
    ],
)
def test_categories_map_to_the_taxonomy(
    fake: FakeEventbrite, category_id: str | None, format_id: str | None, slug: str
) -> None:
    fake.add_organization(
        "1001",
        [event("5001", name="Something", start=NOW + timedelta(days=3), category_id=category_id, format_id=format_id)],
    )

    [item] = ids_items(collect(build_connector(make_source(), fake)))

    assert item.category == slug


def ids_items(pages: list[Page]) -> list[Any]:
    return [item for page in pages for item in page.items]


# --- Failures: broken bodies, unknown or malformed ids ------------------------------------------------------------


def test_a_truncated_body_is_retried_once_and_then_read_whole(fake: FakeEventbrite) -> None:
    fake.add_organization("1001", concerts(1))
    fake.fail_next(fake_eb.truncated_body())

    assert ids(collect(build_connector(make_source(), fake))) == ["5001"]


def test_a_body_of_the_wrong_shape_fails_at_once(fake: FakeEventbrite) -> None:
    fake.add_organization("1001", concerts(1))
    fake.fail_next(fake_eb.wrong_shape())

    with pytest.raises(EventbriteError, match="without events or pagination"):
        collect(build_connector(make_source(), fake))

    assert len(fake.requests) == 1


def test_an_unknown_organisation_is_a_configuration_error(fake: FakeEventbrite) -> None:
    with pytest.raises(SourceConfigError, match="no organization 1001"):
        collect(build_connector(make_source(), fake))

    assert len(fake.requests) == 1


def test_a_source_without_ids_is_a_configuration_error(fake: FakeEventbrite) -> None:
    source = make_source()
    source.options = {}

    with pytest.raises(SourceConfigError, match="organization_id or venue_id"):
        collect(build_connector(source, fake))


def test_ids_that_could_bend_the_request_path_are_refused(fake: FakeEventbrite) -> None:
    with pytest.raises(SourceConfigError, match="are not"):
        collect(build_connector(make_source(organization_id="1001/../../users/me"), fake))

    assert fake.requests == []


# --- Checkpoints -----------------------------------------------------------------------------------------------


def test_resuming_from_a_checkpoint_reads_on_from_there_and_ignores_the_window_arguments(fake: FakeEventbrite) -> None:
    fake.add_organization("1001", concerts(3, first_id=5001))
    fake.add_venue("3003", concerts(2, first_id=7001))
    source = make_source(organization_id="1001", venue_id="3003")
    uninterrupted = collect(build_connector(source, fake, page_size=2))
    checkpoint = uninterrupted[0].checkpoint
    assert checkpoint is not None
    assert checkpoint["continuation"]
    fake.requests.clear()

    resumed = list(
        build_connector(source, fake, page_size=2).pages(
            window_start=NOW + timedelta(days=400), window_end=NOW + timedelta(days=401), checkpoint=checkpoint
        )
    )

    assert ids(resumed) == ["5003", "7001", "7002"]
    assert fake.requests[0].url.params["continuation"] == checkpoint["continuation"]
    assert fake.params(-1)["start_date.range_start"] == "2026-06-05T12:00:00Z"


# --- Full sync runs ------------------------------------------------------------------------------------------------


def test_a_full_sync_stores_the_events_and_a_second_sync_finds_them_unchanged(fake: FakeEventbrite) -> None:
    start = NOW + timedelta(days=1)
    fake.add_organization(
        "1001",
        [
            *concerts(3, first_id=5001),
            event("5010", name="Sold without price", start=start + timedelta(days=9), min_price=None, max_price=None),
            event("5011", name="Free jam", start=start + timedelta(days=10), is_free=True),
            event("5012", name="Called-off gala", start=start + timedelta(days=11), status="canceled"),
        ],
    )
    fake.add_venue("3004", [event("7001", name="Film night", start=start + timedelta(days=12), category_id="104")])
    source = make_source(organization_id="1001", venue_id="3004")

    run = completed_sync(source, build_connector(source, fake, page_size=2), NOW)

    assert (run.fetched, run.created, run.updated, run.unchanged, run.failed, run.pages) == (7, 7, 0, 0, 0, 4)
    assert run.checkpoint is None
    assert Event.objects.count() == 7
    assert Event.objects.filter(source=source).count() == 7
    gala = Event.objects.get(title="Called-off gala")
    assert gala.status == "cancelled"
    free = Event.objects.get(title="Free jam")
    assert (free.is_free, free.price_min) == (True, Decimal("0.00"))
    no_price = Event.objects.get(title="Sold without price")
    assert (no_price.price_min, no_price.price_max, no_price.currency) == (None, None, "")
    film = Event.objects.get(title="Film night")
    assert (film.category, film.lat, film.lon) == ("film", 40.7218, -73.9575)
    assert film.venue is not None
    assert film.venue.key == "eventbrite:3003"

    assert_a_second_sync_changes_nothing(
        run,
        lambda: completed_sync(source, build_connector(source, fake, page_size=2), NOW),
        *CATALOGUE,
    )


def test_a_broken_second_page_keeps_the_first_and_the_checkpoint_to_resume(fake: FakeEventbrite) -> None:
    fake.add_organization("1001", concerts(3))
    source = make_source()
    connector = build_connector(source, fake, page_size=2)
    pages = connector.pages

    def break_after_first(**kwargs: Any) -> Any:
        for page in pages(**kwargs):
            yield page
            fake.fail_next(fake_eb.wrong_shape())

    connector.pages = break_after_first  # type: ignore[method-assign]
    run = sync.sync_source(source_id=source.pk, connector=connector, now=NOW)

    assert run.outcome == SyncOutcome.FAILED
    assert Event.objects.count() == 2
    assert run.checkpoint is not None
    resumed = completed_sync(source, build_connector(source, fake, page_size=2), NOW)
    assert resumed.created == 1
    assert Event.objects.count() == 3
