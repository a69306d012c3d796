"""The group page (/groups/<id>/) as members open it: time to render and queries, by the size of the group.

Builds, in its own PostgreSQL database (BENCH_DATABASE_URL, default wp_bench_groups_page, recreated each run),
groups of 2, 8 and 20 members (BENCH_SIZES). Every member has BENCH_PLANS plans (default 40) on their default
calendar around the coming weekend (a quarter of them with a place, so availability adds travel; a tenth weekly
series), the group 5 open polls of 3 options everyone voted on, 2 closed polls and 3 group plans. Each page is asked
BENCH_REPEAT times (default 30) through Django's test client, signed in as the owner, after one warm-up; the
figures are p50/p95 of the whole request (time.perf_counter) and the number of queries of one request, with the
availability selector's share timed on its own (apps.groups.selectors.availability, called as the page calls it).

Run: .venv/bin/python bench/groups_page.py [--save]  (--save writes bench/results/groups_page.json)
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.support import bench_django, machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "groups_page.json"
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wp_bench_groups_page")
SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "2,8,20").split(",")]
PLANS = int(os.environ.get("BENCH_PLANS", "40"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "30"))
ZONE = "Europe/Berlin"


def _member(rng: random.Random, index: int, saturday: datetime) -> Any:
    from apps.calendars import services as calendar_services
    from apps.calendars.ical import PlanData
    from apps.users.models import Profile, User

    user = User.objects.create_user(email=f"member{index}-{rng.random():.8f}@example.test", password=None)
    Profile.objects.filter(user=user).update(timezone=ZONE, display_name=f"Member {index}", home_lat=52.52,
                                             home_lon=13.405, travel_mode="transit")  # fmt: skip
    calendar = calendar_services.calendar_ensure_default(owner=user)
    for n in range(PLANS):
        start = saturday + timedelta(days=rng.randint(-3, 4), hours=rng.randint(7, 21), minutes=rng.choice([0, 30]))
        placed = rng.random() < 0.25
        data = PlanData(
            uid=f"bench-{user.pk}-{n}", title=f"Private plan {n}", timezone=ZONE, start_local=start,
            end_local=start + timedelta(minutes=rng.choice([60, 90, 120, 180])),
            rrule="FREQ=WEEKLY;COUNT=10" if rng.random() < 0.1 else "",
            location="Somewhere" if placed else "", lat=52.45 + rng.random() / 10 if placed else None,
            lon=13.30 + rng.random() / 5 if placed else None,
        )  # fmt: skip
        calendar_services.plan_create(calendar=calendar, data=data)
    return user


def build(rng: random.Random) -> dict[int, tuple[Any, int]]:
    """{size: (owner, group id)}."""
    from django.utils import timezone

    from apps.core.time import weekend_window
    from apps.groups.models import Membership, Role
    from apps.groups.services import groups, plans, polls

    start, _ = weekend_window("this", ZONE, now=timezone.now())
    saturday = start.astimezone(ZoneInfo(ZONE)).replace(tzinfo=None)
    built = {}
    for size in SIZES:
        people = [_member(rng, n, saturday) for n in range(size)]
        group = groups.group_create(owner=people[0], name=f"Group of {size}")
        Membership.objects.bulk_create([Membership(group=group, user=p, role=Role.MEMBER) for p in people[1:]])
        for index in range(7):
            options = [{"start": start + timedelta(hours=10 + 3 * k), "end": start + timedelta(hours=12 + 3 * k)}
                       for k in range(3)]  # fmt: skip
            poll = polls.poll_create(group=group, by=people[0], question=f"Question {index}", options=options)
            ids = list(poll.options.values_list("pk", flat=True))
            for person in people:
                polls.votes_set(poll=poll, user=person, votes=[(i, rng.choice(["yes", "maybe", "no"])) for i in ids])
            if index >= 5:
                polls.poll_close(poll=poll, by=people[0])
        for index in range(3):
            begin = start + timedelta(hours=30 + index)
            plans.group_plan_create(group=group, by=people[0], title=f"Group plan {index}", start_utc=begin,
                                    end_utc=begin + timedelta(hours=1))  # fmt: skip
        built[size] = (people[0], group.pk)
    return built


def _counting(queries: list[str]) -> Any:
    def wrapper(execute: Any, sql: str, *rest: Any) -> Any:
        queries.append(sql)
        return execute(sql, *rest)

    return wrapper


def measure(built: dict[int, tuple[Any, int]]) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from apps.core.time import weekend_window
    from apps.groups.models import Group
    from apps.groups.selectors.availability import availability

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    figures: dict[str, Any] = {}
    for size, (owner, group_id) in built.items():
        client = Client()
        client.force_login(owner)
        path = f"/groups/{group_id}/"
        assert client.get(path).status_code == 200  # warm-up
        queries: list[str] = []
        with connection.execute_wrapper(_counting(queries)):
            response = client.get(path)
        assert response.status_code == 200
        assert b"Private plan" not in response.content  # free/busy only
        page_ms = []
        for _ in range(REPEAT):
            began = time.perf_counter()
            client.get(path)
            page_ms.append((time.perf_counter() - began) * 1000)
        group = Group.objects.get(pk=group_id)
        start, end = weekend_window("this", ZONE, now=timezone.now())
        avail_ms = []
        for _ in range(REPEAT):
            began = time.perf_counter()
            availability(group=group, start=start, end=end, min_minutes=0)
            avail_ms.append((time.perf_counter() - began) * 1000)
        page_ms.sort()
        figures[str(size)] = {
            "queries": len(queries),
            "page_p50_ms": round(statistics.median(page_ms), 1),
            "page_p95_ms": round(page_ms[int(0.95 * (len(page_ms) - 1))], 1),
            "availability_p50_ms": round(statistics.median(avail_ms), 1),
            "bytes": len(response.content),
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--save", action="store_true", help=f"write the figures to {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    bench_django.setup_django(DATABASE_URL, EMAIL_URL="memorymail://")  # the poll and plan emails, kept in memory
    rng = random.Random(20261205)
    began = time.perf_counter()
    built = build(rng)
    build_s = round(time.perf_counter() - began, 1)
    waited = machine.wait_for_quiet(30.0)
    m = machine.describe()
    print(f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), load average {os.getloadavg()[0]:.1f}, "
          f"waited {waited:.0f} s for quiet; data built in {build_s} s")  # fmt: skip
    figures = measure(built)
    for size, row in figures.items():
        print(f"{size:>3} members ({PLANS} plans each): page p50 {row['page_p50_ms']} ms, p95 {row['page_p95_ms']} ms,"
              f" {row['queries']} queries, {row['bytes']:,} bytes;"
              f" availability alone p50 {row['availability_p50_ms']} ms")  # fmt: skip
    if args.save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        payload = {"revision": machine.revision(), "machine": m, "plans_per_member": PLANS, "sizes": figures}
        RESULTS.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
