"""One JSON object per line on stdout, for structlog and standard-library loggers alike.

The request id and user id bound by RequestContextMiddleware (structlog contextvars) appear on every
line written while a request is handled. Values under secret-looking keys are never written, and every line,
its message and rendered traceback included, goes through apps.core.redaction last: a provider key inside an
exception's URL, a JWT, a password inside a database URL or a private feed's path never reach stdout.
"""

import logging
from collections.abc import MutableMapping
from typing import Any

import structlog

from apps.core.redaction import REDACTED, is_secret_name, redact


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if is_secret_name(key):
            event_dict[key] = REDACTED
    return event_dict


def redact_values(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The last step before rendering: known secret values and secret shapes out of every value, nested ones too."""
    for key, value in event_dict.items():
        event_dict[key] = redact(value)
    return event_dict


SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    redact_secrets,
]


def json_formatter() -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_values,
            structlog.processors.JSONRenderer(),
        ],
    )


structlog.configure(
    processors=[
        structlog.stdlib.filter_by_level,
        *SHARED_PROCESSORS,
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)
