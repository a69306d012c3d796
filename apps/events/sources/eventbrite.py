"""Eventbrite API v3: the events of configured organisations and venues.

Eventbrite's public search is gone, so an Eventbrite source names what to follow in its options:
`organization_id` and/or `venue_id`, each one id or several separated by commas. Each is listed through
`GET /v3/organizations/{id}/events/` or `GET /v3/venues/{id}/events/` with a bearer token, expanded with the
venue and the ticket price range, oldest start first, paged with `continuation` (or `page`).

The checkpoint after each page names the window, the ids being followed, which of them is being read and
where in its listing the next page starts, so a run that stops half-way resumes exactly there.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal, cast

import httpx
import structlog

from apps.core.http import CredentialsRejectedError, ProviderError, RetryableError, check_response
from apps.events.sources.base import Connector, NormalizedEvent, NormalizedVenue, Page, SourceConfigError
from apps.events.sources.coerce import (
    MAX_ADDRESS,
    MAX_TITLE,
    MAX_VENUE_NAME,
    BadItem,
    aware,
    format_utc,
    instant,
    mapping,
    number,
    text,
    url,
)

logger = structlog.get_logger(__name__)

PROVIDER: Final = "eventbrite"
EXPAND: Final = "venue,ticket_availability"
# Every status, so that a cancellation reaches the catalogue; drafts are dropped on our side.
STATUS_FILTER: Final = "all"

Kind = Literal["organization", "venue"]
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # Eventbrite ids are numeric strings; nothing that could bend the path
PATHS: Final[dict[str, str]] = {
    "organization": "/v3/organizations/{id}/events/",
    "venue": "/v3/venues/{id}/events/",
}

STATUS_MAP: Final[dict[str, str]] = {
    "live": "scheduled",
    "started": "scheduled",
    "ended": "scheduled",
    "completed": "scheduled",
    "canceled": "cancelled",
}

# Eventbrite category ids (GET /v3/categories/) to our taxonomy; the ones with no fair match stay blank.
CATEGORY_MAP: Final[dict[str, str]] = {
    "101": "learning",  # Business & Professional
    "102": "learning",  # Science & Technology
    "103": "music",  # Music
    "104": "film",  # Film, Media & Entertainment
    "105": "arts-theatre",  # Performing & Visual Arts
    "108": "sports",  # Sports & Fitness
    "109": "outdoors",  # Travel & Outdoor
    "110": "food-drink",  # Food & Drink
    "111": "community",  # Charity & Causes
    "112": "community",  # Government & Politics
    "113": "community",  # Community & Culture
    "114": "community",  # Religion & Spirituality
    "115": "family",  # Family & Education
    "116": "festivals",  # Seasonal & Holiday
    "120": "learning",  # School Activities
}
# Eventbrite format ids (GET /v3/formats/), used when the category says nothing.
FORMAT_MAP: Final[dict[str, str]] = {
    "5": "festivals",  # Festival or Fair
    "6": "music",  # Concert or Performance
    "7": "film",  # Screening
    "9": "learning",  # Class, Training, or Workshop
    "11": "nightlife",  # Party or Social Gathering
}


class EventbriteError(ProviderError):
    """Eventbrite answered something we cannot use (an error status or a body of the wrong shape)."""


@dataclass(frozen=True)
class _Cursor:
    """Where a run stands: the window, the ids followed, the one being read and its next page."""

    window_start: datetime
    window_end: datetime
    targets: tuple[tuple[Kind, str], ...]
    index: int = 0
    continuation: str | None = None
    page: int | None = None

    def to_checkpoint(self) -> dict[str, Any] | None:
        if self.index >= len(self.targets):
            return None
        return {
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "targets": [[kind, target_id] for kind, target_id in self.targets],
            "index": self.index,
            "continuation": self.continuation,
            "page": self.page,
        }

    @classmethod
    def from_checkpoint(cls, checkpoint: dict[str, Any]) -> "_Cursor":
        targets: list[tuple[Kind, str]] = []
        for kind, target_id in checkpoint["targets"]:
            if kind not in PATHS or not isinstance(target_id, str) or not _ID.match(target_id):
                raise ValueError(f"unknown target {kind!r} {target_id!r}")
            targets.append((cast(Kind, kind), target_id))
        index, page, continuation = checkpoint["index"], checkpoint.get("page"), checkpoint.get("continuation")
        if not isinstance(index, int) or not 0 <= index < len(targets):
            raise ValueError(f"index {index!r} out of range")
        if page is not None and not isinstance(page, int):
            raise ValueError(f"page {page!r} is not a number")
        if continuation is not None and not isinstance(continuation, str):
            raise ValueError(f"continuation {continuation!r} is not a string")
        return cls(
            window_start=aware(datetime.fromisoformat(checkpoint["window_start"])),
            window_end=aware(datetime.fromisoformat(checkpoint["window_end"])),
            targets=tuple(targets),
            index=index,
            continuation=continuation,
            page=page,
        )


class EventbriteConnector(Connector):
    """Pages through the events of a source's Eventbrite organisations and venues."""

    provider = PROVIDER
    label = "Eventbrite"
    key_setting = "EVENTBRITE_API_KEY"
    url_setting = "EVENTBRITE_API_URL"
    default_url = "https://www.eventbriteapi.com"
    bearer_token = True
    # Eventbrite allows 2,000 calls an hour per token: stay evenly under it (1,800 an hour).
    requests_per_second = 0.5

    def pages(
        self, *, window_start: datetime, window_end: datetime, checkpoint: dict[str, Any] | None
    ) -> Iterator[Page]:
        cursor = self.resume(_Cursor.from_checkpoint, checkpoint) if checkpoint else None
        if cursor is None:
            cursor = _Cursor(window_start=aware(window_start), window_end=aware(window_end), targets=self._targets())
        with self.client() as client:
            while cursor.index < len(cursor.targets):
                kind, target_id = cursor.targets[cursor.index]
                body = self.call(self._fetch, client, cursor, name=f"{PROVIDER}:{kind}:{target_id}")
                raw_events, pagination = _listing(body)
                page, beyond_window = _page_of(raw_events, cursor)
                cursor = _advance(cursor, pagination, stop=beyond_window)
                page.checkpoint = cursor.to_checkpoint()
                yield page

    def _targets(self) -> tuple[tuple[Kind, str], ...]:
        options = self.source.options or {}
        targets: list[tuple[Kind, str]] = [("organization", i) for i in _ids(options.get("organization_id"))]
        targets += [("venue", i) for i in _ids(options.get("venue_id"))]
        malformed = [target_id for _kind, target_id in targets if not _ID.match(target_id)]
        if malformed:
            raise SourceConfigError(f"Eventbrite ids are numbers; these are not: {', '.join(map(repr, malformed))}.")
        if not targets:
            raise SourceConfigError(
                "An Eventbrite source follows organisations or venues: set the organization_id or venue_id option."
            )
        return tuple(dict.fromkeys(targets))  # the same id twice is read once

    def _fetch(self, client: httpx.Client, cursor: _Cursor) -> dict[str, Any]:
        kind, target_id = cursor.targets[cursor.index]
        params: dict[str, str | int] = {"expand": EXPAND, "status": STATUS_FILTER, "order_by": "start_asc"}
        if kind == "organization":
            # This listing has no date filter: the window is applied to each event below.
            params.update(time_filter="current_future", page_size=self.page_size)
        else:
            params.update(
                {
                    "only_public": "true",
                    "start_date.range_start": format_utc(cursor.window_start),
                    "start_date.range_end": format_utc(cursor.window_end),
                }
            )
        if cursor.continuation:
            params["continuation"] = cursor.continuation
        elif cursor.page:
            params["page"] = cursor.page
        self.limiter.acquire(PROVIDER)
        response = client.get(PATHS[kind].format(id=target_id), params=params)
        if response.status_code in (401, 403):  # INVALID_AUTH, NOT_AUTHORIZED: retrying cannot help
            raise CredentialsRejectedError(
                f"Eventbrite refused the key ({response.status_code}): {_error_text(response)}",
                status_code=response.status_code,
            )
        check_response(response, clock=self.clock)  # 429 and 5xx: retried, honouring Retry-After
        if response.status_code == 404:
            raise SourceConfigError(f"Eventbrite has no {kind} {target_id}: {_error_text(response)}")
        if response.status_code >= 400:
            raise EventbriteError(f"Eventbrite answered {response.status_code}: {_error_text(response)}")
        try:
            body = response.json()
        except ValueError as exc:  # a truncated or garbled body: another try may get a whole one
            raise RetryableError(f"Eventbrite sent a body that is not JSON ({len(response.content)} bytes)") from exc
        if not isinstance(body, dict):
            raise EventbriteError("Eventbrite sent JSON that is not an object")
        return body


# --- Paging -------------------------------------------------------------------------------------------------


def _listing(body: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    events, pagination = body.get("events"), body.get("pagination")
    if not isinstance(events, list) or not isinstance(pagination, dict):
        raise EventbriteError(f"Eventbrite sent a listing without events or pagination (keys: {sorted(body)[:10]})")
    return events, pagination


def _page_of(raw_events: list[Any], cursor: _Cursor) -> tuple[Page, bool]:
    """The usable events of one listing page, and whether the listing has passed the end of the window."""
    page = Page()
    beyond_window = False
    for raw in raw_events:
        if not isinstance(raw, dict):
            page.refuse(None, "event is not an object")
            continue
        provider_id = text(raw.get("id")) or None
        status = text(raw.get("status"))
        if status == "draft" or raw.get("listed") is False or raw.get("online_event") is True:
            continue  # not a public, in-person event: not for the catalogue
        try:
            item = _normalize(raw)
        except BadItem as exc:
            page.refuse(provider_id, str(exc))
            continue
        if item.start_utc >= cursor.window_end:
            beyond_window = True  # listed oldest first: everything after this is later still
            continue
        if item.start_utc >= cursor.window_start:
            page.add(item, provider_id)
    return page, beyond_window


def _advance(cursor: _Cursor, pagination: dict[str, Any], *, stop: bool) -> _Cursor:
    if not stop and pagination.get("has_more_items") is True:
        continuation = pagination.get("continuation")
        if isinstance(continuation, str) and continuation:
            return replace(cursor, continuation=continuation, page=None)
        page_number = pagination.get("page_number")
        if isinstance(page_number, int) and page_number >= 1:
            return replace(cursor, continuation=None, page=page_number + 1)
        logger.warning("eventbrite_more_items_without_cursor", target=cursor.targets[cursor.index])
    return replace(cursor, index=cursor.index + 1, continuation=None, page=None)


# --- One event ----------------------------------------------------------------------------------------------


def _normalize(raw: dict[str, Any]) -> NormalizedEvent:
    start, end = mapping(raw.get("start")), mapping(raw.get("end"))
    start_utc = instant(start.get("utc"))
    if start_utc is None:
        raise BadItem("missing start")
    timezone = text(start.get("timezone")) or "UTC"
    end_utc = instant(end.get("utc"))
    price_min, price_max, currency = _prices(mapping(raw.get("ticket_availability")))
    category = CATEGORY_MAP.get(text(raw.get("category_id"))) or FORMAT_MAP.get(text(raw.get("format_id")), "")
    return NormalizedEvent(
        provider_id=text(raw.get("id")),
        title=text(mapping(raw.get("name")).get("text"))[:MAX_TITLE],
        start_utc=start_utc,
        end_utc=end_utc,
        timezone=timezone,
        description=text(mapping(raw.get("description")).get("text")) or text(raw.get("summary")),
        category=category,
        price_min=price_min,
        price_max=price_max,
        currency=currency,
        is_free=raw.get("is_free") is True,
        url=url(raw.get("url")),
        image_url=url(mapping(raw.get("logo")).get("url")),
        status=STATUS_MAP.get(text(raw.get("status")), "scheduled"),
        venue=_venue(mapping(raw.get("venue")), timezone),
    )


def _venue(raw: dict[str, Any], timezone: str) -> NormalizedVenue | None:
    venue_id, name = text(raw.get("id")), text(raw.get("name"))
    if not venue_id:
        return None
    address = mapping(raw.get("address"))
    lat = number(address.get("latitude"), raw.get("latitude"))
    lon = number(address.get("longitude"), raw.get("longitude"))
    if lat == 0 and lon == 0:  # "no location" in Eventbrite's own data, not a venue off the coast of Africa
        lat = lon = None
    shown = text(address.get("localized_address_display")) or ", ".join(
        part for part in (text(address.get("address_1")), text(address.get("city"))) if part
    )
    return NormalizedVenue(
        key=f"{PROVIDER}:{venue_id}",
        name=(name or shown or f"Eventbrite venue {venue_id}")[:MAX_VENUE_NAME],
        address=shown[:MAX_ADDRESS],
        lat=lat,
        lon=lon,
        timezone=timezone,
    )


def _prices(availability: dict[str, Any]) -> tuple[Decimal | None, Decimal | None, str]:
    low, low_currency = _money(availability.get("minimum_ticket_price"))
    high, high_currency = _money(availability.get("maximum_ticket_price"))
    if low is None and high is None:
        return None, None, ""
    if low is not None and high is not None and high < low:
        low, high = high, low
    return low, high, (low_currency or high_currency)


def _money(raw: Any) -> tuple[Decimal | None, str]:
    """An Eventbrite currency cost: `major_value` is the amount as a decimal string ("25.00")."""
    if not isinstance(raw, dict):
        return None, ""
    try:
        amount = Decimal(str(raw["major_value"]))
    except (KeyError, InvalidOperation):
        value = raw.get("value")  # minor units
        if not isinstance(value, int):
            return None, ""
        amount = Decimal(value) / 100
    if not amount.is_finite():
        return None, ""
    currency = text(raw.get("currency")).upper()
    return amount.quantize(Decimal("0.01")), currency if len(currency) == 3 else ""


# --- Small helpers ------------------------------------------------------------------------------------------


def _ids(value: Any) -> list[str]:
    if value is None:
        return []
    parts = value if isinstance(value, list | tuple) else str(value).split(",")
    return [str(part).strip() for part in parts if str(part).strip()]


def _error_text(response: httpx.Response) -> str:
    """Eventbrite errors are `{"status_code", "error", "error_description"}`."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict) and (body.get("error") or body.get("error_description")):
        return f"{body.get('error', '')}: {body.get('error_description', '')}".strip(": ")
    return response.text[:200]
