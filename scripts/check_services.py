"""Says which of the suite's services is unreachable and how to start it; never lets the suite skip them."""

import os
import socket
import sys
from urllib.parse import urlparse

import psycopg

HOW_TO_START = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
}


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=3):
            return True
    except OSError:
        return False


def main() -> int:
    services = {
        "PostgreSQL": (os.environ["DATABASE_URL"], 5432),
        "Redis": (os.environ["REDIS_URL"], 6379),
    }
    down = [name for name, (url, port) in services.items() if not reachable(url, port)]
    for name in down:
        url = urlparse(services[name][0])
        print(
            f"{name} is not answering at {url.hostname}:{url.port}. Start it with:\n  {HOW_TO_START[name]}",
            file=sys.stderr,
        )
    if down:
        return 1
    ensure_database(services["PostgreSQL"][0])
    return 0


def ensure_database(url: str) -> None:
    """Creates the suite's database when missing: the test database is made from it, and
    `makemigrations --check` reads migration history from it."""
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    sys.exit(main())
