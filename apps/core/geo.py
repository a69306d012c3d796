"""Geography: geocoding and travel times through Google Maps, with an offline estimate.

`geocode` turns an address into a point (Google Geocoding). `travel_times` fills an origins x destinations
matrix (Google Routes `computeRouteMatrix`), from the cache first. Without a key, when Google keeps failing,
or where Google finds no route, a travel time is estimated from the great-circle distance, so the planner
works offline and never blocks on Google. `cached_travel_time` never touches the network at all: conflict
checks call it while a person waits.
"""

import hashlib
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import httpx
import numpy as np
import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import models
from numpy.typing import NDArray

from apps.core.http import (
    CredentialsRejectedError,
    ProviderError,
    RetryableError,
    RetryPolicy,
    build_client,
    call_with_retries,
    check_response,
)

logger = structlog.get_logger(__name__)

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)

# Roads and paths are longer than the straight line; 1.3 is a common urban average.
DETOUR_FACTOR = 1.3

# Google allows caching geocodes for up to 30 days; "not found" is re-asked sooner in case the map changes.
GEOCODE_TTL = 30 * 24 * 3600
GEOCODE_NOT_FOUND_TTL = 24 * 3600
TRAVEL_TIME_TTL = 24 * 3600

# An interactive caller should not hang for minutes: few attempts, short backoff; a longer server-requested
# wait surfaces as RetryLaterError (geocode) or an estimate (travel_times).
RETRY_POLICY = RetryPolicy(attempts=3, base_delay=0.5, max_backoff=8.0, max_wait=60.0)

ROUTES_FIELD_MASK = "originIndex,destinationIndex,duration,distanceMeters,status,condition"
# computeRouteMatrix refuses requests with more elements (origins x destinations) than this.
MAX_MATRIX_ELEMENTS = 625
MAX_TRANSIT_MATRIX_ELEMENTS = 100

_NOT_FOUND = "not-found"  # cached marker: Google has no geocode / no route for this key
_COORDINATE_DECIMALS = 4  # ~11 m: two points this close share a cached travel time


class LatLon(NamedTuple):
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class GeocodeResult:
    location: LatLon
    formatted_address: str
    place_id: str


@dataclass(frozen=True, slots=True)
class TravelTime:
    seconds: int
    meters: int
    estimated: bool  # True when computed offline rather than answered by Google


class TravelMode(models.TextChoices):
    WALK = "walk", "Walking"
    BIKE = "bike", "Cycling"
    TRANSIT = "transit", "Public transport"
    DRIVE = "drive", "Driving"


_GOOGLE_TRAVEL_MODE = {
    TravelMode.WALK: "WALK",
    TravelMode.BIKE: "BICYCLE",
    TravelMode.TRANSIT: "TRANSIT",
    TravelMode.DRIVE: "DRIVE",
}

# Door-to-door averages: transit includes walking to the stop and waiting; driving is urban traffic.
SPEED_KMH = {
    TravelMode.WALK: 4.5,
    TravelMode.BIKE: 15.0,
    TravelMode.TRANSIT: 20.0,
    TravelMode.DRIVE: 30.0,
}


# --- Distances and the offline estimate ---------------------------------------------------------------


def haversine_km(a: LatLon, b: LatLon) -> float:
    """Great-circle distance between two points, in kilometres."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    d_lat = lat2 - lat1
    d_lon = math.radians(b.lon - a.lon)
    h = math.sin(d_lat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(d_lon / 2) ** 2
    # Rounding can push h a hair above 1 for antipodal points; asin would then fail.
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def estimate_travel_time(origin: LatLon, destination: LatLon, mode: TravelMode | str) -> TravelTime:
    """Offline travel time: great-circle distance x detour factor at the mode's average speed."""
    km = haversine_km(origin, destination) * DETOUR_FACTOR
    speed = SPEED_KMH[TravelMode(mode)]
    return TravelTime(seconds=round(km / speed * 3600), meters=round(km * 1000), estimated=True)


# --- Geocoding ---------------------------------------------------------------------------------------------


def normalise_address(address: str) -> str:
    """Case and spacing never change what an address means; the cache key ignores them."""
    return re.sub(r"\s+", " ", address).strip().casefold()


def geocode(address: str) -> GeocodeResult | None:
    """The best match for `address`, or None when Google finds nothing or no key is configured.

    Answers (found or not) are cached by normalised address. Raises `CredentialsRejectedError` when Google
    refuses the key, `RetryLaterError` when it asks for a long pause, `ProviderUnavailableError` when it
    keeps failing, and `ProviderError` for any other refusal; failures are never cached.
    """
    api_key: str = settings.GOOGLE_MAPS_API_KEY
    normalised = normalise_address(address)
    if not api_key or not normalised:
        return None
    cache_key = "geo:geocode:v1:" + hashlib.sha256(normalised.encode()).hexdigest()[:40]
    cached = _cache_get(cache_key)
    if cached is not None:
        return _decode_geocode(cached)

    query = re.sub(r"\s+", " ", address).strip()
    with build_client(base_url=settings.GOOGLE_MAPS_API_URL) as client:
        result = call_with_retries(
            lambda: _request_geocode(client, query, api_key), policy=RETRY_POLICY, name="google-geocoding"
        )
    if result is None:
        _cache_set(cache_key, _NOT_FOUND, GEOCODE_NOT_FOUND_TTL)
    else:
        _cache_set(cache_key, _encode_geocode(result), GEOCODE_TTL)
    return result


def _request_geocode(client: httpx.Client, address: str, api_key: str) -> GeocodeResult | None:
    response = check_response(client.get("/maps/api/geocode/json", params={"address": address, "key": api_key}))
    if response.status_code != 200:
        raise ProviderError(f"Google Geocoding answered HTTP {response.status_code}")
    payload = _json(response)
    if not isinstance(payload, dict):
        raise RetryableError("Google Geocoding answered an unexpected body")
    # Google reports quota and key problems in the body of an HTTP 200.
    status = payload.get("status")
    message = str(payload.get("error_message", ""))
    if status == "OK":
        return _parse_geocode(payload)
    if status == "ZERO_RESULTS":
        return None
    if status in ("OVER_QUERY_LIMIT", "UNKNOWN_ERROR"):
        raise RetryableError(f"Google Geocoding: {status}")
    if status in ("REQUEST_DENIED", "OVER_DAILY_LIMIT"):  # a bad key, a disabled API or no billing
        raise CredentialsRejectedError(f"Google Geocoding: {status} {message}".strip())
    raise ProviderError(f"Google Geocoding: {status} {message}".strip())


def _parse_geocode(payload: Mapping[str, Any]) -> GeocodeResult | None:
    results = payload.get("results")
    if not isinstance(results, list):
        raise RetryableError("Google Geocoding: OK without results")
    if not results:
        return None
    try:
        best = results[0]
        location = best["geometry"]["location"]
        return GeocodeResult(
            location=LatLon(float(location["lat"]), float(location["lng"])),
            formatted_address=str(best.get("formatted_address", "")),
            place_id=str(best.get("place_id", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RetryableError(f"Google Geocoding: malformed result ({exc!r})") from exc


def _encode_geocode(result: GeocodeResult) -> tuple[float, float, str, str]:
    # Plain values in the cache survive renames of our classes between deployments.
    return (result.location.lat, result.location.lon, result.formatted_address, result.place_id)


def _decode_geocode(value: object) -> GeocodeResult | None:
    if isinstance(value, tuple) and len(value) == 4:
        lat, lon, formatted_address, place_id = value
        return GeocodeResult(LatLon(lat, lon), formatted_address, place_id)
    return None


# --- Travel times ----------------------------------------------------------------------------------------

Route = tuple[int, int] | str  # (seconds, meters), or _NOT_FOUND when Google has no route


def travel_times(
    origins: Sequence[LatLon], destinations: Sequence[LatLon], mode: TravelMode | str
) -> list[list[TravelTime]]:
    """matrix[i][j]: the travel time from origins[i] to destinations[j].

    Cached pairs come from the cache; the rest from one or more Routes requests. Pairs Google could not
    answer (no key, failures after retries, ROUTE_NOT_FOUND) are estimated offline (`estimated=True`).
    """
    mode = TravelMode(mode)
    keys = {(i, j): _pair_key(o, d, mode) for i, o in enumerate(origins) for j, d in enumerate(destinations)}
    cached = _cache_get_many(list(keys.values()))
    routes: dict[tuple[int, int], Route] = {pair: cached[key] for pair, key in keys.items() if key in cached}

    missing = [pair for pair in keys if pair not in routes]
    api_key: str = settings.GOOGLE_MAPS_API_KEY
    if missing and api_key:
        fetched = _fetch_routes(origins, destinations, missing, mode, api_key)
        _cache_set_many({keys[pair]: route for pair, route in fetched.items()}, TRAVEL_TIME_TTL)
        routes.update(fetched)

    return [
        [_travel_time(routes.get((i, j)), o, d, mode) for j, d in enumerate(destinations)]
        for i, o in enumerate(origins)
    ]


def cached_travel_time(origin: LatLon, destination: LatLon, mode: TravelMode | str) -> TravelTime:
    """The cached Google travel time, else the offline estimate; never waits on Google."""
    mode = TravelMode(mode)
    return _travel_time(_cache_get(_pair_key(origin, destination, mode)), origin, destination, mode)


def cached_travel_times(pairs: Sequence[tuple[LatLon, LatLon]], mode: TravelMode | str) -> list[TravelTime]:
    """`cached_travel_time` for many pairs with one cache read; never waits on Google."""
    mode = TravelMode(mode)
    keys = [_pair_key(origin, destination, mode) for origin, destination in pairs]
    cached = _cache_get_many(sorted(set(keys)))
    return [_travel_time(cached.get(key), *pair, mode) for key, pair in zip(keys, pairs, strict=True)]


def estimate_minutes_matrix(points: Sequence[LatLon], mode: TravelMode | str) -> NDArray[np.float64]:
    """matrix[i][j]: the offline estimate from points[i] to points[j] in minutes (`estimate_travel_time`'s
    model for every pair at once, for planners that weigh thousands of places)."""
    lat = np.radians(np.fromiter((p.lat for p in points), dtype=np.float64, count=len(points)))
    lon = np.radians(np.fromiter((p.lon for p in points), dtype=np.float64, count=len(points)))
    h = (
        np.sin((lat[None, :] - lat[:, None]) / 2) ** 2
        + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin((lon[None, :] - lon[:, None]) / 2) ** 2
    )
    km = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(h, 1.0))) * DETOUR_FACTOR
    minutes: NDArray[np.float64] = np.round(km / SPEED_KMH[TravelMode(mode)] * 3600) / 60
    return minutes


def _travel_time(route: object, origin: LatLon, destination: LatLon, mode: TravelMode) -> TravelTime:
    if isinstance(route, tuple) and len(route) == 2:
        return TravelTime(seconds=int(route[0]), meters=int(route[1]), estimated=False)
    return estimate_travel_time(origin, destination, mode)


def _pair_key(origin: LatLon, destination: LatLon, mode: TravelMode) -> str:
    def point(p: LatLon) -> str:
        # + 0.0 turns -0.0 into 0.0, so both sides of the equator's rounding share a key.
        return f"{round(p.lat, _COORDINATE_DECIMALS) + 0.0:.4f},{round(p.lon, _COORDINATE_DECIMALS) + 0.0:.4f}"

    return f"geo:tt:v1:{mode.value}:{point(origin)}:{point(destination)}"


def _fetch_routes(
    origins: Sequence[LatLon],
    destinations: Sequence[LatLon],
    missing: list[tuple[int, int]],
    mode: TravelMode,
    api_key: str,
) -> dict[tuple[int, int], Route]:
    """Ask Routes for the missing pairs, in chunks within its element limit; stops at the first failure."""
    origin_ids = sorted({i for i, _ in missing})
    destination_ids = sorted({j for _, j in missing})
    limit = MAX_TRANSIT_MATRIX_ELEMENTS if mode == TravelMode.TRANSIT else MAX_MATRIX_ELEMENTS
    headers = {"X-Goog-Api-Key": api_key, "X-Goog-FieldMask": ROUTES_FIELD_MASK}
    fetched: dict[tuple[int, int], Route] = {}
    with build_client(base_url=settings.GOOGLE_ROUTES_API_URL, headers=headers) as client:
        for chunk_origins, chunk_destinations in _chunks(origin_ids, destination_ids, limit):
            body = _matrix_body(
                [origins[i] for i in chunk_origins], [destinations[j] for j in chunk_destinations], mode
            )
            try:
                answered = call_with_retries(
                    partial(_request_matrix, client, body), policy=RETRY_POLICY, name="google-routes"
                )
            except ProviderError as exc:
                # Travel times must always come back; the estimate stands in until Google recovers.
                log = logger.error if isinstance(exc, CredentialsRejectedError) else logger.warning
                log("travel_times_fallback", error=str(exc), error_type=type(exc).__name__)
                break
            for (oi, di), route in answered.items():
                if 0 <= oi < len(chunk_origins) and 0 <= di < len(chunk_destinations):
                    fetched[(chunk_origins[oi], chunk_destinations[di])] = route
    return fetched


def _chunks(origin_ids: list[int], destination_ids: list[int], limit: int) -> Iterator[tuple[list[int], list[int]]]:
    per_destinations = min(len(destination_ids), limit)
    per_origins = max(1, limit // per_destinations)
    for o in range(0, len(origin_ids), per_origins):
        for d in range(0, len(destination_ids), per_destinations):
            yield origin_ids[o : o + per_origins], destination_ids[d : d + per_destinations]


def _matrix_body(origins: list[LatLon], destinations: list[LatLon], mode: TravelMode) -> dict[str, Any]:
    def waypoint(p: LatLon) -> dict[str, Any]:
        return {"waypoint": {"location": {"latLng": {"latitude": p.lat, "longitude": p.lon}}}}

    body: dict[str, Any] = {
        "origins": [waypoint(p) for p in origins],
        "destinations": [waypoint(p) for p in destinations],
        "travelMode": _GOOGLE_TRAVEL_MODE[mode],
    }
    if mode == TravelMode.DRIVE:
        # Traffic-unaware durations do not depend on the departure time, so caching them for a day is
        # sound; it is also the cheaper Routes SKU. Google rejects routingPreference for other modes.
        body["routingPreference"] = "TRAFFIC_UNAWARE"
    return body


def _request_matrix(client: httpx.Client, body: dict[str, Any]) -> dict[tuple[int, int], Route]:
    response = check_response(client.post("/distanceMatrix/v2:computeRouteMatrix", json=body))
    if response.status_code != 200:
        # An invalid key is a 400 INVALID_ARGUMENT on Google's newer APIs, not a 401/403.
        if response.status_code == 400 and "API_KEY_INVALID" in response.text:
            raise CredentialsRejectedError("Google Routes: API key not valid", status_code=400)
        raise ProviderError(f"Google Routes answered HTTP {response.status_code}")
    elements = _json(response)
    if not isinstance(elements, list):
        raise RetryableError("Google Routes answered an unexpected body")
    routes: dict[tuple[int, int], Route] = {}
    for element in elements:
        parsed = _parse_element(element)
        if parsed is not None:
            routes[parsed[0]] = parsed[1]
    return routes


def _parse_element(element: object) -> tuple[tuple[int, int], Route] | None:
    """One matrix element; None when it carries an error of its own (that pair is estimated, not cached)."""
    if not isinstance(element, dict):
        raise RetryableError("Google Routes: malformed element")
    # proto3 JSON leaves out zero values: a missing index is 0, a missing distance is 0 m.
    try:
        pair = (int(element.get("originIndex", 0)), int(element.get("destinationIndex", 0)))
        status = element.get("status") or {}
        if isinstance(status, dict) and status.get("code", 0) not in (0, None):
            return None
        condition = element.get("condition")
        if condition == "ROUTE_NOT_FOUND":
            return pair, _NOT_FOUND
        if condition != "ROUTE_EXISTS":
            return None
        seconds = round(float(str(element.get("duration", "0s")).removesuffix("s")))
        return pair, (seconds, int(element.get("distanceMeters", 0)))
    except (TypeError, ValueError) as exc:
        raise RetryableError(f"Google Routes: malformed element ({exc!r})") from exc


# --- Shared plumbing -----------------------------------------------------------------------------------


def _json(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError as exc:
        # A truncated or garbled body is usually a hiccup between us and Google; another try may succeed.
        raise RetryableError("malformed JSON from Google") from exc


# The cache only saves Google calls: when Redis is down, carry on without it (as the throttles do).


def _cache_get(key: str) -> object:
    try:
        return cache.get(key)
    except Exception as exc:  # noqa: BLE001 - a cache outage must not break geography
        logger.warning("geo_cache_unavailable", error=type(exc).__name__)
        return None


def _cache_get_many(keys: list[str]) -> dict[str, Route]:
    if not keys:
        return {}
    try:
        return cache.get_many(keys)
    except Exception as exc:  # noqa: BLE001
        logger.warning("geo_cache_unavailable", error=type(exc).__name__)
        return {}


def _cache_set(key: str, value: object, timeout: int) -> None:
    try:
        cache.set(key, value, timeout)
    except Exception as exc:  # noqa: BLE001
        logger.warning("geo_cache_unavailable", error=type(exc).__name__)


def _cache_set_many(values: dict[str, Route], timeout: int) -> None:
    if not values:
        return
    try:
        cache.set_many(values, timeout)
    except Exception as exc:  # noqa: BLE001
        logger.warning("geo_cache_unavailable", error=type(exc).__name__)
