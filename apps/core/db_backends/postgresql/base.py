"""PostgreSQL as django-prometheus instruments it, with a health check that trusts a connection it just used, and
server-side prepared statements for the few queries every request repeats.

Django's CONN_HEALTH_CHECKS pings a persistent connection (`SELECT 1`) before its first query in every request:
under load, a round trip and a tenth of a millisecond of CPU per request for a connection that answered
milliseconds ago. Like PgBouncer's `server_check_delay`, a connection whose last request ran its queries without a
connection error is trusted for DATABASE_CHECK_DELAY_SECONDS more; after that, or after any error, it is pinged as
before. A database that goes away inside that window fails the next request once; Django then closes the connection
at the request's end and the request after reconnects.

Django binds parameters on the client and never prepares (its cursors are psycopg ClientCursors), so PostgreSQL
parses and plans every statement again: 0.1-0.3 ms of its CPU for the identity, calendar and occurrence-batch
queries, more than running them takes (docs/benchmarks.md, "fourth pass"). `prepared_cursor()` binds on the server,
and psycopg prepares each statement the first time a connection runs it (prepare_threshold 0; its LRU keeps at most
100 per connection). Only code that asks for that cursor (apps.core.queries.prepared_cursor: SQL compiled once and
run again and again) is prepared; every other query is bound on the client as before. Behind a pooler in
transaction mode that cannot carry prepared statements, DATABASE_PREPARED_STATEMENTS=false (OPTIONS'
prepare_threshold None) prepares nothing.
"""

import time
from typing import Any

from django.conf import settings
from django.db.backends.postgresql.base import TIMESTAMPTZ_OID, ServerBindingCursor
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.db.backends.utils import CursorWrapper
from django_prometheus.db.backends.postgresql import base
from django_prometheus.db.common import ExportingCursorWrapper
from psycopg.pq import Format
from psycopg.types.datetime import TimestamptzLoader
from psycopg.types.numeric import Int8Dumper

from apps.core.db_backends.postgresql.operations import DatabaseOperations


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.proven_at = float("-inf")  # time.monotonic() when a request last used the connection cleanly
        self._server_binding_cursor = ExportingCursorWrapper(ServerBindingCursor, self.alias, self.vendor)

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        if "prepare_threshold" not in self.settings_dict["OPTIONS"]:
            params["prepare_threshold"] = 0  # affects only prepared_cursor(): client-bound cursors never prepare
        return params

    def prepared_cursor(self) -> CursorWrapper:
        """A cursor that binds on the server, so psycopg prepares what it runs: for SQL run again and again. As
        `cursor()` does: health check, connection, Django's wrapper (query logging, error translation)."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            raw = self._server_binding_cursor(self.connection)
            # Python ints go as bigint, what Django's ids are. psycopg would pick the smallest type that holds the
            # value, and a smallint parameter keeps a bigint column out of a btree_gist index (it has no cross-type
            # operators): the occurrence batch then read every plan of the window, of every calendar.
            raw.adapters.register_dumper(int, Int8Dumper)
            if self.timezone_name == "UTC":
                # psycopg's compiled timestamptz reader gives what Django's Python one does (the session's zone,
                # which Django sets to its own) at a fraction of the CPU: a few µs for every timestamp read.
                raw.adapters.register_loader("timestamptz", TimestamptzLoader)
            else:  # as Django's create_cursor()
                loader = self.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
                if self.timezone != loader.timezone:
                    register_tzloader(self.timezone, raw)
        wrapped: CursorWrapper = self._prepare_cursor(raw)
        return wrapped

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and not self.health_check_done  # type: ignore[has-type]  # Django's attribute, untyped there
            and time.monotonic() - self.proven_at < settings.DATABASE_CHECK_DELAY_SECONDS
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def close_if_unusable_or_obsolete(self) -> None:
        # Called as a request (or a Celery task) starts and ends. health_check_done is reset at each call, so it
        # is true here only if this request took a cursor: checked, trusted, or recovered from an error.
        used_cleanly = self.connection is not None and self.health_check_done and not self.errors_occurred
        super().close_if_unusable_or_obsolete()
        if used_cleanly and self.connection is not None:
            self.proven_at = time.monotonic()
