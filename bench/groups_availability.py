"""A group's availability over one weekend: 20 people with 2,000 plans each (target: warm p95 < 50 ms).

The people: 20 members of one group with a meeting point in Berlin, each with a home around Berlin and 2,000
plans in Europe/Berlin over four years (2024-06 to 2028-06) on two calendars: 1,450 single timed plans (60% on
weekends), 200 all-day plans (1-3 days), 300 weekly series (COUNT 4-52, 5% open-ended) and 50 daily ones
(COUNT 3-30); 60% at a place (travel counted), 3% tentative, 3% cancelled. Every plan is saved through
apps.calendars.services.plan_create (so their stored bounds are the product's). Seeded once, then reused.

Measured: apps.groups.selectors.availability for Saturday 00:00 to Monday 00:00 Europe/Berlin (the weekend of
20 June 2026, min_minutes=60): the first call in the process (compiled-series cache empty), then BENCH_REPEAT
warm calls (p50/p95), as a running web process serves them; and, for where the time goes, the reads alone
(every member's occurrences in one read, expanded) and the sweep alone (apps.groups.availability.windows).

Run: .venv/bin/python bench/groups_availability.py
Database BENCH_DATABASE_URL (default weekend_planner_bench_groups on the local server), Redis BENCH_REDIS_URL.
"""

import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# Run as a file, which puts bench/, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.support.databases import ensure_database

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/weekend_planner_bench_groups")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
REPEAT = int(os.environ.get("BENCH_REPEAT", "30"))
MEMBERS = 20
PLANS_EACH = 2000
GROUP_NAME = "bench-availability"
BERLIN = ZoneInfo("Europe/Berlin")
WEEKEND = (datetime(2026, 6, 20, tzinfo=BERLIN), datetime(2026, 6, 22, tzinfo=BERLIN))


def setup_django() -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "planner.settings",
            "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": REDIS_URL,
            "LOG_LEVEL": "WARNING",
            "DJANGO_DEBUG": "false",
        }
    )
    import django

    django.setup()


def _near_berlin(rng: random.Random) -> tuple[float, float]:
    return 52.52 + rng.uniform(-0.15, 0.15), 13.40 + rng.uniform(-0.25, 0.25)


def _plan(rng: random.Random) -> Any:
    from apps.calendars.ical import PlanData

    first = date(2024, 6, 1)
    kind = rng.choices(["single", "all_day", "weekly", "daily"], weights=[1450, 200, 300, 50])[0]
    day = first + timedelta(days=rng.randrange(4 * 365))
    if kind == "single" and rng.random() < 0.6:
        day += timedelta(days=(5 - day.weekday()) % 7 + rng.choice([0, 1]))  # a Saturday or Sunday
    fields: dict[str, Any] = {"uid": "", "title": f"Plan {rng.randrange(10**6)}", "timezone": "Europe/Berlin"}
    fields["status"] = rng.choices(["confirmed", "tentative", "cancelled"], weights=[94, 3, 3])[0]
    if rng.random() < 0.6:
        fields["lat"], fields["lon"] = _near_berlin(rng)
        fields["location"] = "Somewhere in Berlin"
    if kind == "all_day":
        return PlanData(all_day=True, start_date=day, end_date=day + timedelta(days=rng.randint(1, 3)), **fields)
    start = datetime.combine(day, datetime.min.time()) + timedelta(
        hours=rng.randint(7, 21), minutes=rng.choice([0, 30])
    )
    end = start + timedelta(minutes=rng.choice([30, 60, 90, 120, 180]))
    if kind == "weekly":
        fields["rrule"] = "FREQ=WEEKLY" if rng.random() < 0.05 else f"FREQ=WEEKLY;COUNT={rng.randint(4, 52)}"
    elif kind == "daily":
        fields["rrule"] = f"FREQ=DAILY;COUNT={rng.randint(3, 30)}"
    return PlanData(start_local=start, end_local=end, **fields)


def prepare() -> Any:
    """The group (seeded once: about 40,000 plans take a few minutes), reused on later runs."""
    from django.core.management import call_command
    from django.db import transaction

    from apps.calendars import services as calendar_services
    from apps.groups.models import Group, Membership, Role
    from apps.groups.services import groups as group_services
    from apps.users import services as user_services
    from apps.users.models import User

    ensure_database(DATABASE_URL)
    call_command("migrate", verbosity=0, interactive=False)
    group = Group.objects.filter(name=GROUP_NAME).first()
    if group is not None and Membership.objects.filter(group=group).count() == MEMBERS:
        return group
    rng = random.Random(20260620)
    began = time.perf_counter()
    with transaction.atomic():
        Group.objects.filter(name=GROUP_NAME).delete()
        people = []
        for index in range(MEMBERS):
            email = f"bench-groups-{index}@example.com"
            User.objects.filter(email=email).delete()
            person = user_services.user_create(email=email, password=None, timezone="Europe/Berlin")
            person.profile.home_lat, person.profile.home_lon = _near_berlin(rng)
            person.profile.save()
            people.append(person)
        group = group_services.group_create(owner=people[0], name=GROUP_NAME, meeting_point="Alexanderplatz",
                                            meeting_lat=52.5219, meeting_lon=13.4132)  # fmt: skip
        for person in people[1:]:
            Membership.objects.create(group=group, user=person, role=Role.MEMBER)
        for person in people:
            calendars = [
                calendar_services.calendar_ensure_default(owner=person),
                calendar_services.calendar_create(owner=person, name="Work"),
            ]
            for _ in range(PLANS_EACH):
                calendar_services.plan_create(calendar=rng.choice(calendars), data=_plan(rng))
    print(f"seeded {MEMBERS} people x {PLANS_EACH} plans in {time.perf_counter() - began:.0f} s")
    return group


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    setup_django()
    from django.core.cache import cache

    from apps.calendars import series_cache
    from apps.calendars import services as calendar_services
    from apps.calendars.ical import PlanData
    from apps.calendars.models import Calendar
    from apps.groups import availability as pure
    from apps.groups.models import Membership
    from apps.groups.selectors.availability import MAX_TRAVEL, _occurrences, availability
    from apps.users.models import User

    group = prepare()
    start, end = (moment.astimezone(UTC) for moment in WEEKEND)
    series_cache.clear()
    cache.clear()  # this bench's Redis database: the busy intervals cached by earlier runs
    began = time.perf_counter()
    found = availability(group=group, start=start, end=end, min_minutes=60)
    first = time.perf_counter() - began

    warm = []  # the busy intervals cached: nothing changed since the last call
    for _ in range(REPEAT):
        began = time.perf_counter()
        availability(group=group, start=start, end=end, min_minutes=60)
        warm.append(time.perf_counter() - began)
    changed = []  # one member added a plan to the weekend since the last call: their busy intervals are read again
    people = list(User.objects.filter(group_memberships__group=group).order_by("pk"))
    for index in range(REPEAT):
        person = people[index % len(people)]
        added = calendar_services.plan_create(
            calendar=calendar_services.calendar_ensure_default(owner=person),
            data=PlanData(uid="", title="Added", timezone="Europe/Berlin", start_local=datetime(2026, 6, 20, 15),
                          end_local=datetime(2026, 6, 20, 16)),
        )  # fmt: skip
        began = time.perf_counter()
        availability(group=group, start=start, end=end, min_minutes=60)
        changed.append(time.perf_counter() - began)
        calendar_services.plan_delete(plan=added)
    missed = []  # series compiled, nothing cached: every member's plans read (a cold cache, or all changed at once)
    for _ in range(REPEAT):
        cache.clear()
        began = time.perf_counter()
        availability(group=group, start=start, end=end, min_minutes=60)
        missed.append(time.perf_counter() - began)

    members = list(Membership.objects.filter(group=group).values_list("user_id", flat=True))
    calendars = dict(Calendar.objects.filter(owner_id__in=members).values_list("pk", "owner_id"))
    reads: list[float] = []
    occurrences: dict[int, list[Any]] = {}
    for _ in range(REPEAT):
        began = time.perf_counter()
        occurrences = _occurrences(calendars, start - MAX_TRAVEL, end + MAX_TRAVEL)
        reads.append(time.perf_counter() - began)
    slots = sum(len(items) for items in occurrences.values())
    busy = {owner: [(item.start, item.end) for item in items] for owner, items in occurrences.items()}
    sweeps = []
    for _ in range(REPEAT):
        began = time.perf_counter()
        pure.windows(busy, start=start, end=end, min_minutes=60)
        sweeps.append(time.perf_counter() - began)

    from apps.core import geo
    from apps.core.geo import LatLon

    meeting = LatLon(52.5219, 13.4132)
    places = {item.place for items in occurrences.values() for item in items if item.place is not None}
    pairs = sorted({(meeting, p) for p in places} | {(p, meeting) for p in places})
    travel = []
    for _ in range(REPEAT):
        began = time.perf_counter()
        geo.cached_travel_times(pairs, "transit")
        travel.append(time.perf_counter() - began)

    def p95(values: list[float]) -> float:
        return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]

    print(f"group availability, {MEMBERS} members x {PLANS_EACH} plans, weekend {WEEKEND[0]:%Y-%m-%d} Berlin")
    print(f"  occurrences read (window +/- {MAX_TRAVEL}): {slots}; windows found: {len(found)}")
    print(f"  first call (series cache cold): {_ms(first)}")
    print(
        f"  warm calls ({REPEAT}), busy intervals cached: p50 {_ms(statistics.median(warm))}, p95 {_ms(p95(warm))}, "
        f"best {_ms(min(warm))}  (target p95 < 50 ms)"
    )
    print(
        f"  warm calls ({REPEAT}), one member's plans changed since the last call: "
        f"p50 {_ms(statistics.median(changed))}, p95 {_ms(p95(changed))}, best {_ms(min(changed))}"
    )
    print(
        f"  warm calls ({REPEAT}), nothing cached (every member read): p50 {_ms(statistics.median(missed))}, "
        f"p95 {_ms(p95(missed))}, best {_ms(min(missed))}"
    )
    print(f"  reads only (every member's occurrences, one read): p50 {_ms(statistics.median(reads))}")
    print(f"  sweep only (windows): p50 {_ms(statistics.median(sweeps))}")
    print(f"  travel lookups ({len(pairs)} trips, one geo cache read): p50 {_ms(statistics.median(travel))}")
    print(f"  load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min)")


if __name__ == "__main__":
    main()
