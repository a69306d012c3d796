"""Property: the group's availability equals a brute-force, second-by-second computation on the same data.

Three people in Europe/Berlin and America/New_York, with plans on two calendars each: single, daily and weekly
series (EXDATE, moved, cancelled and tentative overrides), all-day plans, tentative and cancelled plans, placed
plans with travel from the group's meeting point or the member's home; over twelve days that take in both zones'
autumn DST changes (25 October in Berlin, 1 November in New York). The brute force expands every plan itself
(dateutil.rrule on the plan's fields + zoneinfo), applies the travel rule itself (the offline estimate, at most
MAX_TRAVEL each way), marks every second of the window busy or free per member, and reads the windows off that
grid: maximal runs of one free set, at least min_minutes long, nobody free left out, then the documented order.
"""

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from dateutil.rrule import rrulestr
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.calendars import services as calendar_services
from apps.calendars.ical import PlanData
from apps.calendars.models import Calendar
from apps.calendars.tests.factories import CalendarFactory
from apps.core import geo
from apps.groups.models import Group, Membership
from apps.groups.selectors.availability import MAX_TRAVEL, availability
from apps.groups.tests.factories import GroupFactory, MembershipFactory
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 10, 22, tzinfo=UTC)
END = datetime(2026, 11, 3, tzinfo=UTC)
CITIES = {"Europe/Berlin": (52.52, 13.40), "America/New_York": (40.71, -74.0)}
MODES = [mode.value for mode in geo.TravelMode]


@dataclass
class Spec:
    """One plan as generated: the fields it is saved with, and what the brute force reads back."""

    calendar: int  # 0: the default calendar, 1: another one
    zone: str
    all_day: bool
    start: datetime  # naive local; all-day: its date at midnight
    minutes: int  # timed: duration; all-day: days * 1440
    rrule: str = ""
    exdate: int | None = None  # index of the generated instance removed by EXDATE
    override: tuple[int, str, int] | None = None  # (instance index, "cancel" | "move" | "tentative", shift minutes)
    status: str = "confirmed"
    place: tuple[float, float] | None = None


@dataclass
class Person:
    zone: str
    home: tuple[float, float] | None
    mode: str
    paused: bool
    plans: list[Spec] = field(default_factory=list)


def _point(zone: str) -> st.SearchStrategy[tuple[float, float]]:
    lat, lon = CITIES[zone]
    return st.tuples(st.floats(lat - 0.3, lat + 0.3), st.floats(lon - 0.3, lon + 0.3))


@st.composite
def plan_specs(draw: st.DrawFn) -> Spec:
    zone = draw(st.sampled_from(list(CITIES)))
    kind = draw(st.sampled_from(["single", "daily", "weekly", "all_day", "all_day_weekly"]))
    day = date(2026, 10, 8) + timedelta(days=draw(st.integers(0, 27)))
    place = draw(st.one_of(st.none(), _point(zone), _point(draw(st.sampled_from(list(CITIES))))))
    status = draw(st.sampled_from(["confirmed", "confirmed", "tentative", "cancelled"]))
    if kind.startswith("all_day"):
        rrule = "FREQ=WEEKLY;COUNT=3" if kind == "all_day_weekly" else ""
        start = datetime.combine(day, datetime.min.time())
        return Spec(draw(st.integers(0, 1)), zone, True, start, 1440 * draw(st.integers(1, 3)), rrule,
                    status=status, place=place)  # fmt: skip
    start = datetime.combine(day, datetime.min.time()) + timedelta(
        hours=draw(st.integers(6, 21)), minutes=15 * draw(st.integers(0, 3))
    )
    minutes = draw(st.integers(1, 40)) * 15
    rrule, exdate, override = "", None, None
    if kind != "single":
        count = draw(st.integers(2, 12 if kind == "daily" else 5))
        rrule = f"FREQ={'DAILY' if kind == 'daily' else 'WEEKLY'};COUNT={count}"
        exdate = draw(st.one_of(st.none(), st.integers(1, count - 1)))
        what = draw(st.sampled_from(["cancel", "move", "tentative"]))
        override = draw(st.one_of(st.none(), st.tuples(st.integers(0, count - 1), st.just(what),
                                                       st.integers(-8, 8).map(lambda q: q * 15))))  # fmt: skip
        if override is not None and override[0] == exdate:
            override = None
    return Spec(draw(st.integers(0, 1)), zone, False, start, minutes, rrule, exdate, override, status, place)


people = st.lists(
    st.builds(
        Person,
        zone=st.sampled_from(list(CITIES)),
        home=st.one_of(st.none(), _point("Europe/Berlin"), _point("America/New_York")),
        mode=st.sampled_from(MODES),
        paused=st.booleans(),
        plans=st.lists(plan_specs(), max_size=7),
    ),
    min_size=3,
    max_size=3,
)


def _instances(spec: Spec) -> list[datetime]:
    """The series' generated local starts, by dateutil (DTSTART counts as the first instance)."""
    if not spec.rrule:
        return [spec.start]
    return list(rrulestr(f"RRULE:{spec.rrule}", dtstart=spec.start))


def _fmt(moment: datetime, all_day: bool) -> str:
    return moment.date().isoformat() if all_day else moment.isoformat()


def plan_data(spec: Spec) -> PlanData:
    instances = _instances(spec)
    exdates = [_fmt(instances[spec.exdate], spec.all_day)] if spec.exdate is not None else []
    common = {"uid": "", "title": "Private", "timezone": spec.zone, "rrule": spec.rrule, "exdates": exdates,
              "status": spec.status}  # fmt: skip
    if spec.place is not None:
        common |= {"location": "Somewhere", "lat": spec.place[0], "lon": spec.place[1]}
    if spec.all_day:
        days = spec.minutes // 1440
        return PlanData(all_day=True, start_date=spec.start.date(),
                        end_date=spec.start.date() + timedelta(days=days), **common)  # type: ignore[arg-type]  # fmt: skip
    end = spec.start + timedelta(minutes=spec.minutes)
    return PlanData(start_local=spec.start, end_local=end, **common)  # type: ignore[arg-type]


def save(spec: Spec, calendar: Calendar) -> None:
    """The plan through calendars' services, its override as the API makes one (occurrence_change)."""
    plan = calendar_services.plan_create(calendar=calendar, data=plan_data(spec))
    if spec.override is None:
        return
    index, what, shift = spec.override
    original = _instances(spec)[index]
    rid = _fmt(original, False)
    if what == "cancel":
        calendar_services.occurrence_change(plan=plan, recurrence_id=rid, cancelled=True)
    elif what == "move":
        moved = original + timedelta(minutes=shift)
        changes = {"start_local": moved, "end_local": moved + timedelta(minutes=spec.minutes)}
        calendar_services.occurrence_change(plan=plan, recurrence_id=rid, changes=changes)
    else:
        calendar_services.occurrence_change(plan=plan, recurrence_id=rid, changes={"status": "tentative"})


def _utc(local: datetime, zone: str) -> datetime:
    # fold=0: a time in the autumn fold is its first instance, one in the spring gap keeps the offset before it.
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def brute_busy(spec: Spec) -> list[tuple[datetime, datetime]]:
    """The plan's busy occurrences in UTC, expanded independently of the calendars app."""
    duration = timedelta(minutes=spec.minutes)
    spans = []
    for index, local in enumerate(_instances(spec)):
        if index == spec.exdate:
            continue
        begin, finish, status = local, local + duration, spec.status
        if spec.override is not None and spec.override[0] == index:
            _, what, shift = spec.override
            if what == "cancel":
                continue
            if what == "move":
                begin, finish = local + timedelta(minutes=shift), local + timedelta(minutes=shift) + duration
            if what == "tentative":  # an occurrence's own status wins over the series' (RFC 5545 overrides)
                status = "tentative"
        if status == "cancelled":
            continue
        spans.append((_utc(begin, spec.zone), _utc(finish, spec.zone)))
    return spans


def brute_windows(
    persons: list[Person], user_ids: list[int], meeting: tuple[float, float] | None, min_minutes: int
) -> list[tuple[datetime, datetime, tuple[int, ...], int]]:
    seconds = int((END - START).total_seconds())
    sharing = [(uid, p) for uid, p in zip(user_ids, persons, strict=True) if not p.paused]
    free = np.ones((len(sharing), seconds), dtype=bool)
    for row, (_, person) in enumerate(sharing):
        origin = meeting or person.home
        for spec in person.plans:
            for begin, finish in brute_busy(spec):
                if origin is not None and spec.place is not None:
                    there = geo.estimate_travel_time(geo.LatLon(*origin), geo.LatLon(*spec.place), person.mode)
                    back = geo.estimate_travel_time(geo.LatLon(*spec.place), geo.LatLon(*origin), person.mode)
                    begin -= min(timedelta(seconds=there.seconds), MAX_TRAVEL)
                    finish += min(timedelta(seconds=back.seconds), MAX_TRAVEL)
                a = max(0, int((begin - START).total_seconds()))
                b = min(seconds, int((finish - START).total_seconds()))
                if a < b:
                    free[row, a:b] = False
    # One number per second: the bitmask of who is free; a window is a run of one number.
    weights = (1 << np.arange(len(sharing), dtype=np.int64))[:, None]
    masks = (free * weights).sum(axis=0) if sharing else np.zeros(seconds, dtype=np.int64)
    cuts = [0, *(np.flatnonzero(np.diff(masks)) + 1).tolist(), seconds]
    found = []
    for a, b in itertools.pairwise(cuts):
        who = tuple(sorted(uid for bit, (uid, _) in enumerate(sharing) if int(masks[a]) >> bit & 1))
        if who and b - a >= min_minutes * 60:
            found.append((START + timedelta(seconds=a), START + timedelta(seconds=b), who, len(sharing) - len(who)))
    found.sort(key=lambda w: (-len(w[2]), -(w[1] - w[0]), w[0]))
    return found


@pytest.fixture
def trio():  # type: ignore[no-untyped-def]
    users = [UserFactory() for _ in range(3)]
    group = GroupFactory(owner=users[0])
    for user in users[1:]:
        MembershipFactory(group=group, user=user)
    calendars = [(calendar_services.calendar_ensure_default(owner=u), CalendarFactory(owner=u)) for u in users]
    return group, users, calendars


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    persons=people,
    meeting=st.one_of(st.none(), _point("Europe/Berlin")),
    min_minutes=st.sampled_from([1, 15, 60, 90, 240]),
)
def test_availability_equals_a_brute_force_computation(trio, persons, meeting, min_minutes):
    group, users, calendars = trio
    with transaction.atomic():  # every example starts from the same three people with empty calendars
        Group.objects.filter(pk=group.pk).update(
            meeting_lat=meeting[0] if meeting else None, meeting_lon=meeting[1] if meeting else None
        )
        group.refresh_from_db()
        for user, person, own in zip(users, persons, calendars, strict=True):
            profile = user.profile
            profile.timezone, profile.travel_mode = person.zone, person.mode
            profile.home_lat, profile.home_lon = person.home or (None, None)
            profile.save()
            Membership.objects.filter(group=group, user=user).update(sharing_paused=person.paused)
            for spec in person.plans:
                save(spec, own[spec.calendar])
        found = availability(group=group, start=START, end=END, min_minutes=min_minutes)
        expected = brute_windows(persons, [u.pk for u in users], meeting, min_minutes)
        assert [(w.start, w.end, w.free, w.busy_count) for w in found] == expected
        transaction.set_rollback(True)
