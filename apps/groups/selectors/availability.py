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


# Each member's busy intervals in a window are cached under a key that changes with everything they are made of:
# the window, where their travel starts (the meeting point, else their home), their travel mode, their calendars,
# and the count, ids, latest change and sequences of their plans that reach the window (a plan's edit, an
# occurrence's change, a new or deleted plan all move one of these). So when one member's plans change, the next
# call reads that member's plans again and takes the others from the cache. Only travel times may be older than
# this (a Google answer arriving for a trip).
BUSY_CACHE_SECONDS = 300

Busy = dict[int, list[tuple[datetime, datetime]]]


def _busy(group: Group, sharing: list[Membership], start: datetime, end: datetime) -> Busy:
    read_start, read_end = start - MAX_TRAVEL, end + MAX_TRAVEL
    calendars = dict(
        Calendar.objects.filter(owner_id__in=[m.user_id for m in sharing]).order_by("pk").values_list("pk", "owner_id")
    )
    origins = _origins(group, sharing)
    keys = _cache_keys(origins, calendars, read_start, read_end)
    cached: dict[str, list[tuple[datetime, datetime]]] = cache.get_many(list(keys.values()))
    busy = {user_id: cached[key] for user_id, key in keys.items() if key in cached}
    missed = {user_id: origin for user_id, origin in origins.items() if user_id not in busy}
    if missed:
        theirs = {pk: owner for pk, owner in calendars.items() if owner in missed}
        fresh = _busy_of(missed, theirs, read_start, read_end)
        cache.set_many({keys[user_id]: intervals for user_id, intervals in fresh.items()}, BUSY_CACHE_SECONDS)
        busy.update(fresh)
    return {user_id: busy[user_id] for user_id in keys}  # in the members' order, as read


Origin = tuple[LatLon | None, str]  # where a member's travel starts (None: nowhere known), and their travel mode


def _origins(group: Group, sharing: list[Membership]) -> dict[int, Origin]:
    group_point = _point(group.meeting_lat, group.meeting_lon)
    origins: dict[int, Origin] = {}
    for membership in sharing:
        profile = user_selectors.profile_for(user=membership.user)
        origins[membership.user_id] = (group_point or _point(profile.home_lat, profile.home_lon), profile.travel_mode)
    return origins


def _cache_keys(
    origins: dict[int, Origin], calendars: dict[int, int], start: datetime, end: datetime
) -> dict[int, str]:
    """Each member's cache key: one aggregate query over the plans reaching [start, end), grouped by calendar."""
    reach = window_slots.reaching(Plan.objects.filter(calendar_id__in=list(calendars)), start, end)
    stamps = {
        row["calendar_id"]: (row["n"], row["ids"], row["latest"], row["sequences"])
        for row in reach.order_by()
        .values("calendar_id")
        .annotate(n=Count("pk"), ids=Sum("pk"), latest=Max("updated_at"), sequences=Sum("sequence"))
    }
    keys = {}
    for user_id, origin in origins.items():
        theirs = [(pk, stamps.get(pk)) for pk, owner in calendars.items() if owner == user_id]
        fingerprint = (start, end, origin, theirs)
        keys[user_id] = "groups:busy:v2:" + hashlib.sha256(repr(fingerprint).encode()).hexdigest()
    return keys


def _busy_of(origins: dict[int, Origin], calendars: dict[int, int], start: datetime, end: datetime) -> Busy:
    """These members' busy intervals (`calendars` are theirs: {calendar id: owner id}) from one read of their
    plans, with the travel to and from each placed plan from the member's origin."""
    occurrences = _occurrences(calendars, start, end)
    busy: Busy = {}
    # Placed occurrences wait for their travel times, asked in one cache read per travel mode.
    placed: dict[str, list[tuple[int, _Busy, LatLon, LatLon]]] = defaultdict(list)
    for user_id, (origin, mode) in origins.items():
        intervals = busy[user_id] = []
        for item in occurrences.get(user_id, ()):
            if origin is not None and item.place is not None:
                placed[mode].append((user_id, item, origin, item.place))
            else:
                intervals.append((item.start, item.end))
    for mode, items in placed.items():
        _add_travel(busy, items, mode)
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


def _add_travel(busy: Busy, items: list[tuple[int, _Busy, LatLon, LatLon]], mode: str) -> None:
    pairs = sorted(
        {(origin, place) for _, _, origin, place in items} | {(place, origin) for _, _, origin, place in items}
    )
    times = dict(zip(pairs, geo.cached_travel_times(pairs, mode), strict=True))
    for user_id, item, origin, place in items:
        there = min(timedelta(seconds=times[(origin, place)].seconds), MAX_TRAVEL)
        back = min(timedelta(seconds=times[(place, origin)].seconds), MAX_TRAVEL)
        busy[user_id].append((item.start - there, item.end + back))
