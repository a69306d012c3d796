"""Says which of the suite's services is unreachable and how to start it; never lets the suite skip them."""

import os
import sys
from pathlib import Path
from urllib.parse import urlparse

# Run as a file (`python scripts/check_services.py`), which puts scripts/, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.support.databases import ensure_database
from scripts.support.network import port_answers

HOW_TO_START = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
}


def main() -> int:
    services = {
        "PostgreSQL": (os.environ["DATABASE_URL"], 5432),
        "Redis": (os.environ["REDIS_URL"], 6379),
    }
    down = []
    for name, (url, default_port) in services.items():
        parsed = urlparse(url)
        host, port = parsed.hostname or "127.0.0.1", parsed.port or default_port
        if not port_answers(host, port):
            down.append(name)
            print(f"{name} is not answering at {host}:{port}. Start it with:\n  {HOW_TO_START[name]}", file=sys.stderr)
    if down:
        return 1
    # The test database is made from the suite's database, and `makemigrations --check` reads migration history
    # from it.
    ensure_database(services["PostgreSQL"][0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
