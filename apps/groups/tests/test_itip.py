"""The group plan as an iTIP message, read back with icalendar as a calendar app would."""

from datetime import timedelta

import pytest
from icalendar import Calendar

from apps.groups import itip
from apps.groups.services import plans as services
from apps.groups.tests.poll_factories import SATURDAY, make_group
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# RFC 5546 3.2.2 (REQUEST): what Google Calendar, Apple Calendar and Outlook need to show an invitation.
REQUIRED = ("ORGANIZER", "ATTENDEE", "DTSTAMP", "DTSTART", "SEQUENCE", "UID", "SUMMARY")


def _read(group_plan):
    calendar = Calendar.from_ical(itip.invitation_ics(group_plan=group_plan))
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def _partstats(event):
    attendees = event.get("ATTENDEE")
    attendees = attendees if isinstance(attendees, list) else [attendees]
    return {str(a).removeprefix("mailto:"): str(a.params["PARTSTAT"]) for a in attendees}


@pytest.fixture
def plan_of_three(user, other_user):
    user.profile.display_name = "Ana"
    user.profile.save()
    third = UserFactory()
    group = make_group(user, other_user, third)
    plan = services.group_plan_create(
        group=group, by=user, title="Bouldering", start_utc=SATURDAY, end_utc=SATURDAY + timedelta(hours=3),
        timezone="Europe/Berlin", location="Boulderklub", lat=52.5, lon=13.4,
    )  # fmt: skip
    return plan, user, other_user, third


def test_a_request_has_every_field_calendar_apps_need(plan_of_three):
    plan, owner, *_ = plan_of_three
    calendar, event = _read(plan)
    assert str(calendar["METHOD"]) == "REQUEST"
    assert all(name in event for name in REQUIRED)
    assert str(event["UID"]) == plan.ical_uid
    assert event["SEQUENCE"] == 0
    assert event.decoded("DTSTART") == SATURDAY
    assert event.decoded("DTEND") == SATURDAY + timedelta(hours=3)
    assert str(event["SUMMARY"]) == "Bouldering"
    assert str(event["LOCATION"]) == "Boulderklub"
    assert (event["GEO"].latitude, event["GEO"].longitude) == (52.5, 13.4)
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["ORGANIZER"]) == f"mailto:{owner.email}"
    assert str(event["ORGANIZER"].params["CN"]) == "Ana"
    for attendee in event["ATTENDEE"]:
        assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
        assert attendee.params["RSVP"] == "TRUE"
        assert attendee.params["CN"]


def test_every_partstat_follows_the_answers(plan_of_three):
    plan, owner, member, third = plan_of_three
    _, event = _read(plan)
    assert _partstats(event) == {p.email: "NEEDS-ACTION" for p in (owner, member, third)}
    services.attendance_answer(group_plan=plan, user=member, answer="accepted")
    services.attendance_answer(group_plan=plan, user=third, answer="declined")
    _, event = _read(plan)
    assert _partstats(event) == {owner.email: "NEEDS-ACTION", member.email: "ACCEPTED", third.email: "DECLINED"}
    services.attendance_answer(group_plan=plan, user=third, answer="accepted")
    services.attendance_answer(group_plan=plan, user=member, answer="declined")
    _, event = _read(plan)
    assert _partstats(event) == {owner.email: "NEEDS-ACTION", member.email: "DECLINED", third.email: "ACCEPTED"}


def test_an_update_raises_the_sequence_and_a_cancellation_is_a_cancel(plan_of_three):
    plan, *_ = plan_of_three
    services.group_plan_update(group_plan=plan, data={"title": "Climbing"})
    plan.refresh_from_db()
    _, event = _read(plan)
    assert (event["SEQUENCE"], str(event["SUMMARY"])) == (1, "Climbing")
    services.group_plan_cancel(group_plan=plan)
    plan.refresh_from_db()
    calendar, event = _read(plan)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert event["SEQUENCE"] == 2
    assert str(event["UID"]) == plan.ical_uid


def test_when_the_organizer_has_left_the_owner_stands_in(plan_of_three):
    plan, owner, member, _ = plan_of_three
    plan.organizer = None
    plan.save()
    _, event = _read(plan)
    assert str(event["ORGANIZER"]) == f"mailto:{owner.email}"
    assert "GEO" in event
    assert member.email in _partstats(event)
