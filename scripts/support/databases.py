"""PostgreSQL databases named by a URL (postgres://user[:password]@host:port/name), managed through the server's
`postgres` maintenance database on the same server with the same credentials."""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import yaml
from psycopg import sql

# The production server's parameters (the RDS parameter group the Ansible rds role writes).
RDS_DEFAULTS = Path(__file__).resolve().parents[2] / "infra" / "ansible" / "roles" / "rds" / "defaults" / "main.yml"
# Those of them that change how queries are planned: a database made here plans as production's does.
PLANNER_PARAMETERS = ("random_page_cost",)
# BENCH_PLANNER_PARAMETERS=postgres leaves PostgreSQL's own defaults instead (a benchmark's "before" figures).
PLANNER_PARAMETERS_ENV = "BENCH_PLANNER_PARAMETERS"


def database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name:
        raise ValueError(f"no database name in {url}")
    return name


def admin_url(url: str) -> str:
    """The same server and credentials, connected to the `postgres` maintenance database."""
    return urlunsplit(urlsplit(url)._replace(path="/postgres", query=""))


def production_planner_parameters() -> dict[str, str]:
    parameters: dict[str, Any] = yaml.safe_load(RDS_DEFAULTS.read_text())["rds_parameters"]
    return {name: str(parameters[name]) for name in PLANNER_PARAMETERS}


def ensure_database(url: str) -> bool:
    """Creates the database when missing, and gives it production's planner parameters for its next sessions (or
    PostgreSQL's defaults, see PLANNER_PARAMETERS_ENV); True when it was created."""
    name = database_name(url)
    with psycopg.connect(admin_url(url), autocommit=True, connect_timeout=5) as conn:
        created = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None
        if created:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        as_postgres = os.environ.get(PLANNER_PARAMETERS_ENV) == "postgres"
        for parameter, value in production_planner_parameters().items():
            database, setting = sql.Identifier(name), sql.Identifier(parameter)
            if as_postgres:
                conn.execute(sql.SQL("ALTER DATABASE {} RESET {}").format(database, setting))
            else:
                conn.execute(sql.SQL("ALTER DATABASE {} SET {} = {}").format(database, setting, sql.Literal(value)))
        return created


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
