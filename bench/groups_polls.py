"""Polls and group plans under load: votes a second with members voting at once, and the cost of what a poll's
life does (results, close, answers, the iTIP invitation), by the size of the group.

Builds, in its own PostgreSQL database (BENCH_DATABASE_URL, default wp_bench_groups_polls, recreated each run),
one group per size in BENCH_SIZES (default 10 and 50 members) and a poll of 10 time windows. Then:

- votes: every member sets their 10 votes (`services.polls.votes_set`, the PUT of the API) from THREADS threads at
  once (BENCH_THREADS, default 1, 4 and 8; each thread its own database connection), on a fresh poll per thread
  count; every call takes the poll's row lock, so this is the serialised path. Printed: votes_set calls a second,
  p50/p95 of one call, and a check that the stored votes are exactly members x options.
- the poll read with live results (GET /api/v1/groups/{id}/polls/{poll}) through Django's test client as a member,
  the close (`poll_close`: the winner, the group plan, an Attendance and three outbox rows per member, the iTIP
  built once per email batch), a member's accept (`attendance_answer`: onto their default calendar) and the
  invitation (GET .../invitation.ics), each BENCH_REPEAT times (default 20) after one warm-up, p50/p95.

Email sends are published to Redis (BENCH_REDIS_URL, default db 12) as in production and never consumed here; the
bench deletes the notifications queue's keys there when it ends.

Run: .venv/bin/python bench/groups_polls.py [--save]  (--save writes bench/results/groups_polls.json)
"""

import argparse
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.support import bench_django, machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "groups_polls.json"
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wp_bench_groups_polls")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "10,50").split(",")]
THREADS = [int(n) for n in os.environ.get("BENCH_THREADS", "1,4,8").split(",")]
REPEAT = int(os.environ.get("BENCH_REPEAT", "20"))
OPTIONS = 10
SATURDAY = datetime(2027, 6, 19, 10, 0, tzinfo=UTC)


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 2),
    }


def _timed(call: Callable[[], object], repeat: int = REPEAT) -> dict[str, float]:
    call()  # warm-up
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        samples.append(time.perf_counter() - began)
    return _ms(samples)


def _group(size: int, tag: str) -> tuple[Any, list[Any]]:
    from apps.groups.models import Group, Membership, Role
    from apps.users.models import User

    group = Group.objects.create(name=f"Bench {tag} {size}")
    people = [User.objects.create_user(email=f"{tag}-{size}-{n}@example.test", password=None) for n in range(size)]
    Membership.objects.bulk_create(
        [Membership(group=group, user=p, role=Role.OWNER if i == 0 else Role.MEMBER) for i, p in enumerate(people)]
    )
    return group, people


def _poll(group: Any, by: Any, question: str) -> Any:
    from apps.groups.services import polls

    options = [
        {"start": (SATURDAY + timedelta(hours=h)).isoformat(), "end": (SATURDAY + timedelta(hours=h + 2)).isoformat()}
        for h in range(OPTIONS)
    ]
    return polls.poll_create(group=group, by=by, question=question, options=options)


def votes(size: int, threads: int) -> dict[str, Any]:
    from django.db import connection

    from apps.groups.models import Vote
    from apps.groups.services import polls

    group, people = _group(size, f"votes{threads}")
    poll = _poll(group, people[0], f"Votes with {threads} threads")
    ids = list(poll.options.values_list("pk", flat=True))
    choices = ["yes", "maybe", "no"]
    samples: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def run(share: list[Any]) -> None:
        try:
            barrier.wait()
            for n, person in enumerate(share):
                votes = [(option, choices[(n + i) % 3]) for i, option in enumerate(ids)]
                began = time.perf_counter()
                polls.votes_set(poll=poll, user=person, votes=votes)
                with lock:
                    samples.append(time.perf_counter() - began)
        finally:
            connection.close()

    workers = [threading.Thread(target=run, args=(people[i::threads],)) for i in range(threads)]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - began
    stored = Vote.objects.filter(option__poll=poll).count()
    return {
        "threads": threads,
        "calls": len(samples),
        "calls_per_s": round(len(samples) / wall, 1),
        "votes_per_s": round(len(samples) * OPTIONS / wall, 1),
        **_ms(samples),
        "stored_votes": stored,
        "expected_votes": size * OPTIONS,
    }


def lifecycle(size: int) -> dict[str, Any]:
    from django.test import Client

    from apps.groups.models import GroupPlan, Poll
    from apps.groups.services import plans, polls

    group, people = _group(size, "life")
    poll = _poll(group, people[0], "Which window?")
    ids = list(poll.options.values_list("pk", flat=True))
    for n, person in enumerate(people):
        polls.votes_set(
            poll=poll, user=person, votes=[(o, ["yes", "maybe", "no"][(n + i) % 3]) for i, o in enumerate(ids)]
        )
    client = Client()
    client.force_login(people[1])
    read = _timed(lambda: client.get(f"/api/v1/groups/{group.pk}/polls/{poll.pk}"))

    def close() -> None:
        fresh = Poll.objects.get(pk=_poll(group, people[0], "Close me").pk)
        first = fresh.options.values_list("pk", flat=True)[0]
        polls.votes_set(poll=fresh, user=people[0], votes=[(first, "yes")])
        polls.poll_close(poll=fresh, by=people[0])

    closing = _timed(close, repeat=max(3, REPEAT // 4))
    plan = GroupPlan.objects.filter(group=group).order_by("pk").first()
    assert plan is not None
    turn = iter(range(10**6))

    def answer() -> None:
        n = next(turn)
        plans.attendance_answer(group_plan=plan, user=people[n % size], answer="accepted" if n % 2 == 0 else "declined")

    answering = _timed(answer)
    invitation = _timed(lambda: client.get(f"/api/v1/groups/{group.pk}/plans/{plan.pk}/invitation.ics"))
    return {"results_read": read, "close": closing, "answer": answering, "invitation_ics": invitation}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--save", action="store_true", help=f"write {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    bench_django.setup_django(DATABASE_URL, redis_url=REDIS_URL, SITE_URL="https://bench.example")
    import redis

    waited = machine.wait_for_quiet(30.0)
    m = machine.describe()
    print(f"machine: {m['nproc']} CPUs, {m['cpu_model']}; busy {machine.busy_pct():.0f}% (waited {waited:.0f} s)")
    figures: dict[str, Any] = {}
    try:
        for size in SIZES:
            figures[str(size)] = {"votes": [votes(size, t) for t in THREADS], **lifecycle(size)}
            print(f"\n{size} members, {OPTIONS} options")
            for row in figures[str(size)]["votes"]:
                print(f"  votes_set from {row['threads']} threads: {row['calls_per_s']} calls/s "
                      f"({row['votes_per_s']} votes/s), p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms; "
                      f"stored {row['stored_votes']} of {row['expected_votes']}")  # fmt: skip
            for name in ("results_read", "close", "answer", "invitation_ics"):
                row = figures[str(size)][name]
                print(f"  {name}: p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms")
    finally:
        broker = redis.Redis.from_url(REDIS_URL)  # the sends published and never consumed: the queue's lists only
        for key in broker.scan_iter(match="notifications*"):
            broker.delete(key)
    if args.save:
        RESULTS.parent.mkdir(exist_ok=True)
        payload = {"revision": machine.revision(), "machine": m, "options": OPTIONS, "sizes": figures}
        RESULTS.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
