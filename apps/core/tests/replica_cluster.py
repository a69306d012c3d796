"""A throwaway PostgreSQL primary and its streaming replica, for the replica routing tests, or a server alone, for
the outage tests.

Both run from the server binaries under /usr/lib/postgresql/<version>/bin as the `postgres` OS user (initdb and
the server refuse root), on free loopback ports, with their data and sockets in one temporary folder that is
removed afterwards. The shared PostgreSQL on 5432 is never touched: every command names its own port and socket
folder.
"""

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from scripts.support.network import LOOPBACK, free_port

DATABASE = "planner"
SERVER_SETTINGS = """
listen_addresses = '{host}'
port = {port}
unix_socket_directories = '{sockets}'
wal_level = replica
max_wal_senders = 4
hot_standby = on
max_connections = 40
shared_buffers = 32MB
# A throwaway cluster: durability would only cost time.
fsync = off
full_page_writes = off
synchronous_commit = off
"""


def server_binaries() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda path: int(path.parent.parent.name))
    if not versions:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
    return versions[-1].parent


def _as_postgres(argv: list[str], *, timeout: float = 120) -> None:
    # As root, through runuser; as any other user, as that user (who then owns the folders).
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    result = subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


@dataclass
class Server:
    bin_dir: Path
    data: Path
    port: int
    log: Path

    def url(self, database: str = DATABASE) -> str:
        return f"postgres://postgres@{LOOPBACK}:{self.port}/{database}"

    def connect(self, database: str = DATABASE) -> psycopg.Connection:
        return psycopg.connect(self.url(database), autocommit=True, connect_timeout=5)

    def start(self) -> None:
        pg_ctl = str(self.bin_dir / "pg_ctl")
        _as_postgres([pg_ctl, "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start"])

    def stop(self) -> None:
        _as_postgres([str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop"])

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def log_tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-chars:]
        return ""


@dataclass
class Cluster:
    primary: Server
    replica: Server

    def pause_replay(self) -> None:
        with self.replica.connect() as conn:
            conn.execute("SELECT pg_wal_replay_pause()")
            wait_until(lambda: _one(conn, "SELECT pg_get_wal_replay_pause_state()") == "paused", "replay paused")

    def resume_replay(self) -> None:
        with self.replica.connect() as conn:
            conn.execute("SELECT pg_wal_replay_resume()")

    def caught_up(self) -> bool:
        with self.primary.connect() as primary, self.replica.connect() as replica:
            written = _one(primary, "SELECT pg_current_wal_lsn()::text")
            return bool(_one(replica, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (written,)))


def _one(conn: psycopg.Connection, query: str, params: tuple[object, ...] = ()) -> object:
    row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    return None if row is None else row[0]


def wait_until(condition: object, what: str, timeout: float = 60) -> None:
    """Polls `condition()` until it is true; fails naming `what` after `timeout` seconds."""
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.1)


def _give_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(path, account.pw_uid, account.pw_gid)


def _start_primary(primary: Server, folder: Path) -> None:
    """initdb, the settings above, started, with the database `planner`."""
    bin_dir = primary.bin_dir
    _as_postgres([str(bin_dir / "initdb"), "-D", str(primary.data), "-U", "postgres", "--auth=trust", "--no-sync"])
    settings = SERVER_SETTINGS.format(host=LOOPBACK, port=primary.port, sockets=folder)
    with (primary.data / "postgresql.conf").open("a") as conf:
        conf.write(settings)
    with (primary.data / "pg_hba.conf").open("a") as hba:
        hba.write(f"host replication postgres {LOOPBACK}/32 trust\n")
    primary.start()
    with primary.connect("postgres") as conn:
        conn.execute(f"CREATE DATABASE {DATABASE}")


def _stop_and_remove(servers: list[Server], folder: Path) -> None:
    for server in servers:
        if server.running():
            with contextlib.suppress(RuntimeError):
                server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def single_server() -> Iterator[Server]:
    """A throwaway server alone (with the database `planner`), to stop and start under a running application."""
    folder = Path(tempfile.mkdtemp(prefix="wp-postgres-"))
    _give_to_postgres(folder)
    server = Server(server_binaries(), folder / "data", free_port(), folder / "server.log")
    try:
        _start_primary(server, folder)
        yield server
    finally:
        _stop_and_remove([server], folder)


@contextlib.contextmanager
def primary_and_replica() -> Iterator[Cluster]:
    """Starts a primary (with the database `planner`) and a replica streaming from it; stops and removes both."""
    bin_dir = server_binaries()
    folder = Path(tempfile.mkdtemp(prefix="wp-replica-"))
    _give_to_postgres(folder)
    primary = Server(bin_dir, folder / "primary", free_port(), folder / "primary.log")
    replica = Server(bin_dir, folder / "replica", free_port(), folder / "replica.log")
    try:
        _start_primary(primary, folder)
        _as_postgres(
            [
                str(bin_dir / "pg_basebackup"), "-h", LOOPBACK, "-p", str(primary.port), "-U", "postgres",
                "-D", str(replica.data), "-R", "-X", "stream", "-c", "fast", "--no-sync",
            ]
        )  # fmt: skip
        # -R wrote primary_conninfo and standby.signal; the replica's own port goes last, so it wins.
        with (replica.data / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"port = {replica.port}\n")
        replica.start()
        wait_until(lambda: _accepts(replica), "the replica accepts connections")
        yield Cluster(primary, replica)
    finally:
        _stop_and_remove([replica, primary], folder)


def _accepts(server: Server) -> bool:
    try:
        with server.connect():
            return True
    except psycopg.OperationalError:
        return False
