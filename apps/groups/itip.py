"""A group plan as an iTIP message (RFC 5546): a REQUEST while it stands, a CANCEL once called off.

Calendar apps (Google, Apple, Outlook) show an invitation from it with everyone's answer: ORGANIZER, one ATTENDEE
per current member with their PARTSTAT, and UID + SEQUENCE so a later message updates the same event. DTSTAMP is
the plan's last change, so the bytes of one version never differ.
"""

from datetime import UTC

from icalendar import Calendar, Event, vCalAddress, vText

from apps.groups.models import Answer, GroupPlan, GroupPlanStatus
from apps.groups.selectors import plans as selectors
from apps.users.models import User

PRODID = "-//Weekend Planner//Groups//EN"
PARTSTAT = {Answer.NEEDS_ACTION: "NEEDS-ACTION", Answer.ACCEPTED: "ACCEPTED", Answer.DECLINED: "DECLINED"}


def _address(user: User, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{user.email}")
    address.params["CN"] = vText(selectors.display_name(user))
    for name, value in params.items():
        address.params[name.replace("_", "-").upper()] = vText(value)
    return address


def invitation_ics(*, group_plan: GroupPlan) -> bytes:
    cancelled = group_plan.status == GroupPlanStatus.CANCELLED
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")

    event = Event()
    event.add("uid", group_plan.ical_uid)
    event.add("sequence", group_plan.sequence)
    event.add("dtstamp", (group_plan.updated_at or group_plan.created_at).astimezone(UTC))
    event.add("dtstart", group_plan.start_utc.astimezone(UTC))
    event.add("dtend", group_plan.end_utc.astimezone(UTC))
    event.add("summary", group_plan.title)
    if group_plan.location:
        event.add("location", group_plan.location)
    if group_plan.lat is not None and group_plan.lon is not None:
        event.add("geo", (group_plan.lat, group_plan.lon))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("description", f"A plan of {group_plan.group.name} on Weekend Planner.")
    attendances = selectors.attendances_of(group_plan=group_plan)
    # RFC 5546 wants an ORGANIZER in every REQUEST: when the organizer has left, the group's owner stands in.
    organizer = group_plan.organizer or next((a.user for a in attendances[:1]), None)
    if organizer is not None:
        event.add("organizer", _address(organizer))
    for attendance in attendances:
        attendee = _address(
            attendance.user,
            cutype="INDIVIDUAL",
            role="REQ-PARTICIPANT",
            partstat=PARTSTAT[Answer(attendance.answer)],
            rsvp="TRUE",
        )
        event.add("attendee", attendee, encode=False)
    calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical
