"""The weekly digest at scale: BENCH_PEOPLE people (default 10,000) whose Thursday 18:00 comes at once, generated
and sent by one worker process; extrapolated to 100,000 (goal: within 10 minutes).

Builds, in its own PostgreSQL database (BENCH_DATABASE_URL, default wp_bench_notifications_digest, recreated each
run), the people around Berlin (bench/berlin.py, all in Europe/Berlin: the worst case, every digest due on the same
tick), BENCH_EVENTS upcoming events over four weeks (default 20,000; about 1,400 on the weekend), and for each person
a default calendar with two plans on the Saturday (a third of them overlapping: a clash to fix).

Then, at Thursday 18:05 Berlin time:
1. Selection: digest.due_batches, the query that finds who is due and has no digest yet (all batches).
2. Generation and sending, as one worker does it: digest.dispatch handing each batch to digest.send_batch in this
   process (what the digest_send_batch task runs), the sends run in-process too (CELERY eager, as under `make run`;
   no Redis), so each batch builds every person's context (plans, clashes, five recommendations
   with reasons, untracked), stores the outbox row through services.notify, renders it and hands it to Django's
   dummy email backend (no SMTP round trip: the mail server's speed is not ours to measure).
3. A second tick: it must find nobody.
A sample of BENCH_SAMPLE people (default 300) is also timed through digest_context alone, to split the cost.
The contexts' building (what digest_send_batch computes) is timed apart from storing and sending them; with
BENCH_PROFILE=1 the generation and sending run under cProfile (slower) and the top functions are printed
(BENCH_PROFILE_FILE=path also saves the whole profile).

Run: .venv/bin/python bench/notifications_digest.py   (DATABASE_URL/REDIS_URL of the test env are not used)
"""

import cProfile
import os
import pstats
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

# Run as a file, which puts bench/, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import berlin
from scripts.support import bench_django, machine

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wp_bench_notifications_digest")
PEOPLE = int(os.environ.get("BENCH_PEOPLE", "10000"))
EVENTS = int(os.environ.get("BENCH_EVENTS", "20000"))
SAMPLE = int(os.environ.get("BENCH_SAMPLE", "300"))
PROFILE = os.environ.get("BENCH_PROFILE") == "1"
TARGET_PEOPLE = 100_000
TARGET_S = 600.0
ZONE = ZoneInfo("Europe/Berlin")


def thursday_evening() -> datetime:
    """Next Thursday 18:05 in Berlin, as UTC: the digest's tick for everyone built here."""
    today = datetime.now(ZONE).date()
    thursday = today + timedelta(days=(3 - today.weekday()) % 7 or 7)
    return datetime.combine(thursday, datetime.min.time(), tzinfo=ZONE).replace(hour=18, minute=5).astimezone(UTC)


def build(rng: np.random.Generator, now: datetime) -> dict[str, Any]:
    from django.db import connection

    from apps.calendars.models import Calendar, Plan

    began = time.perf_counter()
    users = berlin.people(rng, berlin.random_interests(rng, PEOPLE))
    berlin.events(rng, now, rng.uniform(0, 28 * 86400, EVENTS), rng.integers(0, len(berlin.CATEGORIES), EVENTS))
    calendars = Calendar.objects.bulk_create(
        [Calendar(owner=user, name="My calendar", timezone="Europe/Berlin", is_default=True) for user in users],
        batch_size=5000,
    )
    saturday = (now.astimezone(ZONE) + timedelta(days=2)).date()
    plans = []
    for n, calendar in enumerate(calendars):
        # 10:00-12:00, then 11:00 (a clash) or 14:00, both local on the Saturday.
        for title, hour in (("Brunch", 10), ("Museum", 11 if n % 3 == 0 else 14)):
            local = datetime.combine(saturday, datetime.min.time()).replace(hour=hour)
            start = local.replace(tzinfo=ZONE).astimezone(UTC)
            plans.append(
                Plan(
                    calendar=calendar,
                    title=f"{title} {n}",
                    timezone="Europe/Berlin",
                    start_local=local,
                    end_local=local + timedelta(hours=2),
                    start_utc=start,
                    end_utc=start + timedelta(hours=2),
                    series_start_utc=start,
                    series_end_utc=start + timedelta(hours=2),
                    ical_uid=f"bench-{n}-{hour}@weekendplanner.test",
                )
            )
    Plan.objects.bulk_create(plans, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"build_s": round(time.perf_counter() - began, 1), "plans": len(plans)}


def main() -> None:
    bench_django.setup_django(DATABASE_URL, EMAIL_URL="dummymail://", SITE_URL="https://weekendplanner.test")
    from django.conf import settings

    from apps.notifications import digest
    from apps.notifications.models import Kind, Notification, Status
    from apps.users.models import User

    assert settings.CELERY_TASK_ALWAYS_EAGER, "the bench runs tasks in-process (no REDIS_URL)"
    now = thursday_evening()
    rng = np.random.default_rng(11)
    figures: dict[str, Any] = {"people": PEOPLE, "events": EVENTS, "now": now.isoformat(), **build(rng, now)}
    figures["waited_for_quiet_s"] = machine.wait_for_quiet(30)

    began = time.perf_counter()
    batches = list(digest.due_batches(now=now))
    figures["selection_s"] = round(time.perf_counter() - began, 2)
    figures["batches"] = len(batches)

    sample = list(User.objects.select_related("profile").order_by("?")[:SAMPLE])
    saturday = batches[0].saturday
    context_ms = []
    for user in sample:
        started = time.perf_counter()
        context = digest.digest_context(user=user, saturday=saturday, now=now)
        context_ms.append((time.perf_counter() - started) * 1000)
    figures["context_mean_ms"] = round(statistics.fmean(context_ms), 1)
    figures["context_p95_ms"] = round(float(np.percentile(context_ms, 95)), 1)
    figures["sample_recommendations_mean"] = round(len(context["recommendations"]), 1)

    # The building of the contexts (digest._contexts: plans, clashes, recommendations) timed apart from storing
    # and sending them, which the worker's send tasks do (rendering, the outbox row's claim and record).
    generation = [0.0]
    build_contexts = digest._contexts

    def timed_contexts(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        built = list(build_contexts(*args, **kwargs))
        generation[0] += time.perf_counter() - started
        return iter(built)

    digest._contexts = timed_contexts
    profiler = cProfile.Profile() if PROFILE else None
    cpu_before = time.process_time()
    began = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    # Each batch as digest_send_batch runs it, at the bench's Thursday evening rather than the wall clock's (whose
    # hour may be inside quiet hours, which would hold the sends back).
    handed = digest.dispatch(
        now=now, publish=lambda ids, day: digest.send_batch(user_ids=ids, saturday=date.fromisoformat(day), now=now) > 0
    )
    elapsed = time.perf_counter() - began
    if profiler is not None:
        profiler.disable()
    digest._contexts = build_contexts
    figures["handed"] = handed
    figures["generation_s"] = round(generation[0], 1)
    figures["generation_per_person_ms"] = round(generation[0] / max(handed, 1) * 1000, 2)
    figures["store_and_send_per_person_ms"] = round((elapsed - generation[0]) / max(handed, 1) * 1000, 2)
    figures["generate_and_send_s"] = round(elapsed, 1)
    figures["generate_and_send_cpu_s"] = round(time.process_time() - cpu_before, 1)
    figures["per_person_ms"] = round(elapsed / max(handed, 1) * 1000, 2)
    digests = Notification.objects.filter(kind=Kind.DIGEST)
    figures["digests_sent"] = digests.filter(status=Status.SENT).count()
    figures["digests_stored"] = digests.count()
    with_clash = digests.filter(context__clashes__0__isnull=False).count()
    figures["digests_with_a_clash"] = with_clash

    began = time.perf_counter()
    figures["second_tick_handed"] = digest.dispatch(now=now + timedelta(minutes=5), publish=lambda ids, day: True)
    figures["second_tick_s"] = round(time.perf_counter() - began, 2)

    per_person = elapsed / max(handed, 1)
    one_worker = per_person * TARGET_PEOPLE
    figures["extrapolated_100k_one_worker_s"] = round(one_worker, 0)
    figures["workers_for_100k_in_10_min"] = int(np.ceil(one_worker / TARGET_S))
    figures["extrapolated_100k_generation_only_s"] = round(generation[0] / max(handed, 1) * TARGET_PEOPLE, 0)
    figures["machine"] = machine.describe()
    figures["load_average"] = os.getloadavg()
    for key, value in figures.items():
        print(f"{key}: {value}")
    if profiler is not None:  # BENCH_PROFILE=1: where the generation and sending time goes
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(r"apps/|django/template/base", 30)
        if os.environ.get("BENCH_PROFILE_FILE"):  # for a closer look: python -m pstats FILE
            profiler.dump_stats(os.environ["BENCH_PROFILE_FILE"])


if __name__ == "__main__":
    main()
