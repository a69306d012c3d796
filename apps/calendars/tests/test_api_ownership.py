"""Another person's calendar or plan is a 404 for every method and never appears in a list."""

from datetime import datetime

import pytest

from apps.calendars import services
from apps.calendars.models import Calendar, Plan
from apps.calendars.tests.factories import PlanFactory

pytestmark = pytest.mark.django_db

ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nEND:VCALENDAR\r\n"


@pytest.fixture
def theirs(other_user):
    calendar = services.calendar_ensure_default(owner=other_user)
    plan = PlanFactory(
        calendar=calendar, title="Their brunch", start=datetime(2026, 12, 5, 11, 0), rrule="FREQ=WEEKLY;COUNT=3"
    )
    return calendar, plan


def _requests(calendar_id: int, plan_id: int) -> list[tuple[str, str, dict | bytes | None]]:
    base = f"/api/v1/calendars/{calendar_id}"
    plan = f"{base}/plans/{plan_id}"
    return [
        ("get", base, None),
        ("patch", base, {"name": "Mine now"}),
        ("delete", base, None),
        ("post", f"{base}/feed", None),
        ("delete", f"{base}/feed", None),
        ("get", f"{base}/ics", None),
        ("get", f"{base}/occurrences?start=2026-12-01&end=2026-12-31", None),
        # A page reads the calendar with its first plans in one query (occurrence_pages.first_batch)...
        ("get", f"{base}/occurrences?start=2026-12-01&end=2026-12-31&page_size=2", None),
        ("get", f"{base}/occurrences?start=2026-12-01T00:00:00Z&end=2026-12-31T00:00:00Z&page_size=2", None),
        # ...and with a parameter that does not read, finds the calendar first: a 404, not a 400 about theirs.
        ("get", f"{base}/occurrences?start=2026-12-01&end=someday&page_size=2", None),
        ("get", f"{base}/occurrences?start=2026-12-01&end=2026-12-31&page_size=0", None),
        ("get", f"{base}/occurrences?start=2026-12-01&end=2026-12-31&cursor=not-a-cursor", None),
        ("get", f"{base}/occurrences?start=2026-12-31&end=2026-12-01&page_size=2", None),
        ("get", f"{base}/plans", None),
        ("post", f"{base}/plans", {"title": "x", "start": "2026-12-05T10:00:00Z", "end": "2026-12-05T11:00:00Z"}),
        ("get", plan, None),
        ("patch", plan, {"title": "Hijacked"}),
        ("delete", plan, None),
        ("patch", f"{plan}/occurrences/2026-12-12T11:00:00", {"title": "x"}),
        ("delete", f"{plan}/occurrences/2026-12-12T11:00:00", None),
    ]


def test_every_endpoint_answers_404_for_another_persons_calendar_and_plan(auth_client, theirs):
    calendar, plan = theirs
    for method, url, body in _requests(calendar.pk, plan.pk):
        response = getattr(auth_client, method)(url, body, format="json") if body else getattr(auth_client, method)(url)
        assert response.status_code == 404, (method, url, response.status_code)

    response = auth_client.post(f"/api/v1/calendars/{calendar.pk}/import", ICS, content_type="text/calendar")
    assert response.status_code == 404
    response = auth_client.post("/api/v1/plans/from-event", {"event": 1, "calendar": calendar.pk}, format="json")
    assert response.status_code in (400, 404)  # no such event (400 names it) or not your calendar (404)

    # Nothing of theirs changed.
    plan.refresh_from_db()
    assert plan.title == "Their brunch"
    assert Calendar.objects.filter(pk=calendar.pk, name="My weekend").exists()
    assert Plan.objects.filter(calendar=calendar).count() == 1


def test_lists_and_windows_never_show_another_persons_data(auth_client, theirs, user):
    calendars = auth_client.get("/api/v1/calendars").json()["results"]
    assert [c["name"] for c in calendars] == ["My weekend"]
    assert all(c["id"] != theirs[0].pk for c in calendars)
    conflicts = auth_client.get("/api/v1/conflicts?start=2026-12-01&end=2026-12-31").json()["results"]
    assert conflicts == []
    busy = auth_client.get("/api/v1/me/freebusy?start=2026-12-01&end=2026-12-31").json()["busy"]
    assert busy == []


def test_a_plan_is_reached_only_through_its_own_calendar(auth_client, user, theirs):
    mine = services.calendar_ensure_default(owner=user)
    _, their_plan = theirs
    assert auth_client.get(f"/api/v1/calendars/{mine.pk}/plans/{their_plan.pk}").status_code == 404


def test_anonymous_requests_are_401(api_client, theirs):
    calendar, plan = theirs
    assert api_client.get("/api/v1/calendars").status_code == 401
    assert api_client.get(f"/api/v1/calendars/{calendar.pk}/plans/{plan.pk}").status_code == 401
