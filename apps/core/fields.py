"""Model fields shared by the apps."""

from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper


class WallClockDateTimeField(models.DateTimeField):  # type: ignore[type-arg]
    """A date-time as read on a wall clock, without a zone: the zone lives in a column beside it.

    "Every Saturday 10:00 Europe/Berlin" must stay 10:00 when the offset changes, so the local time is what
    is stored (PostgreSQL: `timestamp without time zone`) and values are naive in Python, never converted.
    """

    def db_type(self, connection: BaseDatabaseWrapper) -> str | None:
        return "timestamp" if connection.vendor == "postgresql" else super().db_type(connection)

    def get_prep_value(self, value: Any) -> Any:
        value = models.Field.get_prep_value(self, value)
        value = self.to_python(value)
        if value is not None and value.tzinfo is not None:
            raise ValueError(f"{self.name} takes a naive wall-clock time, got {value!r}")
        return value

    def get_db_prep_value(self, value: Any, connection: BaseDatabaseWrapper, prepared: bool = False) -> Any:
        value = value if prepared else self.get_prep_value(value)
        if value is None or connection.vendor == "postgresql":
            return value
        return value.isoformat(sep=" ")

    def from_db_value(self, value: Any, expression: Any, connection: BaseDatabaseWrapper) -> Any:
        # SQLite's converter makes stored values aware in UTC; the wall-clock reading is what was stored.
        return value.replace(tzinfo=None) if value is not None and value.tzinfo is not None else value
