"""Reading a window's occurrences a page at a time, and the reads behind the occurrences and conflicts endpoints:
the pages hold exactly the whole window's list, the query counts do not grow with the plans (no N+1), and
compiled series are shared only between identical series."""

import importlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.calendars import selectors, series_cache, services, window_slots
from apps.calendars.api.serializers import OccurrenceOut, occurrences_out
from apps.calendars.models import Calendar, Plan
from apps.calendars.occurrence_pages import Position, page
from apps.calendars.tests.factories import PlanDataFactory, PlanFactory

pytestmark = pytest.mark.django_db

WINDOW = "start=2026-11-01&end=2027-03-01"


@pytest.fixture
def calendar(user: Any) -> Calendar:
    return Calendar.objects.get(owner=user, is_default=True)


def _busy_calendar(calendar: Calendar) -> None:
    """Series with every kind of change the expansion knows, single plans, and a plan cancelled as a whole."""
    weekly = PlanFactory(
        calendar=calendar,
        title="Choir",
        start=datetime(2026, 11, 7, 18),
        rrule="FREQ=WEEKLY;COUNT=12",
        exdates=["2026-11-21T18:00:00"],
    )
    services.occurrence_change(plan=weekly, recurrence_id="2026-11-14T18:00:00", changes={"title": "Choir (hall B)"})
    services.occurrence_change(plan=weekly, recurrence_id="2026-11-28T18:00:00", cancelled=True)
    services.occurrence_change(
        plan=weekly,
        recurrence_id="2026-12-12T18:00:00",
        changes={
            "start_local": datetime(2026, 12, 12, 19),
            "end_local": datetime(2026, 12, 12, 20),
            "this_and_future": True,
        },
    )
    daily = PlanFactory(calendar=calendar, title="Walk", start=datetime(2026, 12, 20, 8), rrule="FREQ=DAILY;COUNT=30")
    services.occurrence_change(
        plan=daily,
        recurrence_id="2026-12-24T08:00:00",
        changes={"start_local": datetime(2026, 11, 2, 8), "end_local": datetime(2026, 11, 2, 9)},
    )
    PlanFactory(calendar=calendar, title="Same time", start=datetime(2026, 12, 26, 8), minutes=30)
    PlanFactory(calendar=calendar, title="All day", all_day=True, start=datetime(2027, 1, 1), days=2)
    PlanFactory(calendar=calendar, title="Zero length", start=datetime(2027, 1, 5, 12), minutes=0)
    PlanFactory(calendar=calendar, title="Called off", start=datetime(2027, 1, 9, 12), status="cancelled")
    PlanFactory(calendar=calendar, title="Before the window", start=datetime(2026, 10, 31, 21), minutes=300)


def _follow(client: Any, url: str) -> tuple[list[dict[str, Any]], int]:
    results, pages = [], 0
    next_url: str | None = url
    while next_url:
        body = client.get(next_url)
        assert body.status_code == 200, body.content
        assert body.json()["previous"] is None
        results += body.json()["results"]
        pages += 1
        next_url = body.json()["next"]
    return results, pages


@pytest.mark.parametrize("include_cancelled", ["false", "true"])
@pytest.mark.parametrize("page_size", [1, 3, 100])
def test_the_pages_hold_exactly_the_whole_window(
    auth_client: Any, calendar: Calendar, page_size: int, include_cancelled: str
) -> None:
    _busy_calendar(calendar)
    base = f"/api/v1/calendars/{calendar.pk}/occurrences?{WINDOW}&include_cancelled={include_cancelled}"
    whole = auth_client.get(base).json()
    assert whole["next"] is None
    paged, pages = _follow(auth_client, f"{base}&page_size={page_size}")
    assert paged == whole["results"]
    assert pages == -(-len(whole["results"]) // page_size)  # the last page knows it is the last
    titles = {o["title"] for o in paged}
    assert {"Choir (hall B)", "Walk", "All day", "Zero length", "Before the window"} <= titles
    assert ("Called off" in titles) == (include_cancelled == "true")


def test_pages_in_the_selector_match_the_whole_window_list(calendar: Calendar) -> None:
    _busy_calendar(calendar)
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC)
    whole = selectors.occurrences(calendar_ids=[calendar.pk], start=start, end=end, include_cancelled=True)
    paged: list[Any] = []
    after: Position | None = None
    while True:
        items, after = page(
            calendar_ids=[calendar.pk], start=start, end=end, size=2, after=after, include_cancelled=True
        )
        paged += items
        if after is None:
            break
    key = lambda i: (i.occurrence, i.plan.pk, i.title, i.status)  # noqa: E731
    assert [key(i) for i in paged] == [key(i) for i in whole]


def test_a_page_reads_the_database_a_fixed_number_of_times(auth_client: Any, calendar: Calendar) -> None:
    """No query per plan or per override: three series with overrides and three plans read like thirty."""

    def queries() -> int:
        url = f"/api/v1/calendars/{calendar.pk}/occurrences?{WINDOW}&page_size=100"
        auth_client.get(url)  # warm: the first request of a client may read more (the session, the profile)
        with CaptureQueriesContext(connection) as captured:
            assert auth_client.get(url).status_code == 200
        return len(captured)

    _busy_calendar(calendar)
    few = queries()
    for n in range(30):
        plan = PlanFactory(
            calendar=calendar, start=datetime(2026, 11, 2, 7) + timedelta(days=n), rrule="FREQ=WEEKLY;COUNT=3"
        )
        services.occurrence_change(
            plan=plan, recurrence_id=(datetime(2026, 11, 9, 7) + timedelta(days=n)).isoformat(), cancelled=True
        )
    # The person, then the calendar with the plans and their overrides (the throttle counts in Redis).
    assert queries() == few == 2


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12", "America/St_Johns"])
@pytest.mark.parametrize("page_size", [1, 2])
def test_a_page_read_before_its_zone_is_known_keeps_the_windows_edges(
    auth_client: Any, user: Any, zone: str, page_size: int
) -> None:
    """The first plans are read over bounds that hold the window in any zone (UTC+14 to UTC-12): the pages still
    start and end at the calendar's own midnights."""
    calendar = services.calendar_create(owner=user, name="Far away", timezone=zone)
    for title, start, minutes in [
        ("Ends at the start", datetime(2026, 11, 30, 23), 60),
        ("First thing", datetime(2026, 12, 1, 0, 30), 30),
        ("Last thing", datetime(2026, 12, 30, 23), 30),
        ("Starts at the end", datetime(2026, 12, 31, 0), 30),
    ]:
        PlanFactory(calendar=calendar, title=title, timezone=zone, start=start, minutes=minutes)
    PlanFactory(calendar=calendar, title="Weekly", timezone=zone, start=datetime(2026, 11, 25, 12), rrule="FREQ=WEEKLY")
    base = f"/api/v1/calendars/{calendar.pk}/occurrences?start=2026-12-01&end=2026-12-31"
    whole = auth_client.get(base).json()["results"]
    paged, _ = _follow(auth_client, f"{base}&page_size={page_size}")
    assert paged == whole
    with CaptureQueriesContext(connection) as captured:
        auth_client.get(f"{base}&page_size={page_size}")
    assert len(captured) == 2  # the person, then the calendar with its plans: the wider read held the window
    titles = [o["title"] for o in paged]
    assert titles[0] == "First thing"
    assert titles[-1] == "Last thing"
    assert titles.count("Weekly") == 5  # 2, 9, 16, 23 and 30 December
    assert "Ends at the start" not in titles
    assert "Starts at the end" not in titles


def test_pages_past_the_first_batch_hold_exactly_the_whole_window(auth_client: Any, calendar: Calendar) -> None:
    """More plans than one batch reads (BATCH_ROWS): the page goes on from the batch it read with the calendar."""
    from apps.calendars.occurrence_pages import BATCH_ROWS

    for n in range(BATCH_ROWS + 30):
        PlanFactory(calendar=calendar, title=f"Plan {n}", start=datetime(2026, 11, 2, 7) + timedelta(hours=n))
    base = f"/api/v1/calendars/{calendar.pk}/occurrences?{WINDOW}"
    whole = auth_client.get(base).json()["results"]
    assert len(whole) == BATCH_ROWS + 30
    paged, pages = _follow(auth_client, f"{base}&page_size=100")
    assert paged == whole
    assert pages == 3


def test_the_first_batch_is_read_with_the_calendars_zone_only_for_its_owner(
    user: Any, other_user: Any, calendar: Calendar
) -> None:
    from apps.calendars import occurrence_pages

    _busy_calendar(calendar)
    calendar.timezone = "America/Toronto"
    calendar.save()
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC)
    first = occurrence_pages.first_batch(owner_id=user.pk, calendar_id=calendar.pk, start=start, end=end)
    assert first is not None
    assert first.timezone == "America/Toronto"
    values = occurrence_pages._BatchValues([calendar.pk], start, end, None, 0)
    through_orm = list(occurrence_pages._batch_query("first", values))
    assert len(through_orm) > 5
    assert first.rows == through_orm
    assert occurrence_pages.first_batch(owner_id=other_user.pk, calendar_id=calendar.pk, start=start, end=end) is None
    # A window without plans: the zone, and no rows.
    later, later_end = datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 2, 1, tzinfo=UTC)
    empty = occurrence_pages.first_batch(owner_id=user.pk, calendar_id=calendar.pk, start=later, end=later_end)
    assert empty is not None
    assert (empty.timezone, empty.rows) == ("America/Toronto", [])


def test_the_conflicts_endpoint_reads_the_database_a_fixed_number_of_times(
    auth_client: Any, user: Any, calendar: Calendar
) -> None:
    gym = services.calendar_create(owner=user, name="Gym")

    def queries() -> int:
        url = "/api/v1/conflicts?start=2026-12-01&end=2027-01-01"
        auth_client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert auth_client.get(url).status_code == 200
        return len(captured)

    PlanFactory(calendar=gym, title="Swim", start=datetime(2026, 12, 5, 9), rrule="FREQ=WEEKLY;COUNT=10")
    PlanFactory(calendar=calendar, title="Market", start=datetime(2026, 12, 19, 9, 30), minutes=90)
    few = queries()
    for n in range(20):
        plan = PlanFactory(
            calendar=gym if n % 2 else calendar,
            start=datetime(2026, 12, 1, 12) + timedelta(days=n),
            rrule="FREQ=DAILY;COUNT=4",
        )
        services.occurrence_change(
            plan=plan, recurrence_id=(datetime(2026, 12, 2, 12) + timedelta(days=n)).isoformat(), cancelled=True
        )
    assert queries() == few <= 3  # the person, then one query for every plan reaching the window and its overrides


def test_a_conflict_check_reads_the_plans_once(user: Any, calendar: Calendar) -> None:
    for n in range(10):
        PlanFactory(calendar=calendar, start=datetime(2026, 12, 5, 9) + timedelta(hours=n), rrule="FREQ=WEEKLY;COUNT=5")
    candidate = Plan(
        calendar=calendar,
        title="New",
        timezone="Europe/Berlin",
        start_local=datetime(2026, 12, 12, 10),
        end_local=datetime(2026, 12, 12, 12),
        start_utc=datetime(2026, 12, 12, 9, tzinfo=UTC),
        end_utc=datetime(2026, 12, 12, 11, tzinfo=UTC),
    )
    with CaptureQueriesContext(connection) as captured:
        found = selectors.conflicts_for_plan(owner=user, plan=candidate)
    assert len(captured) == 1
    assert len(found) == 2  # 10:00 and 11:00 local overlap it; 12:00 starts as it ends


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
        ("page_size=ten", "page_size"),
        ("page_size=5&cursor=nonsense", "cursor"),
        ("cursor=eyJ4IjoxfQ", "cursor"),
        # a naive end, a number, a mapping: JSON, but not our cursor
        ("cursor=WyIyMDI2LTEyLTAxVDEwOjAwOjAwKzAwOjAwIiwgMSwgIjIwMjYtMTItMDFUMTE6MDA6MDAiLCAieCJd", "cursor"),
        ("cursor=NQ", "cursor"),
        ("cursor=eyJhIjogMSwgImIiOiAyLCAiYyI6IDMsICJkIjogNH0", "cursor"),
    ],
)
def test_a_bad_page_size_or_cursor_is_a_400_naming_it(
    auth_client: Any, calendar: Calendar, query: str, field: str
) -> None:
    response = auth_client.get(f"/api/v1/calendars/{calendar.pk}/occurrences?{WINDOW}&{query}")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize("bounds", [WINDOW, "start=2026-11-01T00:00:00Z&end=2027-03-01T00:00:00Z"])
def test_a_cursor_from_past_the_windows_end_is_an_empty_last_page(
    auth_client: Any, calendar: Calendar, bounds: str
) -> None:
    _busy_calendar(calendar)
    later = Position(datetime(2027, 6, 1, tzinfo=UTC), 1, datetime(2027, 6, 1, 1, tzinfo=UTC), "").encode()
    response = auth_client.get(f"/api/v1/calendars/{calendar.pk}/occurrences?{bounds}&cursor={later}")
    assert response.status_code == 200, response.content
    assert response.json() == {"next": None, "previous": None, "results": []}


def test_the_written_out_occurrences_equal_the_serializer(calendar: Calendar) -> None:
    _busy_calendar(calendar)
    items = selectors.occurrences(
        calendar_ids=[calendar.pk],
        start=datetime(2026, 11, 1, tzinfo=UTC),
        end=datetime(2027, 3, 1, tzinfo=UTC),
        include_cancelled=True,
    )
    assert len(items) > 20
    assert occurrences_out(items) == [OccurrenceOut(item).data for item in items]


def test_a_compiled_series_is_shared_only_by_identical_series(calendar: Calendar) -> None:
    plan = PlanFactory(calendar=calendar, start=datetime(2026, 12, 5, 9), rrule="FREQ=WEEKLY;COUNT=5")
    first = selectors.series_of(Plan.objects.get(pk=plan.pk))
    assert selectors.series_of(Plan.objects.get(pk=plan.pk)) is first
    services.occurrence_change(plan=plan, recurrence_id="2026-12-12T09:00:00", cancelled=True)
    changed = selectors.series_of(Plan.objects.get(pk=plan.pk))
    assert changed is not first
    assert [o.occurrence.cancelled for o in changed.compiled.overrides] == [True]
    # Written around the services (as an admin inline or a migration might): still a different series.
    plan.overrides.update(cancelled=False)
    assert [o.occurrence.cancelled for o in selectors.series_of(Plan.objects.get(pk=plan.pk)).compiled.overrides] == [
        False
    ]
    series_cache.clear()
    assert selectors.series_of(Plan.objects.get(pk=plan.pk)) is not changed


def test_an_unsaved_plan_has_no_overrides_in_its_series(calendar: Calendar) -> None:
    data = PlanDataFactory(start=datetime(2026, 12, 5, 9), rrule="FREQ=WEEKLY;COUNT=2")
    plan = Plan(
        calendar=calendar,
        title="New",
        timezone=data.timezone,
        start_local=data.start_local,
        end_local=data.end_local,
        rrule=data.rrule,
    )
    assert selectors.series_of(plan).overrides == {}


def test_the_window_query_states_the_indexed_expression() -> None:
    """The GiST index of migration 0004 serves the window query only while both state the same expression."""
    migration = importlib.import_module("apps.calendars.migrations.0004_plan_series_span_gist")
    assert migration.SPAN_SQL == window_slots.SPAN_SQL


def test_the_span_index_exists_on_postgresql() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'plan_calendar_series_span_gist'")
        (definition,) = cursor.fetchone()
    assert "USING gist (calendar_id, tstzrange(" in definition


@pytest.mark.parametrize("excluding", [False, True])
def test_the_compiled_window_query_reads_what_the_orm_reads(user: Any, calendar: Calendar, excluding: bool) -> None:
    _busy_calendar(calendar)
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC)
    excluded = Plan.objects.filter(calendar=calendar).order_by("pk").first().pk if excluding else None  # type: ignore[union-attr]
    through_orm = list(window_slots.window_query(user.pk, start, end, excluded))
    assert len(through_orm) > 5
    assert window_slots.window_rows(user.pk, start, end, excluded) == through_orm


@pytest.mark.parametrize("shape", ["first", "after unknown", "after"])
@pytest.mark.parametrize("calendars", [1, 2])
def test_the_compiled_batch_query_reads_what_the_orm_reads(
    user: Any, calendar: Calendar, shape: str, calendars: int
) -> None:
    from apps.calendars import occurrence_pages

    _busy_calendar(calendar)
    other = services.calendar_create(owner=user, name="Second", timezone="Europe/Berlin")
    PlanFactory(calendar=other, title="Elsewhere", start=datetime(2026, 12, 1, 9))
    ids = [calendar.pk, other.pk][:calendars]
    first = Plan.objects.filter(calendar=calendar).order_by("series_start_utc", "pk").first()
    assert first is not None
    values = occurrence_pages._BatchValues(
        ids, datetime(2026, 11, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC), first.series_start_utc, first.pk
    )
    through_orm = list(occurrence_pages._batch_query(shape, values))
    assert len(through_orm) > 3
    assert occurrence_pages._batch_rows(shape, values) == through_orm


def test_the_calendars_time_zone_is_read_only_for_its_owner(user: Any, other_user: Any, calendar: Calendar) -> None:
    from django.http import Http404

    calendar.timezone = "America/Toronto"
    calendar.save()
    assert selectors.calendar_timezone_of(owner=user, calendar_id=calendar.pk) == "America/Toronto"
    with pytest.raises(Http404):
        selectors.calendar_timezone_of(owner=other_user, calendar_id=calendar.pk)
