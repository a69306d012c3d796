"""Backup and restore of a populated database, through the commands an operator runs.

`manage.py backup_db` and `manage.py restore_db --latest --no-input`, each a separate process (Django start-up
included, as in production), against the local PostgreSQL and a moto server (S3 + KMS) that this script starts
on a free 127.0.0.1 port and stops at the end.

1. A scratch database of its own (BENCH_DATABASE_URL, default wp_bench_backup): dropped if left over, created,
   migrated, filled and dropped again at the end. The fill goes through the services the app uses:
   BENCH_EVENTS (default 300,000) events through apps.events.services.events_upsert (the data of
   bench/events_ingest_search.py), and BENCH_PEOPLE (default 500) people with a default calendar,
   BENCH_PLANS_PER_PERSON (default 5) own plans (every fifth weekly) and one plan saved from the catalogue.
   Why 300,000: at 100,000 the data-dependent part of a restore (~1 s) drowns in the ~2 s start-up of every
   command and its noise, and the extrapolation (5.) would mean little.
2. The migrated schema without data is backed up and restored first: the fixed cost of each command.
3. backup_db of the filled database: wall time, and MB/s of database (pg_database_size) and of dump (the
   object's size in S3, KMS-encrypted).
4. restore_db over the live database (its --clean path), after emptying the catalogue so a restore that did
   nothing would fail the row check; and restore_db into an empty database of the same name (the disaster
   case: the database is gone).
   Each command runs BENCH_REPEATS times (default 3); the median is reported, with min-max. The start-up of a
   command (`backup_db --help`: interpreter, Django, system checks) is measured the same way.
5. A linear extrapolation to a 10 GB database (BENCH_EXTRAPOLATE_GB) for the RTO: the schema-only restore time
   plus 10 GB of tables + indexes at the rate between the schema-only and the filled restore. Labelled as an
   extrapolation in the output: it is not measured.

Every restore is checked: the row count of every table must equal the count before the backup.
MB = 1,000,000 bytes, GB = 10**9 bytes. Results also go to bench/results/backup_restore.json.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import psycopg
from psycopg import sql

# Run as a file, which puts bench/, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.support.databases import database_name, drop_database, recreate_database
from scripts.support.moto import moto_server

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "backup_restore.json"

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wp_bench_backup")
EVENTS = int(os.environ.get("BENCH_EVENTS", "300000"))
PEOPLE = int(os.environ.get("BENCH_PEOPLE", "500"))
PLANS_PER_PERSON = int(os.environ.get("BENCH_PLANS_PER_PERSON", "5"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
EXTRAPOLATE_GB = float(os.environ.get("BENCH_EXTRAPOLATE_GB", "10"))
COMMAND_TIMEOUT = 180  # seconds per manage.py command: the whole bench must stay within a few minutes
PAGE = 1000
REGION = "us-west-2"  # also spelled out in create_bucket, whose stubs want the literal
CREDENTIALS = {  # moto accepts any; dummies so no real credentials are ever picked up
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}
MB = 1_000_000
GB = 1_000_000_000


# --- The scratch database ------------------------------------------------------------------------------------


def database_bytes(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    assert row is not None
    return int(row[0])


def relations_bytes(url: str) -> int:
    """Tables, their indexes and TOAST in the public schema: the database less PostgreSQL's own catalogue."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(format('%I.%I', schemaname, tablename))), 0)"
            " FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def table_rows(url: str) -> dict[str, int]:
    """Exact row count of every table in the public schema."""
    with psycopg.connect(url) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            ).fetchall()
        ]
        counts: dict[str, int] = {}
        for table in tables:
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
            assert row is not None
            counts[table] = int(row[0])
    return counts


def setup_django() -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "planner.settings",
            "DATABASE_URL": DATABASE_URL,
            "LOG_LEVEL": "WARNING",
            "DJANGO_DEBUG": "false",
        }
    )
    os.environ.pop("REDIS_URL", None)  # local-memory cache, eager Celery: this bench is about PostgreSQL and S3
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# --- A realistic volume, through the app's services -----------------------------------------------------------


def fill_events(count: int) -> None:
    from apps.events import services
    from bench.events_ingest_search import make_items

    items = make_items(count)
    source = services.source_create(provider="demo", name="bench-backup")
    for offset in range(0, len(items), PAGE):
        services.events_upsert(source=source, items=items[offset : offset + PAGE])


def fill_people(people: int, plans_per_person: int) -> None:
    from apps.calendars import services as calendar_services
    from apps.calendars.ical import PlanData
    from apps.events.models import Event
    from apps.users import services as user_services

    events = list(Event.objects.order_by("pk")[: max(people, 1)])
    first_saturday = datetime(2026, 12, 5, 10, 0)
    for n in range(people):
        # No password: hashing one costs ~0.3 s of CPU and adds nothing to the data's size or shape.
        person = user_services.user_create(email=f"bench-{n}@example.test", password=None)
        calendar = calendar_services.calendar_ensure_default(owner=person)
        for k in range(plans_per_person):
            start = first_saturday + timedelta(days=7 * k + n % 2, hours=n % 8)
            calendar_services.plan_create(
                calendar=calendar,
                data=PlanData(
                    uid="", title=f"Plan {k} of person {n}", timezone="Europe/Berlin", start_local=start,
                    end_local=start + timedelta(hours=2), rrule="FREQ=WEEKLY;COUNT=8" if k == 0 and n % 5 == 0 else "",
                    location=f"Place {n % 300}, Berlin", lat=52.5 + (n % 30) / 100, lon=13.3 + (n % 40) / 100,
                ),
            )  # fmt: skip
        if events:
            calendar_services.plan_from_event(calendar=calendar, event=events[n % len(events)])


def empty_catalogue(url: str) -> None:
    """So a restore that restored nothing cannot pass the row check."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE events_event, events_venue RESTART IDENTITY CASCADE")


# --- S3 and KMS on loopback ---------------------------------------------------------------------------------


def command_env(*, moto_url: str, bucket: str, kms_key_id: str, scratch: Path) -> dict[str, str]:
    """The environment of a production pod, pointed at the emulator; nothing from the caller's AWS set-up."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "PG", "REDIS_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "planner.settings",
            "DATABASE_URL": DATABASE_URL,
            "DJANGO_DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "BACKUP_BUCKET": bucket,
            "BACKUP_KMS_KEY_ID": kms_key_id,
            "AWS_ENDPOINT_URL": moto_url,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": str(scratch / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(scratch / "no-aws-credentials"),
            **CREDENTIALS,
        }
    )
    return env


def manage(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Runs `manage.py <args>` as its own process; returns its wall time and stdout."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return elapsed, result.stdout.strip()


def check_rows(expected: dict[str, int], what: str) -> None:
    actual = table_rows(DATABASE_URL)
    tables = sorted(expected.keys() | actual.keys())
    differing = {t: (expected.get(t), actual.get(t)) for t in tables if expected.get(t) != actual.get(t)}
    if differing:
        raise SystemExit(f"{what}: row counts differ from the backed-up database (before, after): {differing}")


# --- The run --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Aws:
    s3: Any  # mypy_boto3_s3.S3Client; Any keeps the bench free of the stubs' import at run time
    bucket: str
    env: dict[str, str]


def start_aws(moto_url: str, scratch: Path) -> Aws:
    """The bucket and the KMS key, as the s3 and kms roles make them, and the commands' environment."""
    s3 = boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=moto_url,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    bucket = "wp-bench-backups"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    kms = boto3.client(
        "kms",
        region_name=REGION,
        endpoint_url=moto_url,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    kms_key_id = kms.create_key(Description="weekend-planner bench backups")["KeyMetadata"]["KeyId"]
    env = command_env(moto_url=moto_url, bucket=bucket, kms_key_id=kms_key_id, scratch=scratch)
    return Aws(s3=s3, bucket=bucket, env=env)


def cycle(aws: Aws) -> dict[str, Any]:
    """Backs up the database as it is and restores it, over itself and into an empty one, REPEATS times each."""
    from django.db import connections

    connections.close_all()  # idle, but a restore must not wait on anything this process holds
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # as autovacuum would have: the size is of a settled database
    rows = table_rows(DATABASE_URL)
    figures: dict[str, Any] = {
        "rows": rows,
        "rows_total": sum(rows.values()),
        "database_bytes": database_bytes(DATABASE_URL),
        "relations_bytes": relations_bytes(DATABASE_URL),
    }
    backups: list[float] = []
    for _ in range(REPEATS):
        elapsed, key = manage(["backup_db"], aws.env)
        backups.append(elapsed)
        time.sleep(max(0.0, 1.1 - elapsed))  # keys are stamped to the second: one backup per second at most
    head = aws.s3.head_object(Bucket=aws.bucket, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms", head
    restores_live: list[float] = []
    for _ in range(REPEATS):
        empty_catalogue(DATABASE_URL)
        restores_live.append(manage(["restore_db", "--latest", "--no-input"], aws.env)[0])
        check_rows(rows, "restore over the live database")
    restores_empty: list[float] = []
    for _ in range(REPEATS):
        recreate_database(DATABASE_URL)
        restores_empty.append(manage(["restore_db", "--latest", "--no-input"], aws.env)[0])
        check_rows(rows, "restore into an empty database")
    figures.update(
        dump_bytes=int(head["ContentLength"]),
        dump_key=key,
        backup_s=backups,
        restore_live_s=restores_live,
        restore_empty_s=restores_empty,
    )
    return figures


def measure(scratch: Path) -> dict[str, Any]:
    with moto_server(scratch / "moto.log") as moto_url:
        aws = start_aws(moto_url, scratch)
        recreate_database(DATABASE_URL)
        setup_django()
        # What every command pays before it does any work: interpreter, Django set-up, system checks.
        startup = [manage(["backup_db", "--help"], aws.env)[0] for _ in range(REPEATS)]
        # The migrated schema without data: the fixed cost of a backup and a restore, whatever the size.
        print("Backing up and restoring the empty schema ...", flush=True)
        schema = cycle(aws)
        print(f"Filling {database_name(DATABASE_URL)}: {EVENTS:,} events, {PEOPLE:,} people ...", flush=True)
        started = time.perf_counter()
        fill_events(EVENTS)
        fill_people(PEOPLE, PLANS_PER_PERSON)
        fill_s = time.perf_counter() - started
        print("Backing up and restoring the filled database ...", flush=True)
        filled = cycle(aws)
    return {
        "database": database_name(DATABASE_URL),
        "repeats": REPEATS,
        "startup_s": startup,
        "schema": schema,
        "filled": filled,
        "fill_s": fill_s,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
    }


def report(figures: dict[str, Any]) -> None:
    filled, schema = figures["filled"], figures["schema"]
    size, relations, dump = filled["database_bytes"], filled["relations_bytes"], filled["dump_bytes"]
    print(f"\nRows per table ({figures['database']}):")
    for table, count in filled["rows"].items():
        if count:
            print(f"  {table:<40} {count:>10,}")
    print(f"  {'total':<40} {filled['rows_total']:>10,}")
    print(f"Database size (pg_database_size)    {size / MB:>8.1f} MB  (tables + indexes: {relations / MB:.1f} MB)")
    print(f"Dump size (custom format, -Z6)      {dump / MB:>8.1f} MB  ({dump / size:.0%} of the database)")
    print(f"Median of {figures['repeats']} runs each (min-max); every time includes the command's start-up.")
    startup = figures["startup_s"]
    print(f"{'command start-up (backup_db --help)':<36} {statistics.median(startup):>6.1f} s  {spread(startup)}")
    for label, name in (
        ("backup_db", "backup_s"),
        ("restore_db --latest (live db)", "restore_live_s"),
        ("restore_db --latest (empty db)", "restore_empty_s"),
    ):
        seconds, bare = statistics.median(filled[name]), statistics.median(schema[name])
        print(f"{label:<36} {seconds:>6.1f} s  {spread(filled[name]):<12} {size / MB / seconds:>6.1f} MB/s of database"
              f"  {dump / MB / seconds:>5.1f} MB/s of dump   (schema only: {bare:.1f} s)")  # fmt: skip
    print(
        f"EXTRAPOLATION, not measured: restore_db of a {EXTRAPOLATE_GB:g} GB database (tables + indexes), linear "
        "between the schema-only and the filled restore:"
    )
    added = relations - schema["relations_bytes"]
    for label, name in (("live db", "restore_live_s"), ("empty db", "restore_empty_s")):
        fixed = statistics.median(schema[name])
        slope = statistics.median(filled[name]) - fixed
        # The band takes the least and the most favourable pairs of runs: the slope is a few seconds at most here.
        fast, slow = min(filled[name]) - max(schema[name]), max(filled[name]) - min(schema[name])
        if slope <= 0:
            print(f"  {label}: the filled restore is not measurably slower than the schema-only one: no estimate")
            continue
        estimate = fixed + EXTRAPOLATE_GB * GB * slope / added
        high = fixed + EXTRAPOLATE_GB * GB * slow / added
        low = fixed + EXTRAPOLATE_GB * GB * fast / added if fast > 0 else fixed
        figures[f"extrapolated_restore_{name}"] = {"median": estimate, "low": low, "high": high}
        print(
            f"  {label}: ~{estimate / 60:.1f} min (range {low / 60:.1f}-{high / 60:.1f} min) = {fixed:.1f} s fixed "
            f"+ {added / MB / slope:.0f} MB/s of tables + indexes"
        )


def spread(values: list[float]) -> str:
    return f"({min(values):.1f}-{max(values):.1f})"


def main() -> None:
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as directory:
        try:
            figures = measure(Path(directory))
        finally:
            if "django.db" in sys.modules:
                from django.db import connections

                connections.close_all()
            drop_database(DATABASE_URL)
    report(figures)
    figures["bench_wall_s"] = time.perf_counter() - began
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2))
    print(f"Whole bench: {figures['bench_wall_s']:.0f} s")


if __name__ == "__main__":
    main()
