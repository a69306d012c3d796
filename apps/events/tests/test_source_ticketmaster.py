"""What only the Ticketmaster connector does, against a fake Discovery API v2 answering in its documented shapes:
the request, the mapping of an event, paging in slices under the deep-paging limit, time-TBA events, the daily
quota and the spike arrest, pacing. What every connector does is in test_connector_contract.py."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from apps.core.http import RetryLaterError
from apps.events import services
from apps.events.models import Event, EventStatus, Source, Venue
from apps.events.sources.base import Page
from apps.events.sources.ticketmaster import REQUESTS_PER_SECOND, TicketmasterConnector, geohash
from apps.events.sources.ticketmaster_mapping import normalize_event
from apps.events.tests.fakes import ticketmaster as tm
from apps.events.tests.fakes.network import FakeClock
from apps.events.tests.resync import assert_a_second_sync_changes_nothing, completed_sync

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
WINDOW = (NOW, NOW + timedelta(days=14))
SATURDAY_EVENING = datetime(2026, 12, 5, 19, 30, tzinfo=UTC)

# What a second sync must leave as it was.
CATALOGUE = ("title", "start_utc", "timezone", "time_tba", "status", "price_min", "venue__key")


_ticketmaster_settings = tm.CONTRACT.settings_fixture()  # the fake's URL and key, for every test here


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def source() -> Source:
    return services.source_create(provider="ticketmaster", name="tm-berlin", near=(52.52, 13.405), radius_km=12.5)


def _events(
    count: int, *, start: datetime = SATURDAY_EVENING, every: timedelta = timedelta(minutes=30)
) -> list[dict[str, Any]]:
    return [
        tm.event(f"G5diZ9{i:07d}", f"Concert {i}", start=start + i * every, prices=[tm.price_range(20, 45)])
        for i in range(count)
    ]


def _all_pages(connector: TicketmasterConnector, checkpoint: dict[str, Any] | None = None) -> list[Page]:
    return list(connector.pages(window_start=WINDOW[0], window_end=WINDOW[1], checkpoint=checkpoint))


def _items(pages: list[Page]) -> list[Any]:
    return [item for page in pages for item in page.items]


# --- The request and the mapping ----------------------------------------------------------------------------


def test_geohash_matches_the_reference_values() -> None:
    assert geohash(57.64911, 10.40744, 11) == "u4pruydqqvj"  # the canonical example of the geohash paper
    assert geohash(42.6, -5.6, 5) == "ezs42"  # Wikipedia's worked example
    assert geohash(-33.8688, 151.2093, 5) == "r3gx2"  # Sydney: a southern and eastern point


def test_the_request_carries_the_documented_parameters(source: Source, fake_clock: FakeClock) -> None:
    fake = tm.FakeTicketmaster(_events(1), clock=fake_clock)

    _all_pages(tm.build_connector(source, fake))

    first = fake.params[0]
    assert fake.requests[0].url.path == "/discovery/v2/events.json"
    assert first == {
        "apikey": tm.API_KEY,
        "geoPoint": "u33dc0cpp",
        "radius": "13",
        "unit": "km",
        "startDateTime": "2026-12-01T09:00:00Z",
        "endDateTime": "2026-12-08T08:59:59Z",
        "size": "100",
        "page": "0",
        "sort": "date,asc",
        "includeTBA": "yes",
        "includeTBD": "yes",
    }
    # The window is searched in week-long slices that meet without overlapping.
    assert fake.params[1]["startDateTime"] == "2026-12-08T09:00:00Z"
    assert fake.params[1]["endDateTime"] == "2026-12-15T08:59:59Z"


def test_the_documented_example_event_normalises_field_by_field() -> None:
    event = normalize_event(tm.DOCUMENTED_EVENT)

    assert event.provider_id == "vvG1VZKS5pr1qy"
    assert event.title == "WGC Cadillac Championship - Sunday Ticket"
    # timeTBA with only a local date: a real event on that day, starting at local midnight until announced.
    assert event.time_tba is True
    assert event.all_day is False
    assert event.timezone == "America/New_York"
    assert event.start_utc == datetime(2016, 3, 6, 5, 0, tzinfo=UTC)
    assert event.status == "scheduled"  # offsale is still a scheduled event
    assert event.category == "sports"
    assert event.tags == ("Sports", "Golf", "PGA Tour")
    assert (event.price_min, event.price_max, event.currency, event.is_free) == (None, None, "", False)
    assert event.url == "http://ticketmaster.com/event/0E0050681F51BA4C"
    assert event.image_url.endswith("_RETINA_LANDSCAPE_16_9.jpg")
    assert event.venue is not None
    assert event.venue.key == "ticketmaster:KovZpZAaEldA"
    assert event.venue.name == "Trump National Doral"
    assert event.venue.address == "4400 NW 87th Avenue, Miami, 33178"
    assert (event.venue.lat, event.venue.lon) == (25.81260379, -80.33854298)
    assert event.venue.timezone == "America/New_York"


def test_a_timed_event_keeps_its_instant_zone_prices_and_category() -> None:
    raw = tm.event(
        "G5diZ9fFAbcd1",
        "Annenmaykantereit",
        start=SATURDAY_EVENING,
        end=SATURDAY_EVENING + timedelta(hours=3),
        prices=[tm.price_range(49.9, 89.9), tm.price_range(59.9, 99.9, kind="standard including fees")],
        venues=[tm.COLUMBIAHALLE],
        info="Doors open at 19:00.",
    )
    event = normalize_event(raw)

    assert event.start_utc == SATURDAY_EVENING
    assert event.end_utc == SATURDAY_EVENING + timedelta(hours=3)
    assert event.timezone == "Europe/Berlin"
    assert (event.time_tba, event.all_day) == (False, False)
    assert (event.price_min, event.price_max, event.currency) == (Decimal("49.90"), Decimal("89.90"), "EUR")
    assert event.category == "music"
    assert event.description == "Doors open at 19:00."
    assert event.venue is not None
    assert event.venue.name == "Columbiahalle"
    assert (event.venue.lat, event.venue.lon) == (52.4846, 13.3903)


@pytest.mark.parametrize(
    ("classification", "category"),
    [(tm.MUSIC, "music"), (tm.SPORTS, "sports"), (tm.THEATRE, "arts-theatre"), (tm.FAMILY, "family"), (None, "")],
)
def test_classifications_map_to_the_taxonomy(classification: Any, category: str) -> None:
    raw = tm.event("G5diZ9fFAbcd2", "Something", start=SATURDAY_EVENING, classification=classification)
    assert normalize_event(raw).category == category


# --- Paging -------------------------------------------------------------------------------------------------


def test_several_pages_each_with_the_checkpoint_to_resume_after_it(source: Source, fake_clock: FakeClock) -> None:
    fake = tm.FakeTicketmaster(_events(250, start=NOW + timedelta(hours=3)), clock=fake_clock)

    pages = _all_pages(tm.build_connector(source, fake))

    assert [len(p.items) for p in pages] == [100, 100, 50, 0]  # three pages of the first week, then the second week
    assert [p["page"] for p in fake.params] == ["0", "1", "2", "0"]
    assert pages[0].checkpoint == {
        "version": 1,
        "window_start": "2026-12-01T09:00:00Z",
        "window_end": "2026-12-15T09:00:00Z",
        "slice_start": "2026-12-01T09:00:00Z",
        "slice_end": "2026-12-08T09:00:00Z",
        "page": 1,
    }
    assert pages[2].checkpoint is not None
    assert (pages[2].checkpoint["slice_start"], pages[2].checkpoint["page"]) == ("2026-12-08T09:00:00Z", 0)
    assert pages[-1].checkpoint is None
    assert len({item.provider_id for item in _items(pages)}) == 250


def test_resuming_from_a_checkpoint_ignores_the_window_arguments(source: Source, fake_clock: FakeClock) -> None:
    events = _events(250, start=NOW + timedelta(hours=3))
    fake = tm.FakeTicketmaster(events, clock=fake_clock)
    checkpoint = _all_pages(tm.build_connector(source, tm.FakeTicketmaster(events, clock=fake_clock)))[1].checkpoint

    connector = tm.build_connector(source, fake)
    far_away = datetime(2030, 1, 1, tzinfo=UTC)
    pages = list(connector.pages(window_start=far_away, window_end=far_away + timedelta(days=1), checkpoint=checkpoint))

    assert fake.params[0]["page"] == "2"
    assert fake.params[0]["startDateTime"] == "2026-12-01T09:00:00Z"
    assert [len(p.items) for p in pages] == [50, 0]


def test_a_busy_window_is_split_so_paging_never_goes_too_deep(source: Source, fake_clock: FakeClock) -> None:
    # 1,800 events in three days: a week-long slice holds more than the 1,000 the API lets us page through.
    fake = tm.FakeTicketmaster(_events(1800, every=timedelta(minutes=2)), clock=fake_clock)

    pages = _all_pages(tm.build_connector(source, fake))

    assert all(int(p["size"]) * int(p["page"]) < 1000 for p in fake.params)
    assert all(r.url.params["page"] != "10" for r in fake.requests)
    ids = [item.provider_id for item in _items(pages)]
    assert len(ids) == len(set(ids)) == 1800
    assert pages[-1].checkpoint is None
    # Every slice that was paged through held fewer than 1,000 events.
    assert max(len(_items([p])) for p in pages) <= 100


def test_a_window_that_is_already_over_asks_nothing(source: Source, fake_clock: FakeClock) -> None:
    fake = tm.FakeTicketmaster(_events(3), clock=fake_clock)
    connector = tm.build_connector(source, fake)

    assert list(connector.pages(window_start=NOW, window_end=NOW, checkpoint=None)) == []
    assert fake.requests == []


# --- Kinds of events ----------------------------------------------------------------------------------------


def test_time_tba_events_are_kept_on_their_date(source: Source, fake_clock: FakeClock) -> None:
    fake = tm.FakeTicketmaster(
        [
            tm.event("G5diZ9TBA0001", "Headliner to be announced", start=date(2026, 12, 6), time_tba=True),
            tm.event("G5diZ9ALLDAY1", "Christmas market", start=date(2026, 12, 6), no_specific_time=True),
        ],
        clock=fake_clock,
    )

    items = {i.provider_id: i for i in _items(_all_pages(tm.build_connector(source, fake)))}

    tba = items["G5diZ9TBA0001"]
    assert (tba.time_tba, tba.all_day) == (True, False)
    assert tba.start_utc == datetime(2026, 12, 5, 23, 0, tzinfo=UTC)  # midnight in Berlin
    all_day = items["G5diZ9ALLDAY1"]
    assert (all_day.time_tba, all_day.all_day) == (False, True)


def test_an_event_without_price_ranges_has_unknown_prices_not_free(source: Source, fake_clock: FakeClock) -> None:
    fake = tm.FakeTicketmaster([tm.event("G5diZ9NOPRICE", "Secret show", start=SATURDAY_EVENING)], clock=fake_clock)

    (item,) = _items(_all_pages(tm.build_connector(source, fake)))

    assert (item.price_min, item.price_max, item.currency, item.is_free) == (None, None, "", False)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("onsale", "scheduled"),
        ("offsale", "scheduled"),
        ("cancelled", "cancelled"),
        ("postponed", "postponed"),
        ("rescheduled", "rescheduled"),
    ],
)
def test_status_codes_map_to_our_statuses(source: Source, fake_clock: FakeClock, code: str, status: str) -> None:
    fake = tm.FakeTicketmaster(
        [tm.event("G5diZ9STATUS1", "Show", start=SATURDAY_EVENING, status=code)], clock=fake_clock
    )

    (item,) = _items(_all_pages(tm.build_connector(source, fake)))

    assert item.status == status


# --- The spike arrest, the daily quota, pacing --------------------------------------------------------------


def test_a_spike_arrest_backs_off_briefly_instead_of_waiting_for_the_daily_reset(
    source: Source, fake_clock: FakeClock
) -> None:
    fake = tm.FakeTicketmaster(_events(3), clock=fake_clock)
    fake.fail_next(tm.spike_arrest(fake_clock))

    pages = _all_pages(tm.build_connector(source, fake))

    assert len(_items(pages)) == 3
    assert fake_clock.slept < 60


def test_the_last_call_of_the_quota_pauses_the_run_with_its_checkpoint(source: Source, fake_clock: FakeClock) -> None:
    fake = tm.FakeTicketmaster(_events(250, start=NOW + timedelta(hours=3)), clock=fake_clock)
    fake.quota_available = 1  # the first answer says none are left until midnight
    connector = tm.build_connector(source, fake)
    iterator = connector.pages(window_start=WINDOW[0], window_end=WINDOW[1], checkpoint=None)

    first = next(iterator)
    with pytest.raises(RetryLaterError):
        next(iterator)

    assert len(first.items) == 100
    assert first.checkpoint is not None
    assert first.checkpoint["page"] == 1
    assert len(fake.requests) == 1  # no request spent on a certain 429


def test_requests_are_paced_under_two_per_second(source: Source, fake_clock: FakeClock) -> None:
    fake = tm.FakeTicketmaster(_events(450), clock=fake_clock)

    _all_pages(tm.build_connector(source, fake))

    gaps = [later - earlier for earlier, later in zip(fake.request_times, fake.request_times[1:], strict=False)]
    assert len(gaps) >= 5
    assert min(gaps) >= 1 / REQUESTS_PER_SECOND - 1e-6 > 0.5


# --- Through a sync run ---------------------------------------------------------------------------------------


def _city() -> list[dict[str, Any]]:
    """A fortnight in Berlin: 230 timed events over three venues, a time-TBA one, a cancelled one, a bad one."""
    venues = [tm.venue(), tm.COLUMBIAHALLE, tm.TEMPODROM]
    events = [
        tm.event(
            f"G5diZ9{i:07d}",
            f"Concert {i}",
            start=NOW + timedelta(hours=3) + i * timedelta(hours=1, minutes=20),
            venues=[venues[i % 3]],
            prices=[tm.price_range(15 + i % 40, 40 + i % 40)] if i % 5 else None,
        )
        for i in range(230)
    ]
    events.append(tm.event("G5diZ9TBA0001", "Support to be announced", start=date(2026, 12, 12), time_tba=True))
    events.append(tm.event("G5diZ9CANCEL1", "Cancelled tour", start=SATURDAY_EVENING, status="cancelled"))
    events.append(tm.event("G5diZ9DATETBD", "Some day", start=date(2026, 12, 12), date_tbd=True))
    return events


def test_a_full_sync_fills_the_catalogue_and_a_second_reports_everything_unchanged(
    source: Source, fake_clock: FakeClock
) -> None:
    fake = tm.FakeTicketmaster(_city(), clock=fake_clock)

    run = completed_sync(source, tm.build_connector(source, fake), NOW)

    # 60-day window: nine week-long slices, the first two with two pages each, the others one (mostly empty).
    assert (run.fetched, run.created, run.updated, run.unchanged, run.failed) == (233, 232, 0, 0, 1)
    assert run.pages == len(fake.requests) == 11
    assert run.checkpoint is None
    assert Event.objects.count() == 232
    assert Venue.objects.filter(key__startswith="ticketmaster:").count() == 3
    tba = Event.objects.get(title="Support to be announced")
    assert tba.time_tba is True
    assert Event.objects.get(title="Cancelled tour").status == EventStatus.CANCELLED
    assert Event.objects.get(title="Concert 5").price_min is None
    assert Event.objects.get(title="Concert 1").price_min == Decimal("16.00")

    assert_a_second_sync_changes_nothing(
        run,
        lambda: completed_sync(source, tm.build_connector(source, fake), NOW),
        *CATALOGUE,
    )
