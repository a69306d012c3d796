"""A group's shared availability: when its members are free together (docs/groups.md, "Availability").

Members see each other's free/busy only: this reads every sharing member's plans on all their calendars (recurrence,
overrides and all-day days expanded by calendars' window fast path, cancelled occurrences left out, tentative
ones busy) and keeps nothing of them but busy intervals. A plan with a place is busy from its start minus the
travel from the meeting point to the place until its end plus the travel back; the meeting point is the group's,
else the member's home; travel comes from apps.core.geo's cache or its offline estimate (never a wait on Google),
in the member's travel mode, at most MAX_TRAVEL each way. A member who paused sharing is left out altogether.
"""

from collections import defaultdict
from datetime import datetime, timedelta

from apps.calendars.conflicts import Slot
from apps.calendars.window_slots import slots_in_window
from apps.core import geo
from apps.core.geo import LatLon
from apps.groups.availability import Window, windows
from apps.groups.models import Group, Membership
from apps.users import selectors as user_selectors

# Travel counts up to this much each way, so plans up to this far outside the window are read (and no further).
MAX_TRAVEL = timedelta(hours=12)


def availability(*, group: Group, start: datetime, end: datetime, min_minutes: int = 60) -> list[Window]:
    """The group's windows in [start, end) (apps.groups.availability.windows gives the rules)."""
    sharing = list(Membership.objects.filter(group=group, sharing_paused=False).select_related("user", "user__profile"))
    group_point = _point(group.meeting_lat, group.meeting_lon)
    read_start, read_end = start - MAX_TRAVEL, end + MAX_TRAVEL
    busy: dict[int, list[tuple[datetime, datetime]]] = {}
    # Placed slots wait for their travel times, asked in one cache read per travel mode.
    placed: dict[str, list[tuple[int, Slot, LatLon, LatLon]]] = defaultdict(list)
    for membership in sharing:
        user = membership.user
        profile = user_selectors.profile_for(user=user)
        home = _point(profile.home_lat, profile.home_lon)
        origin = group_point or home
        intervals = busy[user.pk] = []
        for slot in slots_in_window(owner=user, start=read_start, end=read_end):
            if origin is not None and slot.lat is not None and slot.lon is not None:
                placed[profile.travel_mode].append((user.pk, slot, origin, LatLon(slot.lat, slot.lon)))
            else:
                intervals.append((slot.start_utc, slot.end_utc))
    for mode, items in placed.items():
        _add_travel(busy, items, mode)
    return windows(busy, start=start, end=end, min_minutes=min_minutes)


def _point(lat: float | None, lon: float | None) -> LatLon | None:
    return LatLon(lat, lon) if lat is not None and lon is not None else None


def _add_travel(
    busy: dict[int, list[tuple[datetime, datetime]]], items: list[tuple[int, Slot, LatLon, LatLon]], mode: str
) -> None:
    pairs = sorted(
        {(origin, place) for _, _, origin, place in items} | {(place, origin) for _, _, origin, place in items}
    )
    times = dict(zip(pairs, geo.cached_travel_times(pairs, mode), strict=True))
    for user_id, slot, origin, place in items:
        there = min(timedelta(seconds=times[(origin, place)].seconds), MAX_TRAVEL)
        back = min(timedelta(seconds=times[(place, origin)].seconds), MAX_TRAVEL)
        busy[user_id].append((slot.start_utc - there, slot.end_utc + back))
