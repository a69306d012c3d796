"""The KPI API for staff: points by day and by week equal to the rollup's rows combined by hand, the funnel, the CSV
export; the parameters refused by name; 401 and 403 for everyone else; and, where no beat runs, rolled up on
request."""

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from apps.analytics import partitions, rollup
from apps.analytics.models import DailyMetric, TrackedEvent
from apps.analytics.tests.factories import staff_user

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 5, 4)
KPIS = "/api/v1/analytics/kpis"
FUNNEL = "/api/v1/analytics/funnel"
EXPORT = "/api/v1/analytics/kpis/export"


@pytest.fixture
def staff(client_for):
    return client_for(staff_user())


def _event(day: date, type_: str, user: int, hour: int = 12, **context: object) -> TrackedEvent:
    at = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    return TrackedEvent(client_id=uuid.uuid4(), type=type_, at=at, user_id=user, context=context)


def _seed_two_weeks() -> None:
    """Day n of two weeks: n + 1 people shown a list, half of them (rounded down) clicking, one of those saving."""
    events = []
    for n in range(14):
        day = MONDAY + timedelta(days=n)
        for person in range(n + 1):
            events.append(_event(day, "impression", person, request_id=f"r{n}-{person}", variant="control"))
            if person < (n + 1) // 2:
                events.append(_event(day, "click", person, hour=13, request_id=f"r{n}-{person}"))
        if n % 2:
            events.append(_event(day, "save", 0, hour=14))
        events.append(_event(day, "signup", 100 + n))
    partitions.ensure({partitions.month_of(MONDAY)})
    TrackedEvent.objects.bulk_create(events)
    rollup.rollup_days(start=MONDAY, end=MONDAY + timedelta(days=13))


def test_points_by_day_and_by_week(staff: APIClient) -> None:
    _seed_two_weeks()
    last = (MONDAY + timedelta(days=13)).isoformat()

    daily = staff.get(KPIS, {"metric": "active_people_daily", "start": MONDAY.isoformat(), "end": last})
    assert daily.status_code == 200, daily.content
    body = daily.json()
    assert (body["metric"], body["granularity"], body["segment"]) == ("active_people_daily", "day", "")
    # n + 1 people shown a list, and the day's new sign-up.
    assert body["points"] == [{"date": (MONDAY + timedelta(days=n)).isoformat(), "value": n + 2.0} for n in range(14)]

    weekly = staff.get(KPIS, {"metric": "signups", "start": MONDAY.isoformat(), "end": last, "granularity": "week"})
    assert weekly.json()["points"] == [
        {"date": MONDAY.isoformat(), "value": 7.0},
        {"date": (MONDAY + timedelta(days=7)).isoformat(), "value": 7.0},
    ]

    # A rate's week is its numerators over its denominators, not the mean of its days.
    ctr = staff.get(
        KPIS, {"metric": "funnel_click_rate", "start": MONDAY.isoformat(), "end": last, "granularity": "week"}
    )
    first_week = sum((n + 1) // 2 for n in range(7)) / sum(n + 1 for n in range(7))
    assert ctr.json()["points"][0] == {"date": MONDAY.isoformat(), "value": pytest.approx(first_week)}

    by_variant = staff.get(
        KPIS,
        {"metric": "recommendation_ctr", "start": MONDAY.isoformat(), "end": MONDAY.isoformat(), "segment": "control"},
    )
    assert by_variant.json()["points"] == [{"date": MONDAY.isoformat(), "value": 0.0}]  # 1 shown, nobody clicked


def test_the_funnel_counts_people_at_each_step(staff: APIClient) -> None:
    _seed_two_weeks()
    response = staff.get(FUNNEL, {"start": MONDAY.isoformat(), "end": (MONDAY + timedelta(days=13)).isoformat()})
    assert response.status_code == 200, response.content
    shown = sum(n + 1 for n in range(14))
    clicked = sum((n + 1) // 2 for n in range(14))
    saved = sum(1 for n in range(14) if n % 2)  # person 0 clicks on every day from the second on
    assert response.json()["steps"] == [
        {"step": "impression", "people": shown, "conversion": None},
        {"step": "click", "people": clicked, "conversion": pytest.approx(clicked / shown)},
        {"step": "save", "people": saved, "conversion": pytest.approx(saved / clicked)},
        {"step": "plan", "people": 0, "conversion": 0.0},
    ]


def test_the_csv_export_holds_every_point_and_segment(staff: APIClient) -> None:
    _seed_two_weeks()
    response = staff.get(EXPORT, {"metric": "recommendation_ctr", "start": "2026-05-04", "end": "2026-05-05"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="recommendation_ctr_2026-05-04_2026-05-05.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["date", "metric", "segment", "value"]
    stored = DailyMetric.objects.get(metric="recommendation_ctr", segment="", day=date(2026, 5, 5))
    assert ["2026-05-05", "recommendation_ctr", "", repr(stored.value)] in rows
    assert [row[2] for row in rows[1:]] == ["", "", "control", "control"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-05-04", "end": "2026-05-10"}, "metric"),
        ({"metric": "nope", "start": "2026-05-04", "end": "2026-05-10"}, "metric"),
        ({"metric": "signups", "end": "2026-05-10"}, "start"),
        ({"metric": "signups", "start": "2026-13-01", "end": "2026-05-10"}, "start"),
        ({"metric": "signups", "start": "2026-05-10", "end": "2026-05-04"}, "end"),
        ({"metric": "signups", "start": "2020-01-01", "end": "2026-05-04"}, "end"),
        ({"metric": "signups", "start": "2026-05-04", "end": "2026-05-10", "granularity": "hour"}, "granularity"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(staff: APIClient, params: dict[str, str], field: str) -> None:
    for url in (KPIS, EXPORT):
        response = staff.get(url, params)
        assert response.status_code == 400, response.content
        assert field in response.json()["error"]["fields"]
    if field in ("start", "end"):
        assert field in staff.get(FUNNEL, params).json()["error"]["fields"]


def test_staff_only(client_for, user) -> None:  # type: ignore[no-untyped-def]
    params = {"metric": "signups", "start": "2026-05-04", "end": "2026-05-10"}
    for url in (KPIS, EXPORT, FUNNEL):
        assert APIClient().get(url, params).status_code == 401
        assert client_for(user).get(url, params).status_code == 403


def test_without_beat_the_days_read_are_rolled_up_first(staff: APIClient, settings, clock) -> None:  # type: ignore[no-untyped-def]
    settings.ANALYTICS_ROLLUP_ON_REQUEST = True
    today = datetime.now(UTC).date()  # the suite's fixed clock
    partitions.ensure({partitions.month_of(today)})
    TrackedEvent.objects.bulk_create([_event(today, "signup", 7, hour=0), _event(today, "signup", 8, hour=0)])

    signed_up = TrackedEvent.objects.filter(type="signup").count()  # the staff account's own sign-up, too
    assert signed_up == 3

    response = staff.get(KPIS, {"metric": "signups", "start": today.isoformat(), "end": today.isoformat()})

    assert response.json()["points"] == [{"date": today.isoformat(), "value": 3.0}]
    TrackedEvent.objects.bulk_create([_event(today, "signup", 9, hour=0)])
    again = staff.get(KPIS, {"metric": "signups", "start": today.isoformat(), "end": today.isoformat()})
    assert again.json()["points"] == [{"date": today.isoformat(), "value": 4.0}]  # today is rolled up again
    settings.ANALYTICS_ROLLUP_ON_REQUEST = False
    TrackedEvent.objects.bulk_create([_event(today, "signup", 10, hour=0)])
    beat_runs_it = staff.get(KPIS, {"metric": "signups", "start": today.isoformat(), "end": today.isoformat()})
    assert beat_runs_it.json()["points"] == [{"date": today.isoformat(), "value": 4.0}]  # where beat runs, it does
