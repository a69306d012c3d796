"""The one mapping of plan fields: a stored plan, written back, is the same plan data."""

from datetime import date, datetime

import pytest

from apps.calendars import plan_fields, selectors
from apps.calendars.models import Calendar
from apps.calendars.tests.factories import PlanFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def calendar(user) -> Calendar:
    return Calendar.objects.get(owner=user, is_default=True)


def test_a_stored_plan_as_written_gives_back_its_plan_data(calendar):
    series = PlanFactory(
        calendar=calendar, notes="Bring shoes", rrule="FREQ=WEEKLY;COUNT=3", rdates=["2026-12-08T18:00:00"],
        exdates=["2026-12-12T10:00:00"], location="Museumsinsel", lat=52.5169, lon=13.4019, status="tentative",
    )  # fmt: skip
    festival = PlanFactory(calendar=calendar, all_day=True, start=date(2026, 12, 5), days=2)
    for plan in (series, festival):
        plan.refresh_from_db()
        written = plan_fields.written(plan)
        again = plan_fields.plan_data(**written, uid=plan.ical_uid, sequence=plan.sequence)
        assert again == selectors.plan_data_of(plan)
    assert (written["start"], written["end"]) == (date(2026, 12, 5), date(2026, 12, 7))


def test_the_mapping_copies_lists_rather_than_sharing_them(calendar):
    plan = PlanFactory(calendar=calendar, exdates=["2026-12-12T10:00:00"], rrule="FREQ=WEEKLY;COUNT=3")
    for values in (plan_fields.shared(plan), plan_fields.written(plan)):
        values["exdates"].append("2026-12-19T10:00:00")
    assert plan.exdates == ["2026-12-12T10:00:00"]


def test_plan_data_takes_only_what_a_plan_is_written_with():
    with pytest.raises(TypeError, match="colour"):
        plan_fields.plan_data(start=datetime(2026, 12, 5, 10), end=datetime(2026, 12, 5, 11), title="x", colour="red")
    with pytest.raises(TypeError, match="at a time"):
        plan_fields.plan_data(start=date(2026, 12, 5), end=date(2026, 12, 6), title="x")
    all_day = plan_fields.plan_data(start=date(2026, 12, 5), end=date(2026, 12, 6), title="x", all_day=True)
    assert (all_day.start_date, all_day.start_local) == (date(2026, 12, 5), None)
