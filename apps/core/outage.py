"""What a request gets when the database cannot be reached: a 503 with Retry-After, not a 500.

A stopped or unreachable PostgreSQL surfaces as django.db's OperationalError or InterfaceError (psycopg's
connection errors, a server shutting down, a statement cancelled). The API answers them in its error shape
(apps.core.api.errors) and pages with a short page of their own (apps.core.views.server_error), both with
Retry-After; /health stays 200 and /ready says 503 naming the database (apps.core.health). Once the database is
back, the next request reconnects: Django closes a connection that failed (errors_occurred) at the end of the
request. The warning is logged at most once a minute per process, not once per request.
"""

import structlog
from django.db import InterfaceError, OperationalError

from apps.core.quiet_warnings import warn_once_a_minute

logger = structlog.get_logger(__name__)

RETRY_AFTER_SECONDS = 5
MESSAGE = "The service is briefly unavailable. Try again in a few seconds."


def database_unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, (OperationalError, InterfaceError))


def note_outage(exc: BaseException) -> None:
    """Logs the outage, once a minute per process."""
    warn_once_a_minute(logger, "database_unavailable", error=type(exc).__name__, detail=str(exc)[:300])
