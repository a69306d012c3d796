"""Query pieces every app can use."""

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from psycopg import sql as psycopg_sql

# Constant SQL: the ids travel as one array parameter.
_UNNEST_IDS = "SELECT unnest(%s::bigint[])"


def id_in(field: str, ids: Sequence[int]) -> Q:
    """`field IN ids`, for thousands of ids.

    Django writes a long IN list as one placeholder per id, which psycopg quotes one by one on the client: about
    0.9 s of CPU per 100,000 ids, 15% of a first catalogue sync (docs/benchmarks.md). On PostgreSQL the ids go as
    one array parameter instead (9 ms for 10,000); SQLite (`make run`) keeps the plain IN."""
    if connection.vendor != "postgresql":
        return Q(**{f"{field}__in": list(ids)})
    return Q(**{f"{field}__in": RawSQL(_UNNEST_IDS, (list(ids),))})  # noqa: S611  # nosec B611


_PLACEHOLDER = re.compile("%%|%s")  # Django's parameter marker, and its escaped percent sign


def compiled(
    queryset: QuerySet[Any, Any], stand_ins: Mapping[Any, str], constants: Collection[str] = ()
) -> tuple[str, tuple[str, ...]]:
    """The queryset's SQL and the name of each of its parameters, for a query run again and again with other values.

    Building and compiling a query through the ORM can cost more CPU than the database spends answering it. Build
    it once with stand-in values (distinct, and unlike any real one), keep what this returns (functools.cache), and
    run it with `rows`. Only for querysets whose columns need no converting on the database it runs on (no JSON,
    no encrypted fields read back); a test should hold the two paths equal.

    `constants` names the parameters that are the query's own constants, not values of the question (the status a
    partial index leaves out, say): they are written into the SQL as literals. A prepared statement is planned once
    for every value (PostgreSQL's generic plan), and a partial index serves it only when the SQL's text proves the
    index's condition; a parameter proves nothing."""
    sql, params = queryset.query.sql_with_params()
    names = [stand_ins[param] for param in params]  # a parameter without a stand-in fails loudly
    if not constants:
        return sql, tuple(names)
    given = iter(zip(names, params, strict=True))
    kept: list[str] = []

    def marker(found: re.Match[str]) -> str:
        if found.group() == "%%":
            return "%%"
        name, value = next(given)
        if name in constants:
            return psycopg_sql.Literal(value).as_string().replace("%", "%%")
        kept.append(name)
        return "%s"

    return _PLACEHOLDER.sub(marker, sql), tuple(kept)


def prepared_cursor(database: BaseDatabaseWrapper) -> CursorWrapper:
    """A cursor for SQL that runs again and again (compiled once): on PostgreSQL the statement is prepared once per
    connection (apps.core.db_backends.postgresql), elsewhere a plain cursor. Parameters are then bound on the
    server, so each must have a type PostgreSQL can tell (a NULL compared with a column is fine; a bare `%s IS
    NULL` is not): the tests run every compiled query on PostgreSQL."""
    prepared = getattr(database, "prepared_cursor", None)
    cursor: CursorWrapper = prepared() if prepared is not None else database.cursor()
    return cursor


def rows(query: tuple[str, tuple[str, ...]], values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of a `compiled` query, run with these values for its named parameters (a prepared statement on
    PostgreSQL)."""
    sql, names = query
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, [values[name] for name in names])
        found: list[tuple[Any, ...]] = cursor.fetchall()
    return found


_EXPLAIN_OPTIONS = frozenset({"ANALYZE", "BUFFERS", "VERBOSE", "SETTINGS", "FORMAT JSON"})


def generic_plan(
    database: BaseDatabaseWrapper,
    sql: str,
    params: Sequence[Any],
    *,
    options: Sequence[str] = (),
    settings: Mapping[str, str] | None = None,
) -> list[Any]:
    """EXPLAIN of the plan PostgreSQL makes once for every value of SQL that `prepared_cursor` runs (its generic
    plan), shown for these values: the plan a statement run again and again on a connection may settle on, where
    EXPLAIN of the SQL with its values written in shows only the plan for those values. The statement is run once
    first, so that it is prepared. `settings` are set for the EXPLAIN only (`enable_seqscan`, say). PostgreSQL only.

    The rows of EXPLAIN's one column: lines of text, or one JSON document with `FORMAT JSON`."""
    if unknown := set(options) - _EXPLAIN_OPTIONS:
        raise ValueError(f"EXPLAIN options not allowed here: {sorted(unknown)}")
    with prepared_cursor(database) as cursor:
        cursor.execute(sql, params)
        cursor.fetchall()
    numbers = iter(range(1, len(params) + 1))
    # The statement as psycopg prepared it: each %s numbered, Django's escaped %% read back as %.
    text = _PLACEHOLDER.sub(lambda found: "%" if found.group() == "%%" else f"${next(numbers)}", sql)
    values = {"plan_cache_mode": "force_generic_plan", **(settings or {})}
    with transaction.atomic(using=database.alias), database.cursor() as cursor:
        # The same text may have been prepared more than once on this connection, with other parameter types (an
        # int where another caller passed a float); each holds the same SQL, so each plan answers the question.
        cursor.execute(
            "SELECT name FROM pg_prepared_statements WHERE statement = %s ORDER BY prepare_time DESC LIMIT 1", [text]
        )
        found = cursor.fetchone()
        if found is None:  # prepare_threshold None: DATABASE_PREPARED_STATEMENTS=false, for a pooler
            raise RuntimeError("This connection does not prepare statements: it has no generic plan to show")
        (name,) = found
        cursor.execute(f"SELECT {', '.join(['current_setting(%s)'] * len(values))}", list(values))
        before = dict(zip(values, cursor.fetchone(), strict=True))
        for setting, value in values.items():
            cursor.execute("SELECT set_config(%s, %s, true)", [setting, value])  # until the transaction ends
        explain = psycopg_sql.SQL("EXPLAIN ({}) EXECUTE {}({})").format(
            psycopg_sql.SQL(", ").join(map(psycopg_sql.SQL, options or ["COSTS"])),
            psycopg_sql.Identifier(name),
            psycopg_sql.SQL(", ").join(map(psycopg_sql.Literal, params)),
        )
        cursor.execute(explain.as_string(cursor.connection))
        plan = [row[0] for row in cursor.fetchall()]
        for setting, value in before.items():  # as they were, for the rest of the caller's transaction
            cursor.execute("SELECT set_config(%s, %s, true)", [setting, value])
    return plan
