"""What only the iCalendar feed connector does, against a fake feed: time zones, all-day entries, recurrence,
feeds that are not iCalendar or too large, webcal URLs, redirects, and a full sync of a venue's programme. What
every connector does is in test_connector_contract.py."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.events import services
from apps.events.models import Event, EventStatus, Source, Venue
from apps.events.sources import connector_for
from apps.events.sources.base import NormalizedEvent, Page
from apps.events.sources.ics import FeedError, IcsConnector
from apps.events.tests.fakes import ics
from apps.events.tests.fakes.ics import vcalendar, vevent
from apps.events.tests.fakes.network import FakeClock, serve
from apps.events.tests.resync import assert_a_second_sync_changes_nothing, completed_sync

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
WINDOW = (NOW, NOW + timedelta(days=60))
BERLIN_TZID = "DTSTART;TZID=Europe/Berlin"

# What a second sync must leave as it was.
CATALOGUE = ("title", "start_utc", "timezone", "all_day", "status", "category", "venue__name")

# A VEVENT with every property the connector reads, written out as the venue's feed has it: times in the
# venue's zone, commas escaped.
JAZZ_NIGHT = """BEGIN:VEVENT
UID:jazz-0314@kulturbrauerei.de
DTSTAMP:20261101T120000Z
DTSTART;TZID=Europe/Berlin:20260314T200000
DTEND;TZID=Europe/Berlin:20260314T230000
SUMMARY:Jazz im Kesselhaus
DESCRIPTION:Quartet\\, then a jam session.
LOCATION:Kesselhaus\\, Kulturbrauerei\\, Schönhauser Allee 36\\, 10435 Berlin
GEO:52.5388;13.4127
URL:https://www.kulturbrauerei.de/programm/jazz-0314
CATEGORIES:Music,Jazz
STATUS:CONFIRMED
END:VEVENT"""


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def source() -> Source:
    return services.source_create(provider="ics", name="kulturbrauerei", options={"url": ics.FEED_URL})


def _pages(connector: IcsConnector, window: tuple[datetime, datetime] = WINDOW) -> list[Page]:
    return list(connector.pages(window_start=window[0], window_end=window[1], checkpoint=None))


def _by_id(pages: list[Page]) -> dict[str, NormalizedEvent]:
    return {item.provider_id: item for page in pages for item in page.items}


def _read(source: Source, text: str, fake_clock: FakeClock, **window: Any) -> dict[str, NormalizedEvent]:
    fake = ics.FakeFeed(text, clock=fake_clock)
    return _by_id(_pages(ics.build_connector(source, fake), **window))


# --- Reading a feed --------------------------------------------------------------------------------------------


def test_a_feed_is_one_page_of_normalised_events(source: Source, fake_clock: FakeClock) -> None:
    fake = ics.FakeFeed(vcalendar(JAZZ_NIGHT, timezones=(ics.VTIMEZONE_BERLIN,)), clock=fake_clock)

    pages = _pages(ics.build_connector(source, fake))

    assert len(pages) == 1
    assert pages[0].checkpoint is None
    assert pages[0].invalid == []
    (event,) = pages[0].items
    assert event.provider_id == "jazz-0314@kulturbrauerei.de"  # a one-off entry: its UID alone
    assert event.title == "Jazz im Kesselhaus"
    assert event.description == "Quartet, then a jam session."
    assert event.start_utc == datetime(2026, 3, 14, 19, 0, tzinfo=UTC)
    assert event.end_utc == datetime(2026, 3, 14, 22, 0, tzinfo=UTC)
    assert event.timezone == "Europe/Berlin"
    assert (event.all_day, event.time_tba, event.status) == (False, False, "scheduled")
    assert event.category == "music"
    assert event.tags == ("Music", "Jazz")
    assert event.url == "https://www.kulturbrauerei.de/programm/jazz-0314"
    assert (event.price_min, event.price_max, event.is_free) == (None, None, False)
    assert event.venue is not None
    assert event.venue.name == "Kesselhaus"
    assert event.venue.address == "Kesselhaus, Kulturbrauerei, Schönhauser Allee 36, 10435 Berlin"
    assert (event.venue.lat, event.venue.lon) == (52.5388, 13.4127)
    assert event.venue.key.startswith("ics:")
    assert fake.requests[0].url == ics.FEED_URL


def test_utc_and_floating_times_are_shown_in_the_calendars_zone(source: Source, fake_clock: FakeClock) -> None:
    text = vcalendar(
        vevent(UID="utc@x", DTSTART="20260314T190000Z", DTEND="20260314T210000Z", SUMMARY="UTC"),
        vevent(UID="floating@x", DTSTART="20260314T200000", SUMMARY="Floating"),
        x_wr_timezone="Europe/Berlin",
    )

    events = _read(source, text, fake_clock)

    assert events["utc@x"].start_utc == datetime(2026, 3, 14, 19, 0, tzinfo=UTC)
    assert events["utc@x"].timezone == "Europe/Berlin"
    assert events["floating@x"].start_utc == datetime(2026, 3, 14, 19, 0, tzinfo=UTC)  # 20:00 in Berlin
    assert events["floating@x"].timezone == "Europe/Berlin"


def test_duration_gives_the_end_and_no_end_stays_unknown(source: Source, fake_clock: FakeClock) -> None:
    text = vcalendar(
        vevent(UID="talk@x", DTSTART="20260314T180000Z", DURATION="PT1H30M", SUMMARY="Talk"),
        vevent(UID="open@x", DTSTART="20260314T180000Z", SUMMARY="Open end"),
    )

    events = _read(source, text, fake_clock)

    assert events["talk@x"].end_utc == datetime(2026, 3, 14, 19, 30, tzinfo=UTC)
    assert events["open@x"].end_utc is None


def test_without_a_calendar_zone_floating_times_are_utc(source: Source, fake_clock: FakeClock) -> None:
    text = vcalendar(vevent(UID="floating@x", DTSTART="20260314T200000", SUMMARY="Floating"))

    event = _read(source, text, fake_clock)["floating@x"]

    assert event.start_utc == datetime(2026, 3, 14, 20, 0, tzinfo=UTC)
    assert event.timezone == "UTC"


def test_an_unknown_calendar_zone_is_ignored(source: Source, fake_clock: FakeClock) -> None:
    text = vcalendar(vevent(UID="a@x", DTSTART="20260314T200000", SUMMARY="A"), x_wr_timezone="Mars/Olympus_Mons")

    event = _read(source, text, fake_clock)["a@x"]

    assert (event.start_utc, event.timezone) == (datetime(2026, 3, 14, 20, 0, tzinfo=UTC), "UTC")


def test_all_day_events_are_dates_in_the_calendars_zone(source: Source, fake_clock: FakeClock) -> None:
    text = vcalendar(
        vevent(
            UID="market@x",
            **{"DTSTART;VALUE=DATE": "20260321", "DTEND;VALUE=DATE": "20260323"},
            SUMMARY="Spring market",
        ),
        vevent(UID="oneday@x", **{"DTSTART;VALUE=DATE": "20260322"}, SUMMARY="Open day", CATEGORIES="Family"),
        x_wr_timezone="Europe/Berlin",
    )

    events = _read(source, text, fake_clock)

    market = events["market@x"]
    assert market.all_day is True
    assert market.timezone == "Europe/Berlin"
    assert market.start_utc == datetime(2026, 3, 20, 23, 0, tzinfo=UTC)
    assert market.end_utc == datetime(2026, 3, 22, 23, 0, tzinfo=UTC)
    assert events["oneday@x"].end_utc == datetime(2026, 3, 22, 23, 0, tzinfo=UTC)
    assert events["oneday@x"].category == "family"


def test_a_checkpoint_naming_a_window_wins_over_the_window_arguments(source: Source, fake_clock: FakeClock) -> None:
    fake = ics.FakeFeed(vcalendar(vevent(UID="soon@x", DTSTART="20260314T190000Z", SUMMARY="Soon")), clock=fake_clock)
    far_away = datetime(2030, 1, 1, tzinfo=UTC)
    checkpoint = {"window_start": "2026-03-01T09:00:00Z", "window_end": "2026-04-30T09:00:00Z"}

    pages = list(
        ics.build_connector(source, fake).pages(window_start=far_away, window_end=far_away, checkpoint=checkpoint)
    )

    assert [i.provider_id for i in pages[0].items] == ["soon@x"]


def test_only_occurrences_in_the_window_are_returned(source: Source, fake_clock: FakeClock) -> None:
    text = vcalendar(
        vevent(UID="past@x", DTSTART="20260201T190000Z", SUMMARY="Past"),
        vevent(UID="soon@x", DTSTART="20260314T190000Z", SUMMARY="Soon"),
        vevent(UID="later@x", DTSTART="20260601T190000Z", SUMMARY="Later"),
    )

    assert set(_read(source, text, fake_clock)) == {"soon@x"}


# --- Recurrence ----------------------------------------------------------------------------------------------


def test_a_weekly_series_across_the_dst_change_keeps_its_wall_time_skips_exdates_and_moves_overrides(
    source: Source, fake_clock: FakeClock
) -> None:
    # Saturdays at 10:00 in Berlin; summer time starts on Sunday 29 March 2026.
    text = vcalendar(
        vevent(
            UID="yoga@kulturbrauerei.de",
            **{
                BERLIN_TZID: "20260314T100000",
                "DTEND;TZID=Europe/Berlin": "20260314T113000",
                "EXDATE;TZID=Europe/Berlin": "20260328T100000",
            },
            RRULE="FREQ=WEEKLY;BYDAY=SA;COUNT=6",
            SUMMARY="Yoga im Hof",
            LOCATION="Kulturbrauerei\\, Hof",
        ),
        vevent(
            UID="yoga@kulturbrauerei.de",
            **{
                "RECURRENCE-ID;TZID=Europe/Berlin": "20260411T100000",
                BERLIN_TZID: "20260411T120000",
                "DTEND;TZID=Europe/Berlin": "20260411T133000",
            },
            SUMMARY="Yoga im Hof (late start)",
            LOCATION="Kulturbrauerei\\, Hof",
        ),
        vevent(
            UID="yoga@kulturbrauerei.de",
            **{"RECURRENCE-ID;TZID=Europe/Berlin": "20260418T100000", BERLIN_TZID: "20260418T100000"},
            SUMMARY="Yoga im Hof",
            STATUS="CANCELLED",
        ),
        timezones=(ics.VTIMEZONE_BERLIN,),
    )

    events = _read(source, text, fake_clock)

    assert sorted(events) == [
        "yoga@kulturbrauerei.de|20260314T090000Z",
        "yoga@kulturbrauerei.de|20260321T090000Z",
        # 28 March is an EXDATE; from 4 April Berlin is on UTC+2, so 10:00 is 08:00 UTC.
        "yoga@kulturbrauerei.de|20260404T080000Z",
        "yoga@kulturbrauerei.de|20260411T080000Z",
        "yoga@kulturbrauerei.de|20260418T080000Z",
    ]
    first = events["yoga@kulturbrauerei.de|20260314T090000Z"]
    assert (first.start_utc, first.end_utc) == (
        datetime(2026, 3, 14, 9, 0, tzinfo=UTC),
        datetime(2026, 3, 14, 10, 30, tzinfo=UTC),
    )
    after_dst = events["yoga@kulturbrauerei.de|20260404T080000Z"]
    assert after_dst.start_utc == datetime(2026, 4, 4, 8, 0, tzinfo=UTC)
    assert after_dst.timezone == "Europe/Berlin"
    # A moved occurrence keeps the key of the instant it replaces.
    moved = events["yoga@kulturbrauerei.de|20260411T080000Z"]
    assert moved.start_utc == datetime(2026, 4, 11, 10, 0, tzinfo=UTC)
    assert moved.title == "Yoga im Hof (late start)"
    assert events["yoga@kulturbrauerei.de|20260418T080000Z"].status == "cancelled"
    # Every occurrence is at the same venue.
    assert len({e.venue.key for e in events.values() if e.venue}) == 1


def test_a_google_style_series_in_utc_recurs_at_local_wall_time(source: Source, fake_clock: FakeClock) -> None:
    # Google writes times in UTC and names the calendar's zone in X-WR-TIMEZONE; the series meets at 10:00 in
    # New York before and after the end of daylight saving time (1 November 2026).
    text = vcalendar(
        vevent(
            UID="club@google.com",
            DTSTART="20261024T140000Z",
            DTEND="20261024T150000Z",
            RRULE="FREQ=WEEKLY;COUNT=3",
            SUMMARY="Book club",
        ),
        x_wr_timezone="America/New_York",
    )
    window = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))

    events = _read(source, text, fake_clock, window=window)

    assert [e.start_utc.astimezone(UTC).hour for e in sorted(events.values(), key=lambda e: e.start_utc)] == [
        14,
        14,
        15,
    ]
    assert all(e.timezone == "America/New_York" for e in events.values())
    assert "club@google.com|20261107T150000Z" in events


def test_a_daily_all_day_series_is_keyed_by_date(source: Source, fake_clock: FakeClock) -> None:
    text = vcalendar(
        vevent(
            UID="fest@x", **{"DTSTART;VALUE=DATE": "20260402"}, RRULE="FREQ=DAILY;COUNT=3", SUMMARY="Easter festival"
        ),
        x_wr_timezone="Europe/Berlin",
    )

    events = _read(source, text, fake_clock)

    assert sorted(events) == ["fest@x|20260402", "fest@x|20260403", "fest@x|20260404"]
    assert all(e.all_day for e in events.values())
    assert {e.category for e in events.values()} == {""}  # no CATEGORIES: no category (titles are not guessed at)


def test_an_endless_series_is_cut_at_the_window(source: Source, fake_clock: FakeClock) -> None:
    text = vcalendar(vevent(UID="quiz@x", DTSTART="20260303T190000Z", RRULE="FREQ=WEEKLY", SUMMARY="Pub quiz"))

    events = _read(source, text, fake_clock)

    assert len(events) == 9  # Tuesdays from 3 March to 28 April
    assert max(e.start_utc for e in events.values()) < WINDOW[1]


def test_a_broken_rule_costs_only_its_own_series(source: Source, fake_clock: FakeClock) -> None:
    text = vcalendar(
        vevent(UID="broken@x", DTSTART="20260303T190000Z", RRULE="FREQ=SOMETIMES", SUMMARY="Broken"),
        vevent(UID="fine@x", DTSTART="20260314T190000Z", SUMMARY="Fine"),
    )
    fake = ics.FakeFeed(text, clock=fake_clock)

    (page,) = _pages(ics.build_connector(source, fake))

    assert [i.provider_id for i in page.items] == ["fine@x"]
    assert [bad.provider_id for bad in page.invalid] == ["broken@x"]


# --- Fetching ------------------------------------------------------------------------------------------------


def _simple_feed() -> str:
    return vcalendar(vevent(UID="a@x", DTSTART="20260314T190000Z", SUMMARY="A"))


@pytest.mark.parametrize("responder", [ics.not_a_calendar(), ics.broken_calendar()], ids=["html", "truncated"])
def test_a_body_that_is_not_icalendar_is_an_error_without_retry(
    source: Source, fake_clock: FakeClock, responder: Any
) -> None:
    fake = ics.FakeFeed(_simple_feed(), clock=fake_clock)
    fake.fail_next(responder)

    with pytest.raises(FeedError):
        _pages(ics.build_connector(source, fake))

    assert len(fake.requests) == 1


def test_a_feed_over_the_size_cap_is_refused(source: Source, fake_clock: FakeClock) -> None:
    text = vcalendar(*[vevent(UID=f"e{i}@x", DTSTART="20260314T190000Z", SUMMARY="x" * 200) for i in range(50)])
    fake = ics.FakeFeed(text, clock=fake_clock)

    with pytest.raises(FeedError, match="larger than"):
        _pages(ics.build_connector(source, fake, max_bytes=4096))


def test_webcal_urls_are_fetched_over_https(fake_clock: FakeClock) -> None:
    source = services.source_create(
        provider="ics", name="webcal", options={"url": "webcal://calendar.example.test/a.ics"}
    )
    fake = ics.FakeFeed(_simple_feed(), clock=fake_clock)

    _pages(ics.build_connector(source, fake))

    assert str(fake.requests[0].url) == "https://calendar.example.test/a.ics"


# --- Through a sync run ---------------------------------------------------------------------------------------


def _programme() -> str:
    """A venue's spring programme: weekly yoga, concerts, a cancelled show, an all-day market, a broken entry."""
    concerts = [
        vevent(
            UID=f"concert-{day:02d}@kulturbrauerei.de",
            **{BERLIN_TZID: f"202603{day:02d}T200000", "DTEND;TZID=Europe/Berlin": f"202603{day:02d}T230000"},
            SUMMARY=f"Konzert am {day}. März",
            LOCATION="Kesselhaus\\, Schönhauser Allee 36\\, 10435 Berlin",
            GEO="52.5388;13.4127",
            CATEGORIES="Concert",
        )
        for day in range(5, 29, 3)
    ]
    return vcalendar(
        vevent(
            UID="yoga@kulturbrauerei.de",
            **{BERLIN_TZID: "20260307T100000", "EXDATE;TZID=Europe/Berlin": "20260328T100000"},
            RRULE="FREQ=WEEKLY;UNTIL=20260425T235959Z",
            SUMMARY="Yoga im Hof",
            LOCATION="Hof\\, Schönhauser Allee 36\\, 10435 Berlin",
        ),
        *concerts,
        vevent(UID="show@kulturbrauerei.de", **{BERLIN_TZID: "20260320T193000"}, SUMMARY="Lesung", STATUS="CANCELLED"),
        vevent(
            UID="market@kulturbrauerei.de",
            **{"DTSTART;VALUE=DATE": "20260322"},
            SUMMARY="Streetfood auf Achse",
            CATEGORIES="Food",
        ),
        vevent(UID="broken@kulturbrauerei.de", SUMMARY="No start"),
        x_wr_timezone="Europe/Berlin",
        timezones=(ics.VTIMEZONE_BERLIN,),
    )


def test_a_full_sync_fills_the_catalogue_and_a_second_reports_everything_unchanged(
    source: Source, fake_clock: FakeClock
) -> None:
    fake = ics.FakeFeed(_programme(), clock=fake_clock)

    run = completed_sync(source, ics.build_connector(source, fake), NOW)

    # 7 yoga Saturdays (8 minus the EXDATE) + 8 concerts + the cancelled show + the market; one refused.
    assert (run.fetched, run.created, run.updated, run.unchanged, run.failed, run.pages) == (18, 17, 0, 0, 1, 1)
    assert run.checkpoint is None
    assert Event.objects.count() == 17
    assert Event.objects.filter(title="Yoga im Hof").count() == 7
    assert Event.objects.get(title="Lesung").status == EventStatus.CANCELLED
    market = Event.objects.get(title="Streetfood auf Achse")
    assert (market.all_day, market.category, market.timezone) == (True, "food-drink", "Europe/Berlin")
    assert set(Event.objects.filter(title__startswith="Konzert").values_list("category", flat=True)) == {"music"}
    assert Venue.objects.filter(key__startswith="ics:").count() == 2

    assert_a_second_sync_changes_nothing(
        run,
        lambda: completed_sync(source, ics.build_connector(source, fake), NOW),
        *CATALOGUE,
    )


def test_through_a_real_local_server_following_a_redirect(fake_clock: FakeClock) -> None:
    fake = ics.FakeFeed(_programme(), clock=fake_clock, redirect_from="/old/programm.ics")
    fake.fail_next(ics.server_error(503))
    with serve(fake.handle) as base_url:
        source = services.source_create(provider="ics", name="local", options={"url": f"{base_url}/old/programm.ics"})
        assert isinstance(connector_for(source), IcsConnector)
        connector = IcsConnector(source, sleep=fake_clock.sleep, clock=fake_clock.time)  # the real client, a fake clock

        run = completed_sync(source, connector, NOW)

    assert run.created == 17
    assert [r.url.path for r in fake.requests] == [
        "/old/programm.ics",
        "/old/programm.ics",
        "/kulturbrauerei/events.ics",
    ]
