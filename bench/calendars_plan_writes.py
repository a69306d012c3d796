"""What a plan's row costs to write, indexes included: N plans bulk-inserted into one calendar.

Each pass inserts the same N plans (built in Python beforehand, outside the timing) in one transaction that is rolled
back, and the table is vacuumed before the next, so every pass starts from the same table. The median of REPEAT
passes is printed as plans a second, with the table's indexes and their sizes once the first pass's rows are in.

The figure moves with the indexes of calendars_plan: run it on a database migrated to an earlier state
(`manage.py migrate calendars 0004` on BENCH_DATABASE_URL, then this with --keep-schema) to compare two schemas on
the same machine and code.

Run: .venv/bin/python bench/calendars_plan_writes.py [--keep-schema]
Database BENCH_DATABASE_URL (default weekend_planner_bench_plan_writes), BENCH_PLANS (10000), BENCH_REPEAT (7).
"""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Run as a file, which puts bench/, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.support.databases import ensure_database

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/weekend_planner_bench_plan_writes"
)
PLANS = int(os.environ.get("BENCH_PLANS", "10000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "7"))
EMAIL = "bench-plan-writes@example.com"
PASSWORD = "bench-plan-writes-password-1"  # noqa: S105 - a throwaway account in the bench database
FIRST_START = datetime(2027, 1, 4, 18, 0, tzinfo=UTC)


def setup_django() -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "planner.settings",
            "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": "",
            "LOG_LEVEL": "WARNING",
            "DJANGO_DEBUG": "false",
        }
    )
    import django

    django.setup()


class Rollback(Exception):
    """Raised inside the pass's transaction so that its rows never stay."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-schema", action="store_true", help="do not migrate the database first")
    arguments = parser.parse_args()
    ensure_database(DATABASE_URL)
    setup_django()

    from django.core.management import call_command
    from django.db import connection, transaction

    if not arguments.keep_schema:
        call_command("migrate", verbosity=0, interactive=False)

    from apps.calendars import services
    from apps.calendars.models import Calendar, Plan, PlanOrigin
    from apps.users import services as user_services
    from apps.users.models import User

    user = User.objects.filter(email=EMAIL).first() or user_services.user_create(email=EMAIL, password=PASSWORD)
    calendar = Calendar.objects.filter(owner=user).first() or services.calendar_create(
        owner=user, name="Plan writes", timezone="Europe/Berlin"
    )

    def plans() -> list[Plan]:
        built = []
        for number in range(PLANS):
            start = FIRST_START + timedelta(hours=7 * number)
            end = start + timedelta(hours=2)
            built.append(
                Plan(
                    calendar=calendar, title=f"Plan {number}", timezone="Europe/Berlin", origin=PlanOrigin.IMPORTED,
                    ical_uid=f"bench-{number}@example.com", start_local=start.replace(tzinfo=None) + timedelta(hours=1),
                    end_local=end.replace(tzinfo=None) + timedelta(hours=1), start_utc=start, end_utc=end,
                    series_start_utc=start, series_end_utc=end,
                )
            )  # fmt: skip
        return built

    seconds: list[float] = []
    sizes: list[tuple[str, int]] = []
    with connection.cursor() as cursor:
        cursor.execute("VACUUM FULL calendars_plan")  # indexes rebuilt, so the first pass shows a fresh load
    for _ in range(REPEAT + 1):  # the first pass warms the caches and is not counted
        rows = plans()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM calendars_plan")  # the last pass's rolled-back rows out of the indexes
        try:
            with transaction.atomic():
                begin = time.perf_counter()
                Plan.objects.bulk_create(rows, batch_size=1000)
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the foreign-key checks, as at commit
                    seconds.append(time.perf_counter() - begin)
                    if sizes:
                        raise Rollback
                    cursor.execute(
                        "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index"
                        " WHERE indrelid = 'calendars_plan'::regclass ORDER BY 1"
                    )
                    sizes = cursor.fetchall()
                raise Rollback
        except Rollback:
            pass
    timed = seconds[1:]
    median = statistics.median(timed)
    print(f"calendars_plan: {len(sizes)} indexes, {sum(size for _, size in sizes) / 1e6:.1f} MB with {PLANS:,} plans")
    for name, size in sizes:
        print(f"  {name:<40} {size / 1e6:6.2f} MB")
    print(
        f"{PLANS:,} plans inserted, foreign keys checked: median {median * 1000:.0f} ms "
        f"({PLANS / median:,.0f} plans/s), passes {', '.join(f'{s * 1000:.0f}' for s in timed)} ms"
    )


if __name__ == "__main__":
    main()
