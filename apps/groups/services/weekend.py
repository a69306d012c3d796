""" "Plan our weekend": one itinerary for a group, in the members' common free time, scored for all of them, and
starting from the group's meeting point.

The planner is itineraries' (itinerary_create with the other members as `companions`): every sharing member's
plans make that time busy for everyone (times and places only, never titles), and each candidate event is scored
by the mean of every member's own ranking. The itinerary is the asking member's draft; they accept it onto their
calendar, or propose its stops to the group as a poll.
"""

from datetime import datetime

from django.utils import timezone

from apps.core.geo import LatLon
from apps.groups.models import Group
from apps.groups.selectors import plans as plan_selectors
from apps.groups.services.plans import NotAMember
from apps.itineraries import selectors as itinerary_selectors
from apps.itineraries import services as itinerary_services
from apps.itineraries.models import Itinerary
from apps.users import selectors as user_selectors
from apps.users.models import User


class NoMeetingPoint(Exception):
    """The group has no meeting point and the asking member no home to start from."""

    def __init__(self) -> None:
        super().__init__("Set the group's meeting point (or a home in your profile) to plan from.")


class NothingLeft(Exception):
    def __init__(self) -> None:
        super().__init__("No day hours are left in that weekend; ask for the next one.")


def meeting_point(*, group: Group, by: User) -> LatLon:
    if group.meeting_lat is not None and group.meeting_lon is not None:
        return LatLon(group.meeting_lat, group.meeting_lon)
    profile = user_selectors.profile_for(user=by)
    if profile.home_lat is not None and profile.home_lon is not None:
        return LatLon(profile.home_lat, profile.home_lon)
    raise NoMeetingPoint()


def group_weekend_plan(
    *, group: Group, by: User, weekend: str = "this", now: datetime | None = None, track: bool = True
) -> Itinerary:
    """Plans the weekend for the group as `by` sees it (their zone, pace and budget). Members who paused sharing
    are left out of the free time and the scoring, as they are of the group's availability."""
    if not plan_selectors.is_member(user=by, group=group):
        raise NotAMember()
    now = now or timezone.now()
    origin = meeting_point(group=group, by=by)
    values = {"weekend": weekend, "start_location": (origin.lat, origin.lon)}
    try:
        ask = itinerary_selectors.ask_for(user=by, values=values, now=now)
    except itinerary_selectors.NothingLeft:
        raise NothingLeft() from None
    companions = [
        m.user for m in plan_selectors.memberships(group=group) if m.user_id != by.pk and not m.sharing_paused
    ]
    return itinerary_services.itinerary_create(owner=by, ask=ask, now=now, track=track, companions=companions)
