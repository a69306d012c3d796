"""PostgreSQL databases named by a URL (postgres://user[:password]@host:port/name), managed through the server's
`postgres` maintenance database on the same server with the same credentials."""

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql


def database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name:
        raise ValueError(f"no database name in {url}")
    return name


def admin_url(url: str) -> str:
    """The same server and credentials, connected to the `postgres` maintenance database."""
    return urlunsplit(urlsplit(url)._replace(path="/postgres", query=""))


def ensure_database(url: str) -> bool:
    """Creates the database when missing; True when it was created."""
    name = database_name(url)
    with psycopg.connect(admin_url(url), autocommit=True, connect_timeout=5) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def drop_database(url: str) -> None:
    """Drops the database if it exists, closing its connections first."""
    with psycopg.connect(admin_url(url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database_name(url))))


def recreate_database(url: str) -> None:
    """An empty database of that name, whatever was there before."""
    drop_database(url)
    ensure_database(url)


def database_url(settings: Mapping[str, Any], *, name: str | None = None, password: str | None = None) -> str:
    """A URL for a Django DATABASES entry (such as `connection.settings_dict`), for a process started with
    DATABASE_URL; `name` names another database on the same server, `password` puts one in the URL."""
    user = quote(str(settings.get("USER") or "postgres"), safe="")
    if password is not None:
        user += ":" + quote(password, safe="")
    host, port = settings.get("HOST") or "127.0.0.1", settings.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{name or settings['NAME']}"
