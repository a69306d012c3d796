"""A fake Ticketmaster Discovery API v2 at the network boundary, answering in its documented shapes.

`FakeTicketmaster` serves `GET /discovery/v2/events.json` over a list of events the way the API documents
it: the key in `apikey` (401 `oauth.v2.InvalidApiKey` otherwise), `startDateTime`/`endDateTime` filters on
the start (both ends inclusive), `sort=date,asc`, `size`/`page` paging with the deep-paging refusal
(`size * page` must stay under 1000: a 400 `DIS1035`), a HAL body of `_links`, `_embedded.events[]` (absent
when empty) and `page{size,totalElements,totalPages,number}`, and the rate-limit headers `Rate-Limit`,
`Rate-Limit-Available`, `Rate-Limit-Over` and `Rate-Limit-Reset` (epoch ms). Failures are scripted per
request with `fail_next(...)`: the 429 quota fault, a spike arrest, a 500, a timeout, a malformed body.

`event(...)`, `venue(...)` and `DOCUMENTED_EVENT` follow the documented example response of the event search
(developer.ticketmaster.com, Discovery API v2, "Event Search") field for field.

    fake = FakeTicketmaster([event("G5diZ9fFAbcd1", "Jazz night", start=...)], clock=clock)
    connector = build_connector(source, fake)   # settings: TICKETMASTER_API_URL=BASE_URL, ..._KEY=API_KEY
"""

import copy
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from apps.events.sources.ticketmaster import TicketmasterConnector
from apps.events.tests.fakes import network
from apps.events.tests.fakes.contract import ContractKit, Unusable, title
from apps.events.tests.fakes.network import FakeClock, FakeProvider, Responder
from apps.events.tests.fakes.place import Place

API_KEY = "tm-test-key"
BASE_URL = "https://app.ticketmaster.test"
EVENTS_PATH = "/discovery/v2/events.json"
DAILY_QUOTA = 5000
JSON_TYPE = "application/json;charset=utf-8"


# --- Documented shapes ----------------------------------------------------------------------------------------

# The event of the documented example response, as published (two of its ten images kept).
DOCUMENTED_EVENT: dict[str, Any] = {
    "name": "WGC Cadillac Championship - Sunday Ticket",
    "type": "event",
    "id": "vvG1VZKS5pr1qy",
    "test": False,
    "url": "http://ticketmaster.com/event/0E0050681F51BA4C",
    "locale": "en-us",
    "images": [
        {
            "ratio": "16_9",
            "url": "http://s1.ticketm.net/dam/a/196/6095e742-64d1-4b15-aeac-c9733c52d196_66341_RETINA_LANDSCAPE_16_9.jpg",
            "width": 1136,
            "height": 639,
            "fallback": False,
        },
        {
            "ratio": "3_2",
            "url": "http://s1.ticketm.net/dam/a/196/6095e742-64d1-4b15-aeac-c9733c52d196_66341_RETINA_PORTRAIT_3_2.jpg",
            "width": 640,
            "height": 427,
            "fallback": False,
        },
    ],
    "sales": {
        "public": {"startDateTime": "2015-10-02T11:00:00Z", "startTBD": False, "endDateTime": "2016-03-06T23:00:00Z"}
    },
    "dates": {
        "start": {
            "localDate": "2016-03-06",
            "dateTBD": False,
            "dateTBA": False,
            "timeTBA": True,
            "noSpecificTime": False,
        },
        "timezone": "America/New_York",
        "status": {"code": "offsale"},
    },
    "classifications": [
        {
            "primary": True,
            "segment": {"id": "KZFzniwnSyZfZ7v7nE", "name": "Sports"},
            "genre": {"id": "KnvZfZ7vAdt", "name": "Golf"},
            "subGenre": {"id": "KZazBEonSMnZfZ7vFI7", "name": "PGA Tour"},
        }
    ],
    "promoter": {"id": "682"},
    "_links": {
        "self": {"href": "/discovery/v2/events/vvG1VZKS5pr1qy?locale=en-us"},
        "attractions": [{"href": "/discovery/v2/attractions/K8vZ917uc57?locale=en-us"}],
        "venues": [{"href": "/discovery/v2/venues/KovZpZAaEldA?locale=en-us"}],
    },
    "_embedded": {
        "venues": [
            {
                "name": "Trump National Doral",
                "type": "venue",
                "id": "KovZpZAaEldA",
                "test": False,
                "locale": "en-us",
                "postalCode": "33178",
                "timezone": "America/New_York",
                "city": {"name": "Miami"},
                "state": {"name": "Florida", "stateCode": "FL"},
                "country": {"name": "United States Of America", "countryCode": "US"},
                "address": {"line1": "4400 NW 87th Avenue"},
                "location": {"longitude": "-80.33854298", "latitude": "25.81260379"},
                "markets": [{"id": "15"}],
                "_links": {"self": {"href": "/discovery/v2/venues/KovZpZAaEldA?locale=en-us"}},
            }
        ],
        "attractions": [
            {
                "name": "Cadillac Championship",
                "type": "attraction",
                "id": "K8vZ917uc57",
                "test": False,
                "locale": "en-us",
                "_links": {"self": {"href": "/discovery/v2/attractions/K8vZ917uc57?locale=en-us"}},
            }
        ],
    },
}

MUSIC = (("KZFzniwnSyZfZ7v7nJ", "Music"), ("KnvZfZ7vAeA", "Rock"), ("KZazBEonSMnZfZ7v6F1", "Pop"))
SPORTS = (("KZFzniwnSyZfZ7v7nE", "Sports"), ("KnvZfZ7vAde", "Basketball"), ("KZazBEonSMnZfZ7vFJA", "NBA"))
THEATRE = (("KZFzniwnSyZfZ7v7na", "Arts & Theatre"), ("KnvZfZ7v7l1", "Theatre"), ("KZazBEonSMnZfZ7v7lv", "Musical"))
FAMILY = (("KZFzniwnSyZfZ7v7n1", "Miscellaneous"), ("KnvZfZ7vA1n", "Family"), ("KZazBEonSMnZfZ7vFln", "Fair"))


UBER_ARENA = Place("Uber Arena", "Uber-Platz 1", "Berlin", "10243", 52.5079, 13.4432, country="DE")


def venue(
    venue_id: str = "Z598xZbpZ7e1e", place: Place = UBER_ARENA, *, timezone: str = "Europe/Berlin"
) -> dict[str, Any]:
    """An `_embedded.venues[]` entry; coordinates are strings, as the API sends them."""
    body: dict[str, Any] = {
        "name": place.name,
        "type": "venue",
        "id": venue_id,
        "test": False,
        "locale": "en-de",
        "postalCode": place.postal_code,
        "timezone": timezone,
        "city": {"name": place.city},
        "country": {"name": "Germany", "countryCode": place.country},
        "address": {"line1": place.street},
        "location": {"longitude": str(place.lon), "latitude": str(place.lat)},
        "markets": [{"id": "210"}],
        "_links": {"self": {"href": f"/discovery/v2/venues/{venue_id}?locale=en-de"}},
    }
    if place.lat is None or place.lon is None:
        del body["location"]
    return body


COLUMBIAHALLE = venue(
    "Z598xZbpZ6ake", Place("Columbiahalle", "Columbiadamm 13-21", "Berlin", "10965", 52.4846, 13.3903, country="DE")
)
TEMPODROM = venue(
    "Z598xZbpZ1dAa", Place("Tempodrom", "Möckernstraße 10", "Berlin", "10963", 52.5013, 13.3817, country="DE")
)


def price_range(minimum: float, maximum: float, currency: str = "EUR", kind: str = "standard") -> dict[str, Any]:
    return {"type": kind, "currency": currency, "min": minimum, "max": maximum}


def event(
    event_id: str,
    name: str,
    *,
    start: datetime | date,
    timezone: str = "Europe/Berlin",
    time_tba: bool = False,
    no_specific_time: bool = False,
    date_tbd: bool = False,
    end: datetime | None = None,
    status: str = "onsale",
    classification: tuple[tuple[str, str], ...] | None = MUSIC,
    prices: list[dict[str, Any]] | None = None,
    venues: list[dict[str, Any]] | None = None,
    info: str | None = None,
) -> dict[str, Any]:
    """One `_embedded.events[]` entry, shaped like the documented example.

    `start` is a UTC date-time (the event's local date and time are derived in `timezone`), or a date for
    an event whose time is to be announced (`timeTBA`) or that has no specific time (then no `dateTime` and
    no `localTime`, as in the documented example). `prices=None` leaves `priceRanges` out, as the API does.
    """
    zone = ZoneInfo(timezone)
    start_body: dict[str, Any]
    if isinstance(start, datetime):
        local = start.astimezone(zone)
        start_body = {
            "localDate": local.date().isoformat(),
            "localTime": local.strftime("%H:%M:%S"),
            "dateTime": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        on_sale_until = start
    else:
        start_body = {"localDate": start.isoformat()}
        on_sale_until = datetime.combine(start, datetime.min.time(), tzinfo=zone)
    start_body |= {"dateTBD": date_tbd, "dateTBA": date_tbd, "timeTBA": time_tba, "noSpecificTime": no_specific_time}
    dates: dict[str, Any] = {"start": start_body, "timezone": timezone, "status": {"code": status}}
    if end is not None:
        local_end = end.astimezone(zone)
        dates["end"] = {
            "localDate": local_end.date().isoformat(),
            "localTime": local_end.strftime("%H:%M:%S"),
            "dateTime": end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "approximate": False,
            "noSpecificTime": False,
        }
    dates["spanMultipleDays"] = False
    venues = [venue()] if venues is None else venues
    image_base = f"https://s1.ticketm.net/dam/a/{event_id[-3:].lower()}/{event_id}"
    body: dict[str, Any] = {
        "name": name,
        "type": "event",
        "id": event_id,
        "test": False,
        "url": f"https://www.ticketmaster.de/event/{event_id}",
        "locale": "en-de",
        "images": [
            {
                "ratio": "16_9",
                "url": f"{image_base}_RETINA_LANDSCAPE_16_9.jpg",
                "width": 1136,
                "height": 639,
                "fallback": False,
            },
            {
                "ratio": "3_2",
                "url": f"{image_base}_RETINA_PORTRAIT_3_2.jpg",
                "width": 640,
                "height": 427,
                "fallback": False,
            },
            {
                "ratio": "16_9",
                "url": f"{image_base}_TABLET_LANDSCAPE_LARGE_16_9.jpg",
                "width": 2048,
                "height": 1152,
                "fallback": False,
            },
            {"ratio": "4_3", "url": f"{image_base}_CUSTOM.jpg", "width": 305, "height": 225, "fallback": False},
        ],
        "sales": {
            "public": {
                "startDateTime": "2026-06-01T08:00:00Z",
                "startTBD": False,
                "endDateTime": on_sale_until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        },
        "dates": dates,
    }
    if classification is not None:
        (segment_id, segment), (genre_id, genre), (sub_id, sub_genre) = classification
        body["classifications"] = [
            {
                "primary": True,
                "segment": {"id": segment_id, "name": segment},
                "genre": {"id": genre_id, "name": genre},
                "subGenre": {"id": sub_id, "name": sub_genre},
                "family": genre == "Family",
            }
        ]
    body["promoter"] = {"id": "653", "name": "LIVE NATION GMBH"}
    if info is not None:
        body["info"] = info
    if prices is not None:
        body["priceRanges"] = prices
    body["_links"] = {
        "self": {"href": f"/discovery/v2/events/{event_id}?locale=en-de"},
        "venues": [{"href": f"/discovery/v2/venues/{v['id']}?locale=en-de"} for v in venues if "id" in v],
    }
    body["_embedded"] = {"venues": venues}
    return body


def start_instant(raw: dict[str, Any]) -> datetime:
    """Where the API places an event on its time line: `dateTime`, else local midnight of `localDate`."""
    start = raw["dates"]["start"]
    if start.get("dateTime"):
        return datetime.fromisoformat(start["dateTime"].replace("Z", "+00:00"))
    zone = ZoneInfo(raw["dates"].get("timezone") or "UTC")
    return datetime.combine(date.fromisoformat(start["localDate"]), datetime.min.time(), tzinfo=zone).astimezone(UTC)


# --- Failures, as the API (or the network) produces them ------------------------------------------------------


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status, content=json.dumps(body).encode(), headers={"Content-Type": JSON_TYPE, **(headers or {})}
    )


def invalid_key() -> Responder:
    body = {"fault": {"faultstring": "Invalid ApiKey", "detail": {"errorcode": "oauth.v2.InvalidApiKey"}}}
    return lambda request: _json(401, body)


def quota_exceeded(clock: FakeClock, *, reset_in: float) -> Responder:
    """The documented 429 over quota, with the rate-limit headers; the quota resets `reset_in` seconds later."""

    def respond(request: httpx.Request) -> httpx.Response:
        key = request.url.params.get("apikey", "")
        body = {
            "fault": {
                "faultstring": f"Rate limit quota violation. Quota limit  exceeded. Identifier : {key}",
                "detail": {"errorcode": "policies.ratelimit.QuotaViolation"},
            }
        }
        headers = {
            "Rate-Limit": str(DAILY_QUOTA),
            "Rate-Limit-Available": "0",
            "Rate-Limit-Over": "1",
            "Rate-Limit-Reset": str(int((clock.now + reset_in) * 1000)),
        }
        return _json(429, body, headers)

    return respond


def spike_arrest(clock: FakeClock, *, quota_reset_in: float = 6 * 3600) -> Responder:
    """Too many requests in one second: 429 `SpikeArrestViolation`; the reset header still names the daily quota."""

    def respond(request: httpx.Request) -> httpx.Response:
        body = {
            "fault": {
                "faultstring": "Spike arrest violation. Allowed rate : 5ps",
                "detail": {"errorcode": "policies.ratelimit.SpikeArrestViolation"},
            }
        }
        headers = {"Rate-Limit-Reset": str(int((clock.now + quota_reset_in) * 1000))}
        return _json(429, body, headers)

    return respond


def server_error(status: int = 500) -> Responder:
    body = {
        "fault": {
            "faultstring": "Internal Server Error",
            "detail": {"errorcode": "messaging.adaptors.http.flow.ServiceUnavailable"},
        }
    }
    return lambda request: _json(status, body)


def malformed_body() -> Responder:
    """A 200 whose JSON breaks off half-way."""
    text = json.dumps({"_links": {"self": {"href": EVENTS_PATH}}, "_embedded": {"events": [DOCUMENTED_EVENT]}})
    return lambda request: httpx.Response(
        200, content=text[: len(text) // 2].encode(), headers={"Content-Type": JSON_TYPE}
    )


# --- The fake API ------------------------------------------------------------------------------------------


class FakeTicketmaster(FakeProvider):
    """Answers like the Discovery API over `events`."""

    def __init__(self, events: Iterable[dict[str, Any]] = (), *, clock: FakeClock, api_key: str = API_KEY) -> None:
        super().__init__(clock=clock)
        self.events = list(events)
        self.api_key = api_key
        self.quota_available = DAILY_QUOTA - 277

    @property
    def params(self) -> list[dict[str, str]]:
        return [dict(r.url.params) for r in self.requests]

    def answer(self, request: httpx.Request) -> httpx.Response:
        if request.method != "GET" or request.url.path != EVENTS_PATH:
            return _json(404, {"errors": [{"code": "DIS1001", "detail": "Resource not found", "status": "404"}]})
        params = request.url.params
        if params.get("apikey") != self.api_key:
            return invalid_key()(request)
        size = int(params.get("size", "20"))
        page = int(params.get("page", "0"))
        if size * page >= 1000:
            detail = "API Limits Exceeded: Max paging depth exceeded. (page * size) must be less than 1,000"
            return _json(400, {"errors": [{"code": "DIS1035", "detail": detail, "status": "400", "_links": {}}]})
        start = _parse(params.get("startDateTime"))
        end = _parse(params.get("endDateTime"))
        matching = [
            e
            for e in self.events
            if (start is None or start_instant(e) >= start) and (end is None or start_instant(e) <= end)
        ]
        matching.sort(key=start_instant)
        chunk = matching[page * size : (page + 1) * size]
        total_pages = math.ceil(len(matching) / size) if size else 0
        links: dict[str, Any] = {"self": {"href": f"{EVENTS_PATH}?page={page}&size={size}{{&sort}}", "templated": True}}
        if page + 1 < total_pages:
            links["next"] = {"href": f"{EVENTS_PATH}?page={page + 1}&size={size}{{&sort}}", "templated": True}
        body: dict[str, Any] = {"_links": links}
        if chunk:
            body["_embedded"] = {"events": copy.deepcopy(chunk)}
        body["page"] = {"size": size, "totalElements": len(matching), "totalPages": total_pages, "number": page}
        self.quota_available -= 1
        return _json(200, body, self.rate_headers())

    def rate_headers(self) -> dict[str, str]:
        midnight = datetime.fromtimestamp(self.clock.now, UTC).replace(hour=0, minute=0, second=0) + timedelta(days=1)
        return {
            "Rate-Limit": str(DAILY_QUOTA),
            "Rate-Limit-Available": str(max(0, self.quota_available)),
            "Rate-Limit-Over": "0",
            "Rate-Limit-Reset": str(int(midnight.timestamp() * 1000)),
        }


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


# The connector on the fake's transport and clock, paced as in production: nothing leaves the process and
# nothing waits.
build_connector = partial(network.build_connector, TicketmasterConnector)


# --- The connector contract ---------------------------------------------------------------------------------


class Contract(ContractKit[FakeTicketmaster]):
    provider = "ticketmaster"
    fake_class = FakeTicketmaster
    base_url, secret = BASE_URL, API_KEY
    source_fields = {"near": (52.52, 13.405), "radius_km": 12.5}
    id_format = "G5diZ9{:07d}"
    malformed_marker = "malformed"
    credentials_markers = ("refused the API key", "oauth.v2.InvalidApiKey")

    def serve(self, fake: FakeTicketmaster, events: Sequence[Any]) -> None:
        fake.events = list(events)

    def event(self, number: int, start: datetime, *, cancelled: bool = False) -> Any:
        status = "cancelled" if cancelled else "onsale"
        return event(self.provider_id(number), title(number), start=start, status=status)

    def undated_event(self, number: int, day: datetime) -> tuple[Any, str]:
        undated = event(self.provider_id(number), title(number), start=day.date(), date_tbd=True)
        return undated, "date not announced yet"

    def unusable_events(self, day: datetime) -> list[Unusable]:
        date_tbd, not_announced = self.undated_event(2, day)
        off_the_map = venue("Zbad", replace(UBER_ARENA, name="Nowhere", lat=95.0, lon=13.4))
        nowhere = event(self.provider_id(3), title(3), start=day, venues=[off_the_map])
        return [
            Unusable(event("", title(1), start=day), None, "missing id"),
            Unusable(date_tbd, self.provider_id(2), not_announced),
            Unusable(nowhere, self.provider_id(3), "impossible coordinates"),
        ]


CONTRACT = Contract(
    rate_limits={"quota-reset": lambda clock, seconds: quota_exceeded(clock, reset_in=seconds)},
    server_error=server_error,
    malformed_body=malformed_body,
)
