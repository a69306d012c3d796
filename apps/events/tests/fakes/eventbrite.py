"""A fake Eventbrite API v3 at the network boundary (an `httpx.MockTransport`).

It answers `GET /v3/organizations/{id}/events/` and `GET /v3/venues/{id}/events/` the way Eventbrite documents
them: bearer-token auth (401 `INVALID_AUTH` otherwise), `status`, `order_by`, `time_filter`,
`start_date.range_start`/`range_end`, `page_size`, `continuation`/`page` and `expand`, and a body of
`{"pagination": {...}, "events": [...]}` whose events carry every documented field of the Event object (the
`venue` and `ticket_availability` expansions only when asked for). Failures are scripted per request with
`fail_next(...)`: Eventbrite's 429 `HIT_RATE_LIMIT` with `Retry-After`, a 500, a truncated body (and the
shared timeout).

    fake = FakeEventbrite(clock=FakeClock(NOW))
    fake.add_organization("1001", [event("5001", name="Jazz night", start=...)])
    connector = build_connector(source, fake)   # settings: EVENTBRITE_API_URL=BASE_URL, EVENTBRITE_API_KEY=API_KEY
"""

import base64
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from apps.events.sources.eventbrite import EventbriteConnector
from apps.events.tests.fakes import network
from apps.events.tests.fakes.contract import ContractKit, Unusable, title
from apps.events.tests.fakes.network import FakeClock, FakeProvider, Responder
from apps.events.tests.fakes.place import Place

API_KEY = "eventbrite-test-token"
BASE_URL = "https://eventbrite.test"
DEFAULT_PAGE_SIZE = 50
ORGANIZATION = "1001"  # the organisation a source follows unless told otherwise

_PATH = re.compile(r"^/v3/(organizations|venues)/([^/]+)/events/$")


# --- Documented shapes ----------------------------------------------------------------------------------------


BROOKLYN_BOWL = Place(
    "Brooklyn Bowl", "61 Wythe Ave", "Brooklyn", "11249", 40.7218, -73.9575, region="NY", country="US"
)


def venue(venue_id: str = "3003", place: Place = BROOKLYN_BOWL) -> dict[str, Any]:
    """An Eventbrite Venue object; coordinates are strings, as Eventbrite sends them."""
    latitude = None if place.lat is None else str(place.lat)
    longitude = None if place.lon is None else str(place.lon)
    street, city, region, postal_code = place.street, place.city, place.region, place.postal_code
    return {
        "address": {
            "address_1": street,
            "address_2": None,
            "city": city,
            "region": region,
            "postal_code": postal_code,
            "country": place.country,
            "latitude": latitude,
            "longitude": longitude,
            "localized_address_display": f"{street}, {city}, {region} {postal_code}",
            "localized_area_display": f"{city}, {region}",
            "localized_multi_line_address_display": [street, f"{city}, {region} {postal_code}"],
        },
        "resource_uri": f"https://www.eventbriteapi.com/v3/venues/{venue_id}/",
        "id": venue_id,
        "age_restriction": None,
        "capacity": 600,
        "name": place.name,
        "latitude": latitude,
        "longitude": longitude,
    }


def cost(amount: str, currency: str = "USD") -> dict[str, Any]:
    """An Eventbrite CurrencyCost: `value` in minor units, `major_value` as a decimal string."""
    value = Decimal(amount)
    return {
        "currency": currency,
        "value": int(value * 100),
        "major_value": f"{value:.2f}",
        "display": f"{value:.2f} {currency}",
    }


def _datetime_tz(moment: datetime, timezone: str) -> dict[str, str]:
    return {
        "timezone": timezone,
        "local": moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M:%S"),
        "utc": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def event(
    event_id: str,
    *,
    name: str,
    start: datetime,
    timezone: str = "America/New_York",
    duration: timedelta = timedelta(hours=3),
    status: str = "live",
    is_free: bool = False,
    min_price: str | None = "25.00",
    max_price: str | None = "60.00",
    currency: str = "USD",
    category_id: str | None = "103",
    format_id: str | None = "6",
    the_venue: dict[str, Any] | None = None,
    organization_id: str = "1001",
    listed: bool = True,
    online_event: bool = False,
    description: str = "An evening of live music.",
) -> dict[str, Any]:
    """An Eventbrite Event object with the `venue` and `ticket_availability` expansions filled in."""
    place = venue() if the_venue is None and not online_event else the_venue
    if is_free and min_price is not None:
        min_price = max_price = "0.00"
    return {
        "name": {"text": name, "html": f"<p>{name}</p>"},
        "description": {"text": description, "html": f"<p>{description}</p>"},
        "id": event_id,
        "url": f"https://www.eventbrite.com/e/{event_id}",
        "start": _datetime_tz(start, timezone),
        "end": _datetime_tz(start + duration, timezone),
        "organization_id": organization_id,
        "created": "2026-01-10T12:00:00Z",
        "changed": "2026-01-11T09:30:00Z",
        "published": "2026-01-11T09:30:00Z",
        "capacity": 600,
        "capacity_is_custom": False,
        "status": status,
        "currency": currency,
        "listed": listed,
        "shareable": True,
        "online_event": online_event,
        "tx_time_limit": 480,
        "hide_start_date": False,
        "hide_end_date": False,
        "locale": "en_US",
        "is_locked": False,
        "privacy_setting": "unlocked",
        "is_series": False,
        "is_series_parent": False,
        "inventory_type": "limited",
        "is_reserved_seating": False,
        "show_pick_a_seat": False,
        "show_seatmap_thumbnail": False,
        "show_colors_in_seatmap_thumbnail": False,
        "source": "coyote",
        "is_free": is_free,
        "version": None,
        "summary": description,
        "facebook_event_id": None,
        "logo_id": f"9{event_id}",
        "organizer_id": "77001",
        "venue_id": place["id"] if place else None,
        "category_id": category_id,
        "subcategory_id": None,
        "format_id": format_id,
        "resource_uri": f"https://www.eventbriteapi.com/v3/events/{event_id}/",
        "is_externally_ticketed": False,
        "logo": {
            "crop_mask": {"top_left": {"x": 0, "y": 0}, "width": 1600, "height": 800},
            "original": {"url": f"https://img.evbuc.com/original/{event_id}.jpg", "width": 1600, "height": 800},
            "id": f"9{event_id}",
            "url": f"https://img.evbuc.com/{event_id}.jpg",
            "aspect_ratio": "2",
            "edge_color": "#6b7c93",
            "edge_color_set": True,
        },
        "venue": place,
        "ticket_availability": {
            "has_available_tickets": min_price is not None,
            "minimum_ticket_price": cost(min_price, currency) if min_price is not None else None,
            "maximum_ticket_price": cost(max_price, currency) if max_price is not None else None,
            "is_sold_out": False,
            "start_sales_date": _datetime_tz(datetime(2026, 1, 11, 9, 30, tzinfo=UTC), timezone),
            "waitlist_available": False,
        },
    }


def error_body(status_code: int, error: str, description: str) -> dict[str, Any]:
    return {"status_code": status_code, "error": error, "error_description": description}


# --- Scripted failures ----------------------------------------------------------------------------------------


def rate_limited(retry_after: int | str = 2) -> Responder:
    """Eventbrite's answer over its rate limit: 429 `HIT_RATE_LIMIT` with `Retry-After`."""
    body = error_body(429, "HIT_RATE_LIMIT", "Hit rate limit for token.")
    return lambda request: httpx.Response(429, headers={"Retry-After": str(retry_after)}, json=body)


def server_error(status: int = 500) -> Responder:
    body = error_body(status, "INTERNAL_ERROR", "An unexpected error occurred.")
    return lambda request: httpx.Response(status, json=body)


def truncated_body() -> Responder:
    """A 200 whose JSON stops half-way, as when a connection drops mid-body."""
    text = b'{"pagination": {"object_count": 3, "page_number": 1, "page_size": 50, "page_co'
    return lambda request: httpx.Response(200, headers={"Content-Type": "application/json"}, content=text)


def wrong_shape() -> Responder:
    """Valid JSON that is not an event listing."""
    return lambda request: httpx.Response(200, json={"organizations": [], "pagination": None})


# --- The fake server --------------------------------------------------------------------------------------------


class FakeEventbrite(FakeProvider):
    def __init__(
        self,
        *,
        clock: FakeClock,
        api_key: str = API_KEY,
        page_size: int = DEFAULT_PAGE_SIZE,
        now: datetime | None = None,
    ) -> None:
        super().__init__(clock=clock)
        self.api_key = api_key
        self.default_page_size = page_size
        self.now = now  # for time_filter=current_future; None: every event is current or future
        self.organizations: dict[str, list[dict[str, Any]]] = {}
        self.venues: dict[str, list[dict[str, Any]]] = {}

    def add_organization(self, organization_id: str, events: Iterable[dict[str, Any]]) -> None:
        self.organizations.setdefault(organization_id, []).extend(events)

    def add_venue(self, venue_id: str, events: Iterable[dict[str, Any]]) -> None:
        self.venues.setdefault(venue_id, []).extend(events)

    def params(self, index: int = -1) -> dict[str, str]:
        return dict(self.requests[index].url.params)

    def answer(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return httpx.Response(
                401, json=error_body(401, "INVALID_AUTH", "The OAuth token you provided was invalid.")
            )
        match = _PATH.match(request.url.path)
        if request.method != "GET" or match is None:
            return httpx.Response(404, json=error_body(404, "NOT_FOUND", "The path you requested does not exist."))
        kind, target_id = match.groups()
        listing = (self.organizations if kind == "organizations" else self.venues).get(target_id)
        if listing is None:
            return httpx.Response(
                404, json=error_body(404, "NOT_FOUND", f"The {kind[:-1]} you requested does not exist.")
            )
        try:
            return httpx.Response(200, json=self._listing(kind, listing, request.url.params))
        except ValueError as exc:
            return httpx.Response(400, json=error_body(400, "ARGUMENTS_ERROR", str(exc)))

    def _listing(self, kind: str, events: list[dict[str, Any]], params: httpx.QueryParams) -> dict[str, Any]:
        chosen = [e for e in events if _status_matches(e, params.get("status", "live"))]
        if kind == "organizations" and params.get("time_filter") == "current_future" and self.now is not None:
            chosen = [e for e in chosen if not e["end"].get("utc") or _utc(e["end"]["utc"]) >= self.now]
        if kind == "venues":
            if params.get("only_public") == "true":
                chosen = [e for e in chosen if e["listed"]]
            if "start_date.range_start" in params:
                chosen = [e for e in chosen if _utc(e["start"]["utc"]) >= _utc(params["start_date.range_start"])]
            if "start_date.range_end" in params:
                chosen = [e for e in chosen if _utc(e["start"]["utc"]) <= _utc(params["start_date.range_end"])]
        order = params.get("order_by", "start_asc")
        chosen.sort(key=lambda e: e["start"].get("utc") or "", reverse=order == "start_desc")

        page_size = (
            int(params.get("page_size", self.default_page_size)) if kind == "organizations" else self.default_page_size
        )
        if "continuation" in params:
            page_number = _decode_continuation(params["continuation"])
        else:
            page_number = int(params.get("page", 1))
        page_count = max(1, -(-len(chosen) // page_size))
        rows = chosen[(page_number - 1) * page_size : page_number * page_size]
        expand = set(filter(None, params.get("expand", "").split(",")))
        has_more = page_number < page_count
        pagination: dict[str, Any] = {
            "object_count": len(chosen),
            "page_number": page_number,
            "page_size": page_size,
            "page_count": page_count,
            "has_more_items": has_more,
        }
        if has_more:
            pagination["continuation"] = _encode_continuation(page_number + 1)
        return {"pagination": pagination, "events": [_expanded(e, expand) for e in rows]}


def _status_matches(event: dict[str, Any], wanted: str) -> bool:
    statuses = set(wanted.split(","))
    return "all" in statuses or event["status"] in statuses


def _expanded(event: dict[str, Any], expand: set[str]) -> dict[str, Any]:
    shown = {key: value for key, value in event.items() if key not in ("venue", "ticket_availability")}
    for key in ("venue", "ticket_availability"):
        if key in expand:
            shown[key] = event[key]
    copy: dict[str, Any] = json.loads(json.dumps(shown))  # a fresh copy, as if it had crossed the wire
    return copy


def _encode_continuation(page_number: int) -> str:
    return base64.urlsafe_b64encode(f"page:{page_number}".encode()).decode()


def _decode_continuation(token: str) -> int:
    try:
        label, number = base64.urlsafe_b64decode(token.encode()).decode().split(":")
        if label != "page":
            raise ValueError(label)
        return int(number)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"continuation token is invalid: {token!r}") from exc


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- The connector under test, wired to the fake ----------------------------------------------------------------

# The real connector talking to the fake, unpaced: the fake clock's sleeps are the retry waits alone.
build_connector = partial(network.build_connector, EventbriteConnector, paced=False, page_size=2)


# --- The connector contract ---------------------------------------------------------------------------------


class Contract(ContractKit[FakeEventbrite]):
    provider = "eventbrite"
    fake_class = FakeEventbrite
    base_url, secret = BASE_URL, API_KEY
    source_fields = {"options": {"organization_id": ORGANIZATION}}
    id_format = "50{:02d}"
    malformed_marker = "not JSON"
    credentials_markers = ("INVALID_AUTH",)

    def serve(self, fake: FakeEventbrite, events: Sequence[Any]) -> None:
        fake.organizations[ORGANIZATION] = list(events)

    def event(self, number: int, start: datetime, *, cancelled: bool = False) -> Any:
        status = "canceled" if cancelled else "live"
        return event(self.provider_id(number), name=title(number), start=start, status=status)

    def undated_event(self, number: int, day: datetime) -> tuple[Any, str]:
        undated = self.event(number, day)
        undated["start"] = {"timezone": "America/New_York", "local": None, "utc": None}
        return undated, "missing start"

    def unusable_events(self, day: datetime) -> list[Unusable]:
        no_start, missing_start = self.undated_event(1, day)
        bad_zone = self.event(2, day)
        bad_zone["start"]["timezone"] = "Mars/Olympus_Mons"
        off_the_map = venue("3999", replace(BROOKLYN_BOWL, lat=123.0, lon=-73.9))
        nowhere = event(self.provider_id(3), name=title(3), start=day, the_venue=off_the_map)
        return [
            Unusable(no_start, self.provider_id(1), missing_start),
            Unusable(bad_zone, self.provider_id(2), "unknown time zone 'Mars/Olympus_Mons'"),
            Unusable(nowhere, self.provider_id(3), "impossible coordinates"),
        ]


CONTRACT = Contract(
    rate_limits={"retry-after": lambda clock, seconds: rate_limited(retry_after=int(seconds))},
    server_error=server_error,
    malformed_body=truncated_body,
)
