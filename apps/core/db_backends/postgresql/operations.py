"""Django's PostgreSQL operations, able to show the SQL of a statement bound on the server (base.prepared_cursor)."""

from typing import Any

from django.db.backends.postgresql import operations
from psycopg import errors
from psycopg.client_cursor import ClientCursor


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str | None:  # type: ignore[override]
        # Django reads a client-bound cursor's final text; a server-bound one sent `$1` and the values apart, so
        # the query log (tests' query counts, DEBUG's connection.queries) gets the values quoted into the SQL.
        if isinstance(cursor, ClientCursor) or params is None:
            text: str | None = super().last_executed_query(cursor, sql, params)
            return text
        try:
            composed: str = self.compose_sql(sql, params)
            return composed
        except errors.DataError:
            return None
