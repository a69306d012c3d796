"""Database backups in S3: pg_dump archives (custom format, compressed) stored with KMS encryption, and
pg_restore from them. `manage.py backup_db` and `manage.py restore_db` are thin wrappers over this module.

Every check that can fail (tools, database engine, bucket, object) runs before anything is dumped, uploaded
or restored, so a refused command changes nothing. A restore runs in one transaction: it applies fully or
not at all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

KEY_TIME_FORMAT = "%Y-%m-%dT%H%M%SZ"  # sorts like time, and has no ':' (awkward in shells and some tools)
DUMP_SUFFIX = ".dump"
CLIENT_PACKAGE = "postgresql-client"  # the Debian package with pg_dump and pg_restore
STDERR_TAIL_LINES = 20
# Dumps can be many GB: multipart upload in 64 MB parts stays far below S3's 10,000-part limit.
TRANSFER = TransferConfig(multipart_threshold=64 * 1024 * 1024, multipart_chunksize=64 * 1024 * 1024)


class BackupError(Exception):
    """A backup or restore that cannot go ahead or failed; the message says what to fix."""


@dataclass(frozen=True)
class Database:
    """The connection settings of one configured PostgreSQL database, as libpq wants them."""

    name: str
    host: str
    env: dict[str, str]  # PG* variables; the password travels here, never in argv


@dataclass(frozen=True)
class Store:
    client: S3Client
    bucket: str
    prefix: str


# --- Preconditions ---------------------------------------------------------------------------------------


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not on PATH: install the Debian package {CLIENT_PACKAGE}.")
    return path


def configured_database(alias: str = DEFAULT_DB_ALIAS) -> Database:
    connection = connections[alias]
    if connection.vendor != "postgresql":
        raise BackupError(
            f"The {alias!r} database uses {connection.vendor}, not PostgreSQL: backups need DATABASE_URL=postgres://..."
        )
    config: dict[str, Any] = connection.settings_dict
    options: dict[str, Any] = config.get("OPTIONS") or {}
    # Start from a clean slate: a stray PGDATABASE or PGSERVICE in the caller's environment must not redirect us.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    variables = {
        "PGHOST": config.get("HOST"),
        "PGPORT": config.get("PORT"),
        "PGUSER": config.get("USER"),
        "PGPASSWORD": config.get("PASSWORD"),
        "PGSSLMODE": options.get("sslmode"),
        "PGSSLROOTCERT": options.get("sslrootcert"),
        "PGCONNECT_TIMEOUT": options.get("connect_timeout"),
        "PGAPPNAME": "weekend-planner-backup",
    }
    env.update({key: str(value) for key, value in variables.items() if value not in (None, "")})
    return Database(name=str(config["NAME"]), host=str(config.get("HOST") or "localhost"), env=env)


def backup_store() -> Store:
    bucket = settings.BACKUP_BUCKET
    if not bucket:
        raise BackupError("BACKUP_BUCKET is not set: give the name of the S3 bucket that holds the backups.")
    client = boto3.client(
        "s3",
        region_name=settings.AWS_REGION,
        endpoint_url=settings.AWS_ENDPOINT_URL or None,
        config=Config(retries={"max_attempts": 5, "mode": "standard"}),
    )
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = _error_code(exc)
        if code in {"404", "NoSuchBucket"}:
            raise BackupError(f"The backup bucket {bucket!r} does not exist (BACKUP_BUCKET).") from exc
        if code in {"403", "AccessDenied"}:
            raise BackupError(f"Access to the backup bucket {bucket!r} is denied: check the IAM role.") from exc
        raise BackupError(f"Cannot use the backup bucket {bucket!r}: {exc}") from exc
    except BotoCoreError as exc:
        raise BackupError(f"Cannot reach S3 for the backup bucket {bucket!r}: {exc}") from exc
    prefix = settings.BACKUP_PREFIX.strip("/")
    return Store(client=client, bucket=bucket, prefix=f"{prefix}/" if prefix else "")


# --- Names -----------------------------------------------------------------------------------------------


def backup_key(*, store: Store, database: str, moment: datetime) -> str:
    """postgres/<database>/2026-11-26T031500Z.dump: one folder per database, keys sort by time."""
    return f"{_folder(store, database)}{moment.astimezone(UTC).strftime(KEY_TIME_FORMAT)}{DUMP_SUFFIX}"


def _folder(store: Store, database: str) -> str:
    return f"{store.prefix}{database}/"


def backup_latest_key(*, store: Store, database: str) -> str:
    folder = _folder(store, database)
    keys: list[str] = []
    try:
        for page in store.client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket, Prefix=folder):
            keys.extend(item["Key"] for item in page.get("Contents", []) if item["Key"].endswith(DUMP_SUFFIX))
    except (ClientError, BotoCoreError) as exc:
        raise BackupError(f"Cannot list s3://{store.bucket}/{folder}: {exc}") from exc
    if not keys:
        raise BackupError(f"No backup of the database {database!r} exists under s3://{store.bucket}/{folder}.")
    return max(keys)  # timestamped names sort in time order


def backup_require_key(*, store: Store, key: str) -> str:
    try:
        store.client.head_object(Bucket=store.bucket, Key=key)
    except ClientError as exc:
        if _error_code(exc) in {"404", "NoSuchKey"}:
            raise BackupError(f"No backup named {key!r} exists in the bucket {store.bucket!r}.") from exc
        raise BackupError(f"Cannot read s3://{store.bucket}/{key}: {exc}") from exc
    except BotoCoreError as exc:
        raise BackupError(f"Cannot read s3://{store.bucket}/{key}: {exc}") from exc
    return key


# --- Backup ----------------------------------------------------------------------------------------------


def backup_create(*, alias: str = DEFAULT_DB_ALIAS, now: datetime | None = None) -> str:
    """Dumps the database to a temporary file, uploads it with KMS encryption and returns its key."""
    pg_dump = require_tool("pg_dump")
    database = configured_database(alias)
    store = backup_store()
    key = backup_key(store=store, database=database.name, moment=now or datetime.now(UTC))
    with tempfile.TemporaryDirectory(prefix="backup-") as directory:
        path = Path(directory) / "database.dump"
        _run(
            [
                pg_dump, "--format=custom", "--compress=6", "--lock-wait-timeout=60s",
                f"--file={path}", f"--dbname={database.name}",
            ],
            env=database.env,
            action=f"pg_dump of {database.name!r}",
        )  # fmt: skip
        extra: dict[str, Any] = {
            "ServerSideEncryption": "aws:kms",
            "ContentType": "application/vnd.postgresql.pg-dump",
            "Metadata": {"database": database.name, "format": "pg_dump-custom"},
        }
        if settings.BACKUP_KMS_KEY_ID:
            extra["SSEKMSKeyId"] = settings.BACKUP_KMS_KEY_ID
        try:
            with path.open("rb") as dump:
                store.client.upload_fileobj(dump, store.bucket, key, ExtraArgs=extra, Config=TRANSFER)
        except (ClientError, BotoCoreError) as exc:
            raise BackupError(f"Upload to s3://{store.bucket}/{key} failed: {exc}") from exc
    return key


# --- Restore ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestorePlan:
    """A restore whose preconditions all hold: what would be replaced, and from which object."""

    database: Database
    store: Store
    key: str

    @property
    def source(self) -> str:
        return f"s3://{self.store.bucket}/{self.key}"


def restore_plan(*, key: str | None, alias: str = DEFAULT_DB_ALIAS) -> RestorePlan:
    """Checks everything a restore needs; key=None means the latest backup of the configured database."""
    require_tool("pg_restore")
    database = configured_database(alias)
    store = backup_store()
    if key is None:
        key = backup_latest_key(store=store, database=database.name)
    else:
        backup_require_key(store=store, key=key)
    return RestorePlan(database=database, store=store, key=key)


def restore_run(*, plan: RestorePlan) -> None:
    """Replaces every object in the archive with its backed-up contents, in a single transaction.

    Tables created after the backup (a later migration) are left as they are: --clean drops only what the
    archive holds. A partitioned table in the archive is dropped whole first: pg_restore --clean would drop each
    partition's primary key on its own, which PostgreSQL refuses for a key the partition inherits. pg_restore
    writes the SQL and psql runs it, so that drop shares the restore's one transaction.
    """
    pg_restore = require_tool("pg_restore")
    psql = require_tool("psql")
    action = f"pg_restore of {plan.source} into {plan.database.name!r}"
    with tempfile.TemporaryDirectory(prefix="restore-") as directory:
        path = Path(directory) / "database.dump"
        script = Path(directory) / "restore.sql"
        try:
            with path.open("wb") as dump:
                plan.store.client.download_fileobj(plan.store.bucket, plan.key, dump, Config=TRANSFER)
        except (ClientError, BotoCoreError) as exc:
            raise BackupError(f"Download of {plan.source} failed: {exc}") from exc
        _run([pg_restore, "--clean", "--if-exists", "--no-owner", f"--file={script}", str(path)],
             env=plan.database.env, action=action)  # fmt: skip
        drops = "".join(
            f'DROP TABLE IF EXISTS public."{table}" CASCADE;\n' for table in _partitioned_tables(plan, psql, path)
        )
        script.write_text(drops + script.read_text(encoding="utf-8"), encoding="utf-8")
        _run(
            [
                psql, "--no-psqlrc", "--quiet", "--single-transaction", "--set=ON_ERROR_STOP=1",
                f"--dbname={plan.database.name}", f"--file={script}",
            ],
            env=plan.database.env,
            action=action,
        )  # fmt: skip


def _partitioned_tables(plan: RestorePlan, psql: str, archive: Path) -> list[str]:
    """The partitioned tables of the target database that the archive holds too."""
    listing = subprocess.run(  # noqa: S603
        [require_tool("pg_restore"), "--list", str(archive)], capture_output=True, text=True, check=True
    ).stdout
    query = (
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind = 'p' AND n.nspname = 'public' ORDER BY 1"
    )
    result = subprocess.run(  # noqa: S603
        [psql, "--no-psqlrc", "--tuples-only", "--no-align", f"--dbname={plan.database.name}", f"--command={query}"],
        env=plan.database.env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise BackupError(f"Reading the partitioned tables of {plan.database.name!r} failed: {result.stderr.strip()}")
    return [table for table in result.stdout.split() if f" TABLE public {table} " in listing]


# --- Helpers ---------------------------------------------------------------------------------------------


def _run(command: list[str], *, env: dict[str, str], action: str) -> None:
    # A fixed argv and no shell; stdin closed so a password prompt can never hang the command.
    result = subprocess.run(  # noqa: S603
        command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-STDERR_TAIL_LINES:]) or "(no output)"
        if "server version mismatch" in result.stderr:
            tail += f"\nInstall a {CLIENT_PACKAGE} at least as new as the server (e.g. postgresql-client-16)."
        raise BackupError(f"{action} failed with exit code {result.returncode}:\n{tail}")


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
