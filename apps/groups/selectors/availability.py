"""A group's shared availability: when its members are free together (docs/groups.md, "Availability").

Members see each other's free/busy only: this reads every sharing member's plans on all their calendars in one
read (calendars' window query and compiled-series cache: recurrence, overrides and all-day days expanded as the
calendars app does, cancelled occurrences left out, tentative ones busy) and keeps nothing of them but busy
intervals. A plan with a place is busy from its start minus the travel from the meeting point to the place until
its end plus the travel back; the meeting point is the group's, else the member's home; travel comes from
apps.core.geo's cache or its offline estimate (never a wait on Google), in the member's travel mode, at most
MAX_TRAVEL each way. A member who paused sharing is left out altogether.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from typing import NamedTuple

from apps.calendars import recurrence, window_slots
from apps.calendars.models import Calendar, Plan, PlanStatus
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
    occurrences = _occurrences([m.user_id for m in sharing], start - MAX_TRAVEL, end + MAX_TRAVEL)
    busy: dict[int, list[tuple[datetime, datetime]]] = {}
    # Placed occurrences wait for their travel times, asked in one cache read per travel mode.
    placed: dict[str, list[tuple[int, _Busy, LatLon, LatLon]]] = defaultdict(list)
    for membership in sharing:
        profile = user_selectors.profile_for(user=membership.user)
        origin = group_point or _point(profile.home_lat, profile.home_lon)
        intervals = busy[membership.user_id] = []
        for item in occurrences.get(membership.user_id, ()):
            if origin is not None and item.place is not None:
                placed[profile.travel_mode].append((membership.user_id, item, origin, item.place))
            else:
                intervals.append((item.start, item.end))
    for mode, items in placed.items():
        _add_travel(busy, items, mode)
    return windows(busy, start=start, end=end, min_minutes=min_minutes)


class _Busy(NamedTuple):
    start: datetime
    end: datetime
    place: LatLon | None


def _occurrences(owner_ids: list[int], start: datetime, end: datetime) -> dict[int, list[_Busy]]:
    """Every member's occurrences overlapping [start, end) that are not cancelled, by owner: what calendars'
    slots_in_window gives one person, for all of them in one read (its window query and compiled-series cache)."""
    calendars = dict(Calendar.objects.filter(owner_id__in=owner_ids).values_list("pk", "owner_id"))
    if not calendars:
        return {}
    plans, _ = window_slots.plan_rows(window_slots.reaching(Plan.objects.filter(calendar_id__in=calendars), start, end))
    found: dict[int, list[_Busy]] = defaultdict(list)
    for plan in plans:
        place = _point(plan.lat, plan.lon)
        mine = found[calendars[plan.calendar_id]]
        for o in recurrence.expand(plan.series, start, end):
            if not o.cancelled and (o.status or plan.status) != PlanStatus.CANCELLED:  # tentative is busy
                mine.append(_Busy(o.start_utc, o.end_utc, place))
    return found


def _point(lat: float | None, lon: float | None) -> LatLon | None:
    return LatLon(lat, lon) if lat is not None and lon is not None else None


def _add_travel(
    busy: dict[int, list[tuple[datetime, datetime]]], items: list[tuple[int, _Busy, LatLon, LatLon]], mode: str
) -> None:
    pairs = sorted(
        {(origin, place) for _, _, origin, place in items} | {(place, origin) for _, _, origin, place in items}
    )
    times = dict(zip(pairs, geo.cached_travel_times(pairs, mode), strict=True))
    for user_id, item, origin, place in items:
        there = min(timedelta(seconds=times[(origin, place)].seconds), MAX_TRAVEL)
        back = min(timedelta(seconds=times[(place, origin)].seconds), MAX_TRAVEL)
        busy[user_id].append((item.start - there, item.end + back))
