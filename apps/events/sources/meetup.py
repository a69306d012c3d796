"""Meetup: the `eventSearch` query of its GraphQL API (`POST {MEETUP_API_URL}/gql-ext`, bearer token).

A Meetup source searches an area: the source's centre and radius become the `lat`, `lon` and `radius` (miles)
of an `EventSearchFilter`, the sync window its `startDateRange` and `endDateRange`. The schema makes the
filter's keyword `query` mandatory; it comes from the source's `query` option (empty by default). Results are
paged Relay-style with `first`/`after` and `pageInfo { hasNextPage endCursor }`.

GraphQL reports most failures as HTTP 200 with an `errors` array: `RATE_LIMITED` (with `resetAt`) is retried
like a 429, an authentication error stops the run like a 401, anything else fails the run. The checkpoint after
each page holds the filter and the `endCursor`, so a stopped run resumes on the next page of the same search.
"""

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import httpx
import structlog

from apps.core.http import CredentialsRejectedError, ProviderError, RetryableError, retry_hint
from apps.events.sources.base import Connector, NormalizedEvent, NormalizedVenue, Page, SourceConfigError
from apps.events.sources.coerce import (
    MAX_ADDRESS,
    MAX_TITLE,
    MAX_VENUE_NAME,
    BadItem,
    aware,
    format_utc,
    iana_zone,
    instant,
    mapping,
    number,
    text,
    url,
)

logger = structlog.get_logger(__name__)

PROVIDER: Final = "meetup"
GRAPHQL_PATH: Final = "/gql-ext"
DEFAULT_RADIUS_KM: Final = 25.0
MAX_RADIUS_MILES: Final = 100.0  # Meetup's own ceiling for a search radius
KM_PER_MILE: Final = 1.609344

EVENT_SEARCH_QUERY: Final = """
query EventSearch($filter: EventSearchFilter!, $first: Int, $after: String) {
  eventSearch(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      node {
        id
        title
        description
        dateTime
        endTime
        eventUrl
        status
        eventType
        featuredEventPhoto { id baseUrl highResUrl }
        venues { id name address city state country postalCode lat lon venueType }
        feeSettings { amount currency required }
        group { id name urlname timezone topicCategory { id name urlkey } }
      }
    }
  }
}
""".strip()

CANCELLED_STATUSES: Final = frozenset({"CANCELLED", "CANCELLED_PERM", "AUTOSCHED_CANCELLED"})
NOT_PUBLIC_STATUSES: Final = frozenset({"DRAFT", "AUTOSCHED_DRAFT", "PENDING", "PROPOSED", "TEMPLATE", "BLOCKED"})
RATE_LIMIT_CODES: Final = frozenset({"RATE_LIMITED", "TOO_MANY_REQUESTS"})
AUTH_CODES: Final = frozenset({"UNAUTHORIZED", "UNAUTHENTICATED", "FORBIDDEN", "INVALID_TOKEN", "AUTH_REQUIRED"})

# Words of a Meetup topic category `urlkey` ("sports-fitness", "art-culture", ...) to our taxonomy, first match wins.
TOPIC_WORDS: Final[tuple[tuple[frozenset[str], str], ...]] = (
    (frozenset({"music"}), "music"),
    (frozenset({"film", "films", "movie", "movies"}), "film"),
    (frozenset({"food", "drink", "drinks", "dining"}), "food-drink"),
    (frozenset({"dancing", "nightlife"}), "nightlife"),
    (frozenset({"art", "arts", "culture", "theatre", "theater"}), "arts-theatre"),
    (frozenset({"sports", "sport", "fitness"}), "sports"),
    (frozenset({"outdoor", "outdoors", "travel"}), "outdoors"),
    (frozenset({"parents", "family"}), "family"),
    (
        frozenset({"tech", "technology", "science", "education", "career", "business", "writing", "language"}),
        "learning",
    ),
    (
        frozenset({"community", "environment", "social", "identity", "movements", "politics", "religion", "support"}),
        "community",
    ),
)


class MeetupError(ProviderError):
    """Meetup answered something we cannot use: a GraphQL error, an error status, a body of the wrong shape."""


@dataclass(frozen=True)
class _Search:
    """One search and where it stands: the filter, the window and the cursor of the next page."""

    window_start: datetime
    window_end: datetime
    lat: float
    lon: float
    radius_miles: float
    query: str
    after: str | None = None

    def variables(self, page_size: int) -> dict[str, Any]:
        return {
            "filter": {
                "query": self.query,
                "lat": self.lat,
                "lon": self.lon,
                "radius": self.radius_miles,
                "startDateRange": format_utc(self.window_start),
                "endDateRange": format_utc(self.window_end),
            },
            "first": page_size,
            "after": self.after,
        }

    def to_checkpoint(self) -> dict[str, Any]:
        return {
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "lat": self.lat,
            "lon": self.lon,
            "radius_miles": self.radius_miles,
            "query": self.query,
            "after": self.after,
        }

    @classmethod
    def from_checkpoint(cls, checkpoint: dict[str, Any]) -> "_Search":
        after, query = checkpoint.get("after"), checkpoint["query"]
        if not isinstance(after, str) or not after or not isinstance(query, str):
            raise ValueError("cursor or query missing")
        return cls(
            window_start=aware(datetime.fromisoformat(checkpoint["window_start"])),
            window_end=aware(datetime.fromisoformat(checkpoint["window_end"])),
            lat=float(checkpoint["lat"]),
            lon=float(checkpoint["lon"]),
            radius_miles=float(checkpoint["radius_miles"]),
            query=query,
            after=after,
        )


class MeetupConnector(Connector):
    """Pages through Meetup's `eventSearch` for a source's area and the sync window."""

    provider = PROVIDER
    label = "Meetup"
    needs_area = True
    key_setting = "MEETUP_API_KEY"
    url_setting = "MEETUP_API_URL"
    default_url = "https://api.meetup.com"
    bearer_token = True
    # Meetup grants 500 query points a minute; one search page costs a handful. One request a second is well under.
    requests_per_second = 1.0

    def pages(
        self, *, window_start: datetime, window_end: datetime, checkpoint: dict[str, Any] | None
    ) -> Iterator[Page]:
        search = self.resume(_Search.from_checkpoint, checkpoint) if checkpoint else None
        if search is None:
            search = self._new_search(aware(window_start), aware(window_end))
        with self.client() as client:
            while True:
                connection = self.call(self._fetch, client, search)
                edges, page_info = _connection_parts(connection)
                page = _page_of(edges, search)
                end_cursor = page_info.get("endCursor")
                more = (
                    page_info.get("hasNextPage") is True
                    and isinstance(end_cursor, str)
                    and bool(end_cursor)
                    and end_cursor != search.after  # a cursor that does not move would loop for ever
                )
                if more:
                    search = replace(search, after=end_cursor)
                page.checkpoint = search.to_checkpoint() if more else None
                yield page
                if not more:
                    return

    def _new_search(self, window_start: datetime, window_end: datetime) -> _Search:
        source = self.source
        if source.center_lat is None or source.center_lon is None:
            raise SourceConfigError("A Meetup source searches an area: give it a centre (--near=LAT,LON).")
        radius_km = source.radius_km or DEFAULT_RADIUS_KM
        query = (source.options or {}).get("query", "")
        return _Search(
            window_start=window_start,
            window_end=window_end,
            lat=source.center_lat,
            lon=source.center_lon,
            radius_miles=round(min(radius_km / KM_PER_MILE, MAX_RADIUS_MILES), 3),
            query=str(query),
        )

    def _fetch(self, client: httpx.Client, search: _Search) -> dict[str, Any]:
        self.limiter.acquire(PROVIDER)
        response = client.post(
            GRAPHQL_PATH,
            json={
                "operationName": "EventSearch",
                "query": EVENT_SEARCH_QUERY,
                "variables": search.variables(self.page_size),
            },
        )
        return _event_search(response, now=self.clock())


# --- The answer: HTTP status, GraphQL errors, shape -----------------------------------------------------------


def _event_search(response: httpx.Response, *, now: float) -> dict[str, Any]:
    status = response.status_code
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    errors = _errors(body)
    if status in (401, 403):
        raise CredentialsRejectedError(f"Meetup refused the token ({status}): {_messages(errors)}", status_code=status)
    http_retry = status == 429 or status >= 500
    if http_retry or any(_code(e) in RATE_LIMIT_CODES for e in errors):
        # Retried with backoff; a Retry-After header, else the RATE_LIMITED error's resetAt, says how long to wait.
        hint = retry_hint(response, now=now)
        if hint is None:
            hint = _reset_in(errors, now=now)
        what = f"answered {status}" if http_retry else "is rate limiting us"
        raise RetryableError(f"Meetup {what}: {_messages(errors)}".rstrip(": "), retry_after=hint)
    if any(_code(e) in AUTH_CODES for e in errors):
        raise CredentialsRejectedError(f"Meetup refused the token: {_messages(errors)}", status_code=status)
    if status >= 400:
        raise MeetupError(f"Meetup answered {status}: {_messages(errors) or response.text[:200]}")
    if body is None:  # a truncated or garbled body: another try may get a whole one
        raise RetryableError(f"Meetup sent a body that is not JSON ({len(response.content)} bytes)")
    data = body.get("data") if isinstance(body, dict) else None
    connection = data.get("eventSearch") if isinstance(data, dict) else None
    if errors and not isinstance(connection, dict):
        raise MeetupError(f"Meetup answered with errors: {_messages(errors)}")
    if errors:  # partial data: keep what came, say what did not
        logger.warning("meetup_partial_errors", errors=_messages(errors))
    if not isinstance(connection, dict):
        raise MeetupError("Meetup sent an answer without data.eventSearch")
    return connection


def _errors(body: Any) -> list[dict[str, Any]]:
    errors = body.get("errors") if isinstance(body, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def _code(error: dict[str, Any]) -> str:
    extensions = error.get("extensions")
    code = extensions.get("code") if isinstance(extensions, dict) else None
    return str(code).upper() if code else ""


def _messages(errors: list[dict[str, Any]]) -> str:
    return "; ".join(f"{_code(e) or 'ERROR'}: {e.get('message', '')}" for e in errors)[:1000]


def _reset_in(errors: list[dict[str, Any]], *, now: float) -> float | None:
    """Seconds until the `resetAt` a RATE_LIMITED error carries, if it carries one."""
    for error in errors:
        extensions = error.get("extensions")
        reset_at = extensions.get("resetAt") if isinstance(extensions, dict) else None
        if isinstance(reset_at, str):
            try:
                moment = datetime.fromisoformat(reset_at)
            except ValueError:
                continue
            return max(0.0, aware(moment).timestamp() - now)
    return None


def _connection_parts(connection: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    edges, page_info = connection.get("edges"), connection.get("pageInfo")
    if not isinstance(edges, list) or not isinstance(page_info, dict):
        raise MeetupError("Meetup sent an eventSearch without edges or pageInfo")
    return edges, page_info


# --- One page, one event ------------------------------------------------------------------------------------


def _page_of(edges: list[Any], search: _Search) -> Page:
    page = Page()
    for edge in edges:
        node = edge.get("node") if isinstance(edge, dict) else None
        if not isinstance(node, dict):
            page.refuse(None, "edge without a node")
            continue
        provider_id = text(node.get("id")) or None
        status = text(node.get("status")).upper()
        if status in NOT_PUBLIC_STATUSES or text(node.get("eventType")).upper() == "ONLINE":
            continue  # not a public, in-person event: not for the catalogue
        try:
            item = _normalize(node)
        except BadItem as exc:
            page.refuse(provider_id, str(exc))
            continue
        if search.window_start <= item.start_utc < search.window_end:
            page.add(item, provider_id)
    return page


def _normalize(node: dict[str, Any]) -> NormalizedEvent:
    start_utc = instant(node.get("dateTime"))
    if start_utc is None:
        raise BadItem("missing start")
    group = mapping(node.get("group"))
    timezone = iana_zone(group.get("timezone"))
    price, currency, is_free = _fee(node.get("feeSettings"))
    photo = mapping(node.get("featuredEventPhoto"))
    return NormalizedEvent(
        provider_id=text(node.get("id")),
        title=text(node.get("title"))[:MAX_TITLE],
        start_utc=start_utc,
        end_utc=instant(node.get("endTime")),
        timezone=timezone,
        description=text(node.get("description")),
        category=_category(mapping(group.get("topicCategory")).get("urlkey")),
        price_min=price,
        price_max=price,
        currency=currency,
        is_free=is_free,
        url=url(node.get("eventUrl")),
        image_url=url(photo.get("highResUrl")) or url(photo.get("baseUrl")),
        status="cancelled" if text(node.get("status")).upper() in CANCELLED_STATUSES else "scheduled",
        venue=_venue(node.get("venues"), timezone),
    )


def _fee(raw: Any) -> tuple[Decimal | None, str, bool]:
    """Meetup events cost nothing unless the organiser set `feeSettings`; then `amount` is in currency units."""
    if not isinstance(raw, dict):
        return None, "", True
    try:
        amount = Decimal(str(raw["amount"]))
    except (KeyError, InvalidOperation):
        raise BadItem(f"unreadable fee {raw.get('amount')!r}") from None
    if not amount.is_finite():
        raise BadItem(f"unreadable fee {raw.get('amount')!r}")
    currency = text(raw.get("currency")).upper()
    return amount.quantize(Decimal("0.01")), currency if len(currency) == 3 else "", amount == 0


def _venue(raw: Any, timezone: str) -> NormalizedVenue | None:
    """The in-person venue of the event (a hybrid event lists an online one too)."""
    venues = [v for v in raw if isinstance(v, dict)] if isinstance(raw, list) else []
    physical = [v for v in venues if text(v.get("venueType")).lower() != "online"]
    if not physical:
        return None
    venue = physical[0]
    venue_id, name = text(venue.get("id")), text(venue.get("name"))
    lat, lon = number(venue.get("lat")), number(venue.get("lon"))
    if lat is None or lon is None or (lat == 0 and lon == 0):  # Meetup's "no location"
        lat = lon = None
    if venue_id:
        key = f"{PROVIDER}:{venue_id}"
    elif name and lat is not None and lon is not None:
        key = f"{PROVIDER}:{name.lower()[:120]}@{lat:.4f},{lon:.4f}"
    else:
        return None
    address = ", ".join(p for p in (text(venue.get("address")), text(venue.get("city"))) if p)
    return NormalizedVenue(
        key=key,
        name=(name or address or "Meetup venue")[:MAX_VENUE_NAME],
        address=address[:MAX_ADDRESS],
        lat=lat,
        lon=lon,
        timezone=timezone,
    )


def _category(urlkey: Any) -> str:
    words = frozenset(text(urlkey).lower().replace("_", "-").split("-"))
    for hints, slug in TOPIC_WORDS:
        if words & hints:
            return slug
    return ""
