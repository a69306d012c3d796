"""backup_db and restore_db against the real local PostgreSQL and a real moto server (S3 and KMS) on loopback.

A project-wide test, outside apps/: it fills and compares the tables of every app, and apps.core may not import
the apps above it (docs/architecture.md, the app layers).

pg_dump and pg_restore are separate processes: they see only committed rows, so the round trips use
transactional tests (pytest-django flushes the test database afterwards, as for any such test).
"""

import builtins
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from apps.calendars import services as calendar_services
from apps.calendars.ical import PlanData
from apps.core import backups
from apps.events import services as event_services
from apps.events.models import Event
from apps.events.tests.factories import item, make_source, venue
from apps.users.tests.factories import UserFactory
from conftest import ROOT
from scripts.support.databases import database_url
from scripts.support.moto import MotoServerError, moto_server

# pg_dump, pg_restore and moto run as processes of their own, on the real clock.
pytestmark = pytest.mark.real_clock

REGION = "us-west-2"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# Every row as text, in a stable order: equal checksums mean equal contents.
TABLE_CHECKSUM = (
    "SELECT count(*), md5(coalesce(string_agg(snapshot_row::text, E'\\n' ORDER BY snapshot_row::text), ''))"
    " FROM {table} AS snapshot_row"
)
KEY_PATTERN = re.compile(r"^postgres/(?P<db>[^/]+)/(?P<stamp>\d{4}-\d\d-\d\dT\d{6}Z)\.dump$")


# --- The emulator ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory):
    try:
        with moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as url:
            yield url
    except MotoServerError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="module")
def kms_key_id(moto_url):
    kms = boto3.client("kms", region_name=REGION, endpoint_url=moto_url, **CREDENTIALS)
    return kms.create_key(Description="weekend-planner backups (test)")["KeyMetadata"]["KeyId"]


@pytest.fixture
def s3(moto_url, kms_key_id, settings, monkeypatch, tmp_path):
    """A fresh bucket per test, and the app's settings and AWS environment pointed at the emulator."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS["aws_secret_access_key"])
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    client = boto3.client("s3", region_name=REGION, endpoint_url=moto_url, **CREDENTIALS)
    bucket = f"wp-backups-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    settings.BACKUP_BUCKET = bucket
    settings.BACKUP_KMS_KEY_ID = kms_key_id
    settings.BACKUP_PREFIX = "postgres/"
    settings.AWS_REGION = REGION
    settings.AWS_ENDPOINT_URL = moto_url
    return Bucket(client=client, name=bucket)


@dataclass
class Bucket:
    client: Any
    name: str

    def keys(self) -> list[str]:
        return sorted(item["Key"] for item in self.client.list_objects_v2(Bucket=self.name).get("Contents", []))


# --- What the database holds ---------------------------------------------------------------------------------


def snapshot() -> dict[str, tuple[int, str]]:
    """Row count and checksum of every table in the public schema, and every sequence's position."""
    result: dict[str, tuple[int, str]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
        tables = [name for (name,) in cursor.fetchall()]
        for table in tables:
            cursor.execute(TABLE_CHECKSUM.format(table=connection.ops.quote_name(table)))
            count, checksum = cursor.fetchone()
            result[table] = (count, checksum)
        cursor.execute("SELECT sequencename, coalesce(last_value, 0) FROM pg_sequences WHERE schemaname = 'public'")
        for name, last_value in cursor.fetchall():
            result[f"sequence:{name}"] = (last_value, "")
    return result


def realistic_data() -> None:
    """People, their calendars and plans (own, recurring with an override, saved from the catalogue) and events."""
    people = [UserFactory() for _ in range(3)]
    source = make_source(name="backup-source")
    start = datetime(2026, 12, 5, 19, 0, tzinfo=UTC)
    event_services.events_upsert(
        source=source,
        items=[
            item("e1", start=start),
            item("e2", start=start + timedelta(days=1), title="Flea market", category="markets", venue=venue("v:2")),
            item("e3", start=start + timedelta(days=2), title="Jazz night", price_min=None, price_max=None),
        ],
    )
    events = list(Event.objects.order_by("pk"))
    for index, person in enumerate(people):
        calendar = calendar_services.calendar_ensure_default(owner=person)
        calendar_services.calendar_create(owner=person, name=f"Work {index}", timezone="Europe/Berlin")
        plan = calendar_services.plan_create(
            calendar=calendar,
            data=PlanData(
                uid="", title=f"Brunch ({person.email})", timezone="Europe/Berlin",
                start_local=datetime(2026, 12, 6, 11, 0), end_local=datetime(2026, 12, 6, 12, 30),
                rrule="FREQ=WEEKLY;COUNT=4", location="Café Krone, Berlin", lat=52.52, lon=13.40,
            ),
        )  # fmt: skip
        calendar_services.occurrence_change(
            plan=plan, recurrence_id="20261213T110000", changes={"title": "Late brunch"}
        )
        calendar_services.plan_from_event(calendar=calendar, event=events[index % len(events)])


# --- Back up, wipe, restore --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_backup_wipe_and_restore_latest_brings_back_every_row(s3, capsys):
    realistic_data()
    before = snapshot()
    for table in ("users_user", "users_profile", "events_event", "events_venue", "calendars_calendar"):
        assert before[table][0] > 0, table
    assert before["calendars_plan"][0] == 6
    assert before["calendars_planoverride"][0] == 3

    started = datetime.now(UTC).replace(microsecond=0)
    call_command("backup_db")
    key = capsys.readouterr().out.strip()
    finished = datetime.now(UTC)

    match = KEY_PATTERN.match(key)
    assert match, key
    assert match["db"] == connection.settings_dict["NAME"]
    assert started <= datetime.strptime(match["stamp"], "%Y-%m-%dT%H%M%SZ").replace(tzinfo=UTC) <= finished
    assert s3.keys() == [key]

    call_command("flush", "--no-input")
    UserFactory(email="made-after-the-backup@example.test")
    wiped = snapshot()
    assert wiped["users_user"][0] == 1
    assert wiped["events_event"][0] == 0
    assert wiped != before

    call_command("restore_db", "--latest", "--no-input")
    assert f"from s3://{s3.name}/{key}" in capsys.readouterr().out

    after = snapshot()
    assert sorted(after) == sorted(before)
    differing = {table: (before[table], after[table]) for table in before if before[table] != after[table]}
    assert differing == {}
    # The application keeps working on the restored tables: sequences continue past the restored rows.
    UserFactory(email="made-after-the-restore@example.test")


@pytest.mark.django_db(transaction=True)
def test_backup_db_on_the_command_line_prints_only_the_key_of_an_encrypted_dump(s3, settings, clean_env, kms_key_id):
    UserFactory()
    env = clean_env(
        DJANGO_SETTINGS_MODULE="planner.test_settings",
        DATABASE_URL=database_url(connection.settings_dict),
        REDIS_URL=settings.CACHES["default"]["LOCATION"],
        BACKUP_BUCKET=s3.name,
        BACKUP_KMS_KEY_ID=kms_key_id,
        AWS_ENDPOINT_URL=settings.AWS_ENDPOINT_URL,
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "backup_db"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert KEY_PATTERN.match(key), result.stdout  # one line, fit for KEY=$(manage.py backup_db)
    assert s3.keys() == [key]

    head = s3.client.head_object(Bucket=s3.name, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith(kms_key_id)
    body = s3.client.get_object(Bucket=s3.name, Key=key)["Body"].read()
    assert body.startswith(b"PGDMP")  # pg_dump's custom archive format


@pytest.mark.django_db(transaction=True)
def test_big_dumps_go_up_in_parts_and_keep_the_encryption(s3, capsys, kms_key_id, monkeypatch):
    # Parts of S3's minimum size, so even a small test database needs several of them.
    monkeypatch.setattr(
        backups, "TRANSFER", TransferConfig(multipart_threshold=5 * 2**20, multipart_chunksize=5 * 2**20)
    )
    with connection.cursor() as cursor:
        # Random hex compresses to about half: some 8 MB of archive.
        cursor.execute(
            "CREATE TABLE backup_ballast AS SELECT (SELECT string_agg(md5(random()::text || g || part), '')"
            " FROM generate_series(1, 10) AS part) AS noise FROM generate_series(1, 50000) AS g"
        )
    try:
        call_command("backup_db")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE backup_ballast")
    key = capsys.readouterr().out.strip()
    head = s3.client.head_object(Bucket=s3.name, Key=key)
    assert "-" in head["ETag"], "a multipart upload's ETag ends in -<parts>"
    assert head["ContentLength"] > 5 * 2**20
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith(kms_key_id)


@pytest.mark.django_db(transaction=True)
def test_a_failed_restore_rolls_back_and_shows_pg_restore_errors(s3, capsys):
    realistic_data()
    call_command("backup_db")
    capsys.readouterr()
    call_command("flush", "--no-input")
    UserFactory(email="still-here@example.test")
    # A view the backup does not know about blocks pg_restore's DROP TABLE users_user half-way through.
    with connection.cursor() as cursor:
        cursor.execute("CREATE VIEW backup_blocker AS SELECT id FROM users_user")
    wiped = snapshot()
    try:
        with pytest.raises(CommandError, match=r"(?s)pg_restore .* failed with exit code \d+:.*depend"):
            call_command("restore_db", "--latest", "--no-input")
        assert snapshot() == wiped
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP VIEW IF EXISTS backup_blocker")


# --- Refusals that change nothing ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_restore_of_a_key_that_does_not_exist_names_it(s3):
    UserFactory()
    before = snapshot()
    with pytest.raises(CommandError, match=rf"No backup named 'postgres/nope/2020-01-01T000000Z.dump' .*{s3.name}"):
        call_command("restore_db", "postgres/nope/2020-01-01T000000Z.dump", "--no-input")
    assert snapshot() == before


@pytest.mark.django_db
def test_restore_latest_without_any_backup_says_so(s3):
    with pytest.raises(CommandError, match=r"No backup of the database 'test_\w+' exists under s3://"):
        call_command("restore_db", "--latest", "--no-input")


@pytest.mark.django_db
@pytest.mark.parametrize("command", [["backup_db"], ["restore_db", "--latest", "--no-input"]])
def test_a_missing_bucket_is_named(s3, settings, command):
    UserFactory()
    before = snapshot()
    settings.BACKUP_BUCKET = "no-such-backup-bucket"
    with pytest.raises(CommandError, match=r"The backup bucket 'no-such-backup-bucket' does not exist"):
        call_command(*command)
    assert snapshot() == before
    assert s3.keys() == []


@pytest.mark.django_db
@pytest.mark.parametrize("command", [["backup_db"], ["restore_db", "--latest", "--no-input"]])
def test_an_unset_bucket_is_named(s3, settings, command):
    UserFactory()
    before = snapshot()
    settings.BACKUP_BUCKET = ""
    with pytest.raises(CommandError, match=r"BACKUP_BUCKET is not set"):
        call_command(*command)
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("tool", "command"),
    [("pg_dump", ["backup_db"]), ("pg_restore", ["restore_db", "--latest", "--no-input"])],
)
def test_a_missing_postgresql_client_names_the_tool_and_the_package(s3, monkeypatch, tmp_path, tool, command):
    UserFactory()
    before = snapshot()
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no PostgreSQL client tools
    with pytest.raises(CommandError, match=rf"{tool} is not on PATH: install the Debian package postgresql-client"):
        call_command(*command)
    assert snapshot() == before
    assert s3.keys() == []


@pytest.mark.django_db
def test_restore_asks_first_and_a_no_changes_nothing(s3, monkeypatch, capsys):
    # An archive pg_restore would reject: had the restore gone ahead, the command would have failed.
    s3.client.put_object(Bucket=s3.name, Key=f"postgres/{connection.settings_dict['NAME']}/2026-01-01T000000Z.dump",
                  Body=b"not an archive")  # fmt: skip
    UserFactory()
    before = snapshot()
    questions: list[str] = []
    monkeypatch.setattr(builtins, "input", lambda prompt: questions.append(prompt) or "no")
    call_command("restore_db", "--latest")
    assert "Type 'yes' to continue" in questions[0]
    assert "Restore cancelled." in capsys.readouterr().out
    assert snapshot() == before


@pytest.mark.django_db
def test_restore_without_a_terminal_asks_for_no_input(s3, monkeypatch):
    s3.client.put_object(Bucket=s3.name, Key=f"postgres/{connection.settings_dict['NAME']}/2026-01-01T000000Z.dump",
                         Body=b"not an archive")  # fmt: skip

    def closed_stdin(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr(builtins, "input", closed_stdin)
    with pytest.raises(CommandError, match=r"stdin is closed\): pass --no-input"):
        call_command("restore_db", "--latest")


@pytest.mark.django_db
def test_a_damaged_archive_fails_with_pg_restores_own_words(s3):
    key = f"postgres/{connection.settings_dict['NAME']}/2026-01-01T000000Z.dump"
    s3.client.put_object(Bucket=s3.name, Key=key, Body=b"not an archive")
    UserFactory()
    before = snapshot()
    with pytest.raises(CommandError, match=r"(?s)pg_restore of .* failed with exit code 1:.*valid archive"):
        call_command("restore_db", key, "--no-input")
    assert snapshot() == before


def test_a_database_other_than_postgresql_is_refused_without_a_traceback(clean_env, tmp_path):
    env = clean_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", VAR_DIR=str(tmp_path), BACKUP_BUCKET="some-bucket"
    )
    for command in (["backup_db"], ["restore_db", "--latest", "--no-input"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 1, result.stderr
        assert "CommandError: The 'default' database uses sqlite, not PostgreSQL" in result.stderr
        assert "Traceback" not in result.stderr


def test_the_prefix_is_one_folder_however_it_is_written(s3, settings):
    moment = datetime(2026, 11, 26, 3, 15, 0, tzinfo=UTC)
    for prefix, expected in [("postgres/", "postgres/"), ("/nightly", "nightly/"), ("", "")]:
        settings.BACKUP_PREFIX = prefix
        key = backups.backup_key(store=backups.backup_store(), database="planner", moment=moment)
        assert key == f"{expected}planner/2026-11-26T031500Z.dump"
