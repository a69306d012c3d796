"""The rules of one tracked event as a client sends it (POST /api/v1/track), checked one event at a time so that a
bad event is refused alone. Pure functions: nothing here reads or writes the database."""

import json
import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apps.analytics.models import TrackedEventType, TrackedObjectType, is_unit_id

MAX_EVENTS = 500  # per request
MAX_CONTEXT_BYTES = 2048  # the context as compact JSON: enough for a page, a rank, a query and a few experiments
MAX_OBJECT_ID = 64
# A client clock further off than this is not believed: the event is stored at the time it was received.
CLOCK_TOLERANCE = timedelta(days=1)
# What pages and API clients may send; signup, login and plan_created come from the server alone.
CLIENT_TYPES = frozenset(
    {
        TrackedEventType.PAGE_VIEW,
        TrackedEventType.IMPRESSION,
        TrackedEventType.CLICK,
        TrackedEventType.SAVE,
        TrackedEventType.PLAN,
        TrackedEventType.DISMISS,
        TrackedEventType.SEARCH,
        TrackedEventType.SHARE,
        TrackedEventType.WEB_VITAL,
    }
)
WEB_VITALS = frozenset({"LCP", "INP", "CLS", "TTFB"})
FIELDS = frozenset({"id", "type", "at", "object_type", "object_id", "anonymous_id", "context"})


class Refused(Exception):
    """The reason one event is not stored, as the response gives it."""


@dataclass(frozen=True)
class CheckedEvent:
    client_id: uuid.UUID
    type: str
    at: datetime
    client_at: datetime | None  # what the client said when `at` was clamped
    object_type: str = ""
    object_id: str = ""
    anonymous_id: str = ""
    context: dict[str, Any] = field(default_factory=dict)


def _client_id(value: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise Refused("id: required, a UUID.")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Refused("id: not a UUID.") from None


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise Refused("at: required, an ISO 8601 time with its offset.")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Refused("at: not an ISO 8601 time.") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Refused("at: give the offset (for example Z or +02:00).")
    try:
        return moment.astimezone(UTC)  # a time whose UTC falls outside years 1 to 9999 cannot be read back
    except OverflowError:
        raise Refused("at: out of range.") from None


# PostgreSQL stores neither NUL in text nor NUL or lone surrogates in jsonb: refused here, alone, not failing the batch.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _text(name: str, value: Any, *, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise Refused(f"{name}: text of at most {limit} characters.")
    if _UNSTORABLE.search(value):
        raise Refused(f"{name}: no NUL characters or lone surrogates.")
    return value


def _context(event_type: str, value: Any) -> dict[str, Any]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise Refused("context: an object.")
    try:
        text = json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    except ValueError:
        raise Refused("context: plain JSON values only.") from None
    if _UNSTORABLE.search(text):
        raise Refused("context: no NUL characters or lone surrogates.")
    if len(text.encode()) > MAX_CONTEXT_BYTES:
        raise Refused(f"context: at most {MAX_CONTEXT_BYTES} bytes as JSON.")
    experiments = value.get("experiments")
    if experiments is not None and not (
        isinstance(experiments, dict) and all(isinstance(v, str) for v in experiments.values())
    ):
        raise Refused('context.experiments: {"<experiment key>": "<variant>"}.')
    if event_type == TrackedEventType.WEB_VITAL:
        number = value.get("value")
        if value.get("name") not in WEB_VITALS:
            raise Refused(f"context.name: one of {', '.join(sorted(WEB_VITALS))} for a web_vital.")
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
            raise Refused("context.value: a number for a web_vital.")
        if not isinstance(value.get("page"), str):
            raise Refused("context.page: the page's path for a web_vital.")
    return value


def check_event(raw: dict[str, Any], *, now: datetime) -> CheckedEvent:
    """The event as stored, or Refused with the reason; `now` is when the request was received."""
    unknown = sorted(set(raw) - FIELDS)
    if unknown:
        raise Refused(f"Unknown field(s): {', '.join(unknown)}.")
    client_id = _client_id(raw.get("id"))
    event_type = raw.get("type")
    if event_type not in CLIENT_TYPES:
        raise Refused(f"type: one of {', '.join(sorted(CLIENT_TYPES))}.")
    at = _time(raw.get("at"))
    object_type = _text("object_type", raw.get("object_type"), limit=16)
    if object_type and object_type not in TrackedObjectType.values:
        raise Refused(f"object_type: one of {', '.join(TrackedObjectType.values)}.")
    object_id = _text("object_id", raw.get("object_id"), limit=MAX_OBJECT_ID)
    anonymous_id = _text("anonymous_id", raw.get("anonymous_id"), limit=64)
    if anonymous_id and not is_unit_id(anonymous_id):
        raise Refused("anonymous_id: 1 to 64 printable ASCII characters without spaces.")
    context = _context(event_type, raw.get("context"))
    client_at = None
    if abs(at - now) > CLOCK_TOLERANCE:
        at, client_at = now, at
    return CheckedEvent(
        client_id=client_id,
        type=str(event_type),
        at=at,
        client_at=client_at,
        object_type=object_type,
        object_id=object_id,
        anonymous_id=anonymous_id,
        context=context,
    )
