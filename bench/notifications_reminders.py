"""The reminders' minute tick with 1,000,000 upcoming reminders materialised (goal: each tick < 1 s).

Builds, in its own PostgreSQL database (BENCH_DATABASE_URL, default wp_bench_notifications_reminders, recreated
each run), BENCH_PEOPLE people (default 20,000) each with a profile, a calendar and a plan, and BENCH_REMINDERS
Reminder rows (default 1,000,000, written with COPY) for occurrences over the 48 h horizon: remind_at spread over
the two days with a day/night profile (waking hours 08:00-22:00 UTC ten times as busy as the night), occurrence
start = remind_at + 120 min. Then ANALYZE, as autovacuum would.

Measured: BENCH_TICKS consecutive ticks (default 15) in the busiest hour, after one warm-up tick (timed apart),
each `reminders.tick(now)` as beat's task runs it: select the due rows through the partial index (FOR UPDATE SKIP
LOCKED, batches of 500), store their Notification rows (notify_many: one bulk insert), mark them done, and on
commit publish one `send_many` message per 100 rows to Redis (BENCH_REDIS_URL, default db 14; the notifications
queue is purged before and after). The sends themselves are the worker's and not timed. Also printed: the
due-row query's plan, and (BENCH_REFRESH=1, the default) the hourly refresh_all over everyone, twice.

Run: .venv/bin/python bench/notifications_reminders.py   (DATABASE_URL/REDIS_URL of the test env are not used)
"""

import io
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Run as a file, which puts bench/, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.support import bench_django, machine

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wp_bench_notifications_reminders"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
PEOPLE = int(os.environ.get("BENCH_PEOPLE", "20000"))
REMINDERS = int(os.environ.get("BENCH_REMINDERS", "1000000"))
TICKS = int(os.environ.get("BENCH_TICKS", "15"))
REFRESH = os.environ.get("BENCH_REFRESH", "1") == "1"  # also time the hourly refresh_all (a few minutes)
LEAD = timedelta(minutes=120)
START = datetime(2026, 10, 1, 0, 0, tzinfo=UTC)  # the horizon's start; the data does not depend on today
BUSY_HOUR = START + timedelta(hours=18)


def minute_weights() -> list[float]:
    return [1.0 if 8 <= (minute // 60) % 24 < 22 else 0.1 for minute in range(48 * 60)]


def build() -> None:
    from django.db import connection

    from apps.calendars.models import Calendar, Plan
    from apps.users.models import Profile, User

    started = time.perf_counter()
    unusable = "!"  # Django's mark for an account without a password
    users = User.objects.bulk_create(
        [User(email=f"person{n}@bench.example", password=unusable) for n in range(PEOPLE)], batch_size=5000
    )
    Profile.objects.bulk_create(
        [Profile(user=user, timezone="Europe/Berlin") for user in users], batch_size=5000, ignore_conflicts=True
    )
    calendars = Calendar.objects.bulk_create(
        [Calendar(owner=user, name="Mine", timezone="Europe/Berlin", is_default=True) for user in users],
        batch_size=5000,
    )
    plans = Plan.objects.bulk_create(
        [
            Plan(
                calendar=calendar,
                title="Yoga in the park",
                timezone="UTC",
                ical_uid=f"bench-{n}",
                rrule="FREQ=HOURLY",  # the rows below stand for its occurrences; the tick never expands it
                start_local=START.replace(tzinfo=None),
                end_local=(START + timedelta(hours=1)).replace(tzinfo=None),
                start_utc=START,
                end_utc=START + timedelta(hours=1),
            )
            for n, calendar in enumerate(calendars)
        ],
        batch_size=5000,
    )
    rng = random.Random(15)
    minutes = rng.choices(range(48 * 60), weights=minute_weights(), k=REMINDERS)
    buffer = io.StringIO()
    for n, minute in enumerate(minutes):
        person = n % PEOPLE
        remind_at = START + timedelta(minutes=minute, seconds=rng.randrange(60))
        start = remind_at + LEAD
        buffer.write(
            f"{users[person].pk}\t{plans[person].pk}\t{start:%Y%m%dT%H%M%S}-{n}\t{start.isoformat()}\t"
            f"{(start + timedelta(hours=1)).isoformat()}\tYoga in the park\t{remind_at.isoformat()}\tf\n"
        )
    buffer.seek(0)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            "COPY notifications_reminder (user_id, plan_id, recurrence_id, occurrence_start, occurrence_end, title,"
            " remind_at, done) FROM STDIN"
        ) as copy:
            while chunk := buffer.read(1 << 20):
                copy.write(chunk)
        cursor.execute("ANALYZE")
    print(f"built {PEOPLE:,} people and {REMINDERS:,} reminders in {time.perf_counter() - started:.1f} s")


def purge_queue() -> None:
    from celery import current_app

    with current_app.connection_for_write() as broker:
        broker.default_channel.queue_purge("notifications")  # type: ignore[attr-defined]  # kombu virtual channel


def main() -> None:
    bench_django.setup_django(DATABASE_URL, redis_url=REDIS_URL)
    from django.db import connection

    from apps.notifications import reminders
    from apps.notifications.models import Notification, Reminder

    build()
    purge_queue()
    # Everything before the busy hour is handled first, as the ticks before it would have.
    Reminder.objects.filter(remind_at__lt=BUSY_HOUR).update(done=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE notifications_reminder")
        cursor.execute(
            "EXPLAIN (ANALYZE, BUFFERS) SELECT id FROM notifications_reminder WHERE NOT done AND remind_at <= %s"
            " ORDER BY remind_at LIMIT 500",
            [BUSY_HOUR + timedelta(minutes=1)],
        )
        plan = "\n    ".join(row[0] for row in cursor.fetchall())
    print(f"machine: {machine.describe()}; load: {os.getloadavg()}")
    print(f"due-row query plan:\n    {plan}")
    # The first tick of a fresh process also imports the URLconf (reverse) and warms the ORM's caches: a beat
    # worker pays that once. Timed apart; the measured ticks are the minutes after it.
    cold = time.perf_counter()
    cold_count = reminders.tick(now=BUSY_HOUR + timedelta(minutes=1))
    cold = time.perf_counter() - cold
    print(f"first tick in a fresh process: {cold * 1000:.0f} ms for {cold_count} reminders")
    durations, counts = [], []
    for tick in range(1, TICKS + 1):
        now = BUSY_HOUR + timedelta(minutes=tick + 1)
        started = time.perf_counter()
        stored = reminders.tick(now=now)
        durations.append(time.perf_counter() - started)
        counts.append(stored)
    again = time.perf_counter()
    assert reminders.tick(now=BUSY_HOUR + timedelta(minutes=TICKS + 1)) == 0
    idle = time.perf_counter() - again
    purge_queue()
    ordered = sorted(durations)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(f"ticks: {TICKS}, due per tick: median {statistics.median(counts):.0f}, {min(counts)}-{max(counts)}")
    p50 = statistics.median(durations)
    print(f"tick duration: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {max(durations) * 1000:.0f} ms")
    print(f"per reminder: {sum(durations) / sum(counts) * 1000:.2f} ms; a tick with nothing due: {idle * 1000:.1f} ms")
    pending = Reminder.objects.filter(done=False).count()
    print(f"notifications stored: {Notification.objects.count():,}; reminders pending: {pending:,}")
    print(f"goal (< 1 s at p95): {'met' if p95 < 1.0 else 'MISSED'}")
    if REFRESH:
        refresh(BUSY_HOUR + timedelta(minutes=TICKS + 2))


def refresh(now: datetime) -> None:
    """The hourly pass over everyone: each bench plan is an hourly series, so expanding the horizon gives about
    50 occurrences a person (1,000,000 in all). The first pass replaces the COPY'd stand-in rows (a rebuild);
    the second, an hour later, is the steady state (the horizon moved on by an hour)."""
    from apps.notifications import reminders
    from apps.notifications.models import Reminder

    for label, moment in (("rebuild", now), ("an hour later", now + timedelta(hours=1))):
        started = time.perf_counter()
        changed = reminders.refresh_all(now=moment)
        elapsed = time.perf_counter() - started
        pending = Reminder.objects.filter(done=False).count()
        print(f"refresh_all ({label}): {elapsed:.1f} s, {changed:,} rows changed, {pending:,} pending after")


if __name__ == "__main__":
    main()
