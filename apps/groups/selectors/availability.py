"""A group's shared availability: when its members are free together (docs/groups.md, "Availability").

Members see each other's free/busy only: this reads every sharing member's plans on all their calendars in one
read (calendars' window query and compiled-series cache: recurrence, overrides and all-day days expanded as the
calendars app does, cancelled occurrences left out, tentative ones busy) and keeps nothing of them but busy
intervals. A plan with a place is busy from its start minus the travel from the meeting point to the place until
its end plus the travel back; the meeting point is the group's, else the member's home; travel comes from
apps.core.geo's cache or its offline estimate (never a wait on Google), in the member's travel mode, at most
MAX_TRAVEL each way. A member who paused sharing is left out altogether.
"""

import hashlib
from collections import defaultdict
from datetime import datetime, timedelta
from typing import NamedTuple

from django.core.cache import cache
from django.db.models import Count, Max, Sum

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
    return windows(_busy(group, sharing, start, end), start=start, end=end, min_minutes=min_minutes)


# The busy intervals of a group's window are cached under a key that changes with everything they are made of: the
# window, the meeting point, each sharing member's home and travel mode, their calendars, and the count, ids, latest
# change and sequences of the plans that reach the window (a plan's edit, an occurrence's change, a new or deleted
# plan all move one of these). Only travel times may be older than this (a Google answer arriving for a trip).
BUSY_CACHE_SECONDS = 300


def _busy(
    group: Group, sharing: list[Membership], start: datetime, end: datetime
) -> dict[int, list[tuple[datetime, datetime]]]:
    read_start, read_end = start - MAX_TRAVEL, end + MAX_TRAVEL
    calendars = dict(
        Calendar.objects.filter(owner_id__in=[m.user_id for m in sharing]).order_by("pk").values_list("pk", "owner_id")
    )
    reach = window_slots.reaching(Plan.objects.filter(calendar_id__in=list(calendars)), read_start, read_end)
    stamp = reach.aggregate(n=Count("pk"), ids=Sum("pk"), latest=Max("updated_at"), sequences=Sum("sequence"))
    profiles = [user_selectors.profile_for(user=m.user) for m in sharing]
    people = [(m.user_id, p.home_lat, p.home_lon, p.travel_mode) for m, p in zip(sharing, profiles, strict=True)]
    fingerprint = (read_start, read_end, group.meeting_lat, group.meeting_lon, people, calendars, sorted(stamp.items()))
    key = "groups:busy:v1:" + hashlib.sha256(repr(fingerprint).encode()).hexdigest()
    cached: dict[int, list[tuple[datetime, datetime]]] | None = cache.get(key)
    if cached is not None:
        return cached

    occurrences = _occurrences(calendars, read_start, read_end)
    group_point = _point(group.meeting_lat, group.meeting_lon)
    busy: dict[int, list[tuple[datetime, datetime]]] = {}
    # Placed occurrences wait for their travel times, asked in one cache read per travel mode.
    placed: dict[str, list[tuple[int, _Busy, LatLon, LatLon]]] = defaultdict(list)
    for membership, profile in zip(sharing, profiles, strict=True):
        origin = group_point or _point(profile.home_lat, profile.home_lon)
        intervals = busy[membership.user_id] = []
        for item in occurrences.get(membership.user_id, ()):
            if origin is not None and item.place is not None:
                placed[profile.travel_mode].append((membership.user_id, item, origin, item.place))
            else:
                intervals.append((item.start, item.end))
    for mode, items in placed.items():
        _add_travel(busy, items, mode)
    cache.set(key, busy, BUSY_CACHE_SECONDS)
    return busy


class _Busy(NamedTuple):
    start: datetime
    end: datetime
    place: LatLon | None


def _occurrences(calendars: dict[int, int], start: datetime, end: datetime) -> dict[int, list[_Busy]]:
    """The occurrences on these calendars ({calendar id: owner id}) overlapping [start, end) that are not cancelled,
    by owner: what calendars' slots_in_window gives one person, for everyone in one read (its window query and
    compiled-series cache)."""
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
