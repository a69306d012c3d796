"""A fake Meetup GraphQL API (`POST /gql-ext`) at the network boundary (an `httpx.MockTransport`).

It answers the `eventSearch` query of Meetup's published schema: an `EventSearchFilter` with `query`, `lat`,
`lon`, `radius` (miles), `startDateRange` and `endDateRange`; Relay paging with `first`/`after`; a connection
`{totalCount, pageInfo {hasNextPage endCursor}, edges [{node}]}` whose Event nodes carry the fields the
connector selects, named as in the schema (`dateTime`, `endTime`, `eventUrl`, `status`, `eventType`,
`featuredEventPhoto`, `venues`, `feeSettings`, `group`). A wrong token gets 401; failures are scripted per
request with `fail_next(...)`: HTTP 429 with `Retry-After`, GraphQL `RATE_LIMITED` errors (HTTP 200, with
`resetAt`), other GraphQL errors, a 500, a truncated body (and the shared timeout).

    fake = FakeMeetup(clock=FakeClock(NOW))
    fake.add(event("301001", title="Sunrise run", start=...))
    connector = build_connector(source, fake)   # settings: MEETUP_API_URL=BASE_URL, MEETUP_API_KEY=API_KEY
"""

import base64
import json
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from apps.events.sources.meetup import MeetupConnector
from apps.events.tests.fakes import network
from apps.events.tests.fakes.contract import ContractKit, Unusable, title
from apps.events.tests.fakes.network import FakeClock, FakeProvider, Responder
from apps.events.tests.fakes.place import Place

API_KEY = "meetup-test-token"
BASE_URL = "https://meetup.test"
BERLIN = (52.52, 13.405)


# --- Documented shapes ----------------------------------------------------------------------------------------


TEMPELHOFER_FELD = Place(
    "Tempelhofer Feld, Eingang Columbiadamm", "Columbiadamm 160", "Berlin", "10965", 52.4843, 13.4063, country="de"
)
ONLINE = Place("Online event", "", "", "", 0.0, 0.0)


def venue(venue_id: str = "27405011", place: Place = TEMPELHOFER_FELD, *, venue_type: str = "") -> dict[str, Any]:
    """A Meetup Venue (`venueType` is "online" for the virtual venue, empty for an in-person one)."""
    return {
        "id": venue_id,
        "name": place.name,
        "address": place.street,
        "city": place.city,
        "state": place.region,
        "country": place.country,
        "postalCode": place.postal_code,
        "lat": place.lat,
        "lon": place.lon,
        "venueType": venue_type,
    }


def online_venue() -> dict[str, Any]:
    return venue("online", ONLINE, venue_type="online")


def group(
    urlname: str = "berlin-runners",
    name: str = "Berlin Runners",
    *,
    timezone: str = "Europe/Berlin",
    topic_urlkey: str = "sports-fitness",
    topic_name: str = "Sports & Fitness",
) -> dict[str, Any]:
    return {
        "id": "38100123",
        "name": name,
        "urlname": urlname,
        "timezone": timezone,
        "topicCategory": {"id": "546", "name": topic_name, "urlkey": topic_urlkey},
    }


def fee(amount: float, currency: str = "EUR", *, required: bool = True) -> dict[str, Any]:
    """Meetup EventFeeSettings: `amount` in currency units."""
    return {"amount": amount, "currency": currency, "required": required}


def event(
    event_id: str,
    *,
    title: str,
    start: datetime,
    duration: timedelta = timedelta(hours=2),
    status: str = "ACTIVE",
    event_type: str = "PHYSICAL",
    venues: list[dict[str, Any]] | None = None,
    fee_settings: dict[str, Any] | None = None,
    the_group: dict[str, Any] | None = None,
    description: str = "We meet at the gate and run 8 km at an easy pace.",
    photo: bool = True,
) -> dict[str, Any]:
    """A Meetup Event node with the fields the connector's `eventSearch` selects.

    `dateTime` and `endTime` carry the group's local offset, as Meetup sends them ("2026-06-06T09:00:00+02:00").
    """
    owner = the_group or group()
    zone = ZoneInfo(owner["timezone"] or "UTC")
    if venues is None:
        venues = [online_venue()] if event_type == "ONLINE" else [venue()]
    return {
        "id": event_id,
        "title": title,
        "description": description,
        "dateTime": start.astimezone(zone).isoformat(timespec="seconds"),
        "endTime": (start + duration).astimezone(zone).isoformat(timespec="seconds"),
        "eventUrl": f"https://www.meetup.com/{owner['urlname']}/events/{event_id}/",
        "status": status,
        "eventType": event_type,
        "featuredEventPhoto": {
            "id": f"5{event_id}",
            "baseUrl": "https://secure.meetupstatic.com/photos/event/",
            "highResUrl": f"https://secure.meetupstatic.com/photos/event/highres_5{event_id}.jpeg",
        }
        if photo
        else None,
        "venues": venues,
        "feeSettings": fee_settings,
        "group": owner,
    }


def graphql_error(code: str, message: str, **extensions: Any) -> dict[str, Any]:
    return {"message": message, "locations": [], "path": ["eventSearch"], "extensions": {"code": code, **extensions}}


# --- Scripted failures ----------------------------------------------------------------------------------------


def rate_limited(reset_at: datetime) -> Responder:
    """Meetup's rate limit: HTTP 200 with a `RATE_LIMITED` error that says when the budget resets."""
    error = graphql_error(
        "RATE_LIMITED",
        "Too many requests, please try again shortly.",
        consumedPoints=500,
        resetAt=reset_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    )
    return lambda request: httpx.Response(200, json={"errors": [error], "data": None})


def http_429(retry_after: int = 3) -> Responder:
    error = graphql_error("RATE_LIMITED", "Too many requests, please try again shortly.")
    return lambda request: httpx.Response(429, headers={"Retry-After": str(retry_after)}, json={"errors": [error]})


def errors(*errs: dict[str, Any]) -> Responder:
    """A GraphQL-level failure: HTTP 200, `errors`, no data."""
    return lambda request: httpx.Response(200, json={"errors": list(errs), "data": None})


def server_error(status: int = 500) -> Responder:
    return lambda request: httpx.Response(status, text="<html><body><h1>500 Internal Server Error</h1></body></html>")


def truncated_body() -> Responder:
    text = b'{"data": {"eventSearch": {"totalCount": 4, "pageInfo": {"hasNextPage": tr'
    return lambda request: httpx.Response(200, headers={"Content-Type": "application/json"}, content=text)


# --- The fake server --------------------------------------------------------------------------------------------


class FakeMeetup(FakeProvider):
    def __init__(self, *, clock: FakeClock, api_key: str = API_KEY) -> None:
        super().__init__(clock=clock)
        self.api_key = api_key
        self.events: list[dict[str, Any]] = []

    def add(self, *events: dict[str, Any]) -> None:
        self.events.extend(events)

    def add_all(self, events: Iterable[dict[str, Any]]) -> None:
        self.events.extend(events)

    def body(self, index: int = -1) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.requests[index].content)
        return result

    def answer(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or request.url.path != "/gql-ext":
            return httpx.Response(404, text="Not Found")
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            error = graphql_error("UNAUTHORIZED", "Invalid or expired access token")
            return httpx.Response(401, json={"errors": [error], "data": None})
        try:
            payload = json.loads(request.content)
            query, variables = payload["query"], payload.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            return httpx.Response(
                400, json={"errors": [graphql_error("BAD_REQUEST", "Request body is not a GraphQL request")]}
            )
        if "eventSearch(" not in query:
            return httpx.Response(
                200, json={"errors": [graphql_error("GRAPHQL_VALIDATION_FAILED", "Unknown operation")], "data": None}
            )
        try:
            connection = self._search(variables)
        except ValueError as exc:
            return httpx.Response(
                200, json={"errors": [graphql_error("GRAPHQL_VALIDATION_FAILED", str(exc))], "data": None}
            )
        return httpx.Response(200, json={"data": {"eventSearch": connection}})

    def _search(self, variables: dict[str, Any]) -> dict[str, Any]:
        flt = variables.get("filter")
        if not isinstance(flt, dict):
            raise ValueError("Variable 'filter' of required type 'EventSearchFilter!' was not provided.")
        for name, kind in (("query", str), ("lat", float), ("lon", float)):
            if name not in flt or not isinstance(flt[name], kind | (int if kind is float else kind)):
                raise ValueError(f"Field '{name}' of required type in EventSearchFilter was not provided.")
        start = _when(flt.get("startDateRange"))
        end = _when(flt.get("endDateRange"))
        radius = float(flt.get("radius") or 25.0)
        chosen = []
        for node in self.events:
            moment = _when(node["dateTime"])  # None: a broken node the search lets through, as a test wants it
            if moment is not None and ((start and moment < start) or (end and moment > end)):
                continue
            physical = [v for v in node["venues"] if v["venueType"] != "online"]
            if physical and _miles(flt["lat"], flt["lon"], physical[0]["lat"], physical[0]["lon"]) > radius:
                continue
            chosen.append(node)
        chosen.sort(key=lambda node: _when(node["dateTime"]) or datetime.min.replace(tzinfo=UTC))
        first = int(variables.get("first") or 20)
        after = variables.get("after")
        offset = _decode_cursor(after) + 1 if after else 0
        rows = chosen[offset : offset + first]
        last = offset + len(rows) - 1
        return {
            "totalCount": len(chosen),
            "pageInfo": {
                "hasNextPage": last + 1 < len(chosen),
                "endCursor": _encode_cursor(last) if rows else None,
            },
            "edges": [{"node": json.loads(json.dumps(node))} for node in rows],
        }


def _encode_cursor(index: int) -> str:
    return base64.b64encode(f"arrayconnection:{index}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        return int(base64.b64decode(cursor.encode()).decode().split(":")[1])
    except (ValueError, IndexError) as exc:
        raise ValueError(f"Invalid cursor {cursor!r}") from exc


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 3958.7613 * math.asin(min(1.0, math.sqrt(h)))


# --- The connector under test, wired to the fake ----------------------------------------------------------------

# The real connector talking to the fake, unpaced: the fake clock's sleeps are the retry waits alone.
build_connector = partial(network.build_connector, MeetupConnector, paced=False, page_size=2)


# --- The connector contract ---------------------------------------------------------------------------------


class Contract(ContractKit[FakeMeetup]):
    provider = "meetup"
    fake_class = FakeMeetup
    base_url, secret = BASE_URL, API_KEY
    source_fields = {"near": BERLIN, "radius_km": 16.09344}
    id_format = "3010{:02d}"
    malformed_marker = "not JSON"
    credentials_markers = ("UNAUTHORIZED",)

    def serve(self, fake: FakeMeetup, events: Sequence[Any]) -> None:
        fake.events = list(events)

    def event(self, number: int, start: datetime, *, cancelled: bool = False) -> Any:
        status = "CANCELLED" if cancelled else "ACTIVE"
        return event(self.provider_id(number), title=title(number), start=start, status=status)

    def undated_event(self, number: int, day: datetime) -> tuple[Any, str]:
        undated = self.event(number, day)
        undated["dateTime"] = undated["endTime"] = None
        return undated, "missing start"

    def unusable_events(self, day: datetime) -> list[Unusable]:
        backwards = self.event(1, day)
        backwards["endTime"] = (day - timedelta(hours=1)).isoformat()
        untitled = event(self.provider_id(2), title="  ", start=day)
        odd_fee = {"amount": "lots", "currency": "EUR", "required": True}
        bad_fee = event(self.provider_id(3), title=title(3), start=day, fee_settings=odd_fee)
        return [
            Unusable(backwards, self.provider_id(1), "ends before it starts"),
            Unusable(untitled, self.provider_id(2), "missing title"),
            Unusable(bad_fee, self.provider_id(3), "unreadable fee 'lots'"),
        ]


CONTRACT = Contract(
    rate_limits={
        "graphql-reset-at": lambda clock, seconds: (
            lambda request: rate_limited(
                reset_at=datetime.fromtimestamp(clock.now + seconds, UTC)  # from when it answers
            )(request)
        ),
        "retry-after": lambda clock, seconds: http_429(retry_after=int(seconds)),
    },
    server_error=server_error,
    malformed_body=truncated_body,
)
