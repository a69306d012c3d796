"""Operations that the apps' hand-written migrations share."""

from typing import Any

from django.db import migrations


def drop_index_concurrently(*, table: str, column: str, name: str) -> migrations.RunPython:
    """DROP INDEX `name`: concurrently on PostgreSQL, so writes carry on (the migration must be `atomic = False`), and
    plainly on SQLite (`make run`'s embedded default). The reverse builds the index on `table` (`column`) again."""

    def concurrently(schema_editor: Any) -> str:
        return " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""

    def forwards(apps: Any, schema_editor: Any) -> None:
        schema_editor.execute(f"DROP INDEX{concurrently(schema_editor)} IF EXISTS {schema_editor.quote_name(name)}")

    def backwards(apps: Any, schema_editor: Any) -> None:
        quote = schema_editor.quote_name
        schema_editor.execute(
            f"CREATE INDEX{concurrently(schema_editor)} IF NOT EXISTS {quote(name)} ON {quote(table)} ({quote(column)})"
        )

    return migrations.RunPython(forwards, backwards, atomic=False)
