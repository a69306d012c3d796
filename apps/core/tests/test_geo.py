"""Geography: geocoding and travel times against a fake Google at the network boundary, and the estimate.

The fake answers in Google's documented shapes (Geocoding JSON; Routes computeRouteMatrix element arrays),
including its failures. Results are cached in the suite's real Redis, cleared between tests.
"""

import dataclasses
import json
import logging
import math
from functools import partial
from urllib.parse import parse_qs

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.core import geo
from apps.core.geo import (
    GeocodeResult,
    LatLon,
    TravelMode,
    TravelTime,
    cached_travel_time,
    estimate_travel_time,
    geocode,
    haversine_km,
    travel_times,
)
from apps.core.http import (
    CredentialsRejectedError,
    ProviderError,
    ProviderUnavailableError,
    RetryLaterError,
    build_client,
)

KULTURBRAUEREI = LatLon(52.5390, 13.4133)
BERGHAIN = LatLon(52.5112, 13.4432)
TEMPELHOF = LatLon(52.4733, 13.4039)
PARIS = LatLon(48.8566, 2.3522)

GEOCODE_PATH = "/maps/api/geocode/json"
MATRIX_PATH = "/distanceMatrix/v2:computeRouteMatrix"


def geocode_ok(lat: float = 52.5390, lng: float = 13.4133) -> httpx.Response:
    """Google Geocoding's documented response, trimmed to one result."""
    return httpx.Response(
        200,
        json={
            "results": [
                {
                    "address_components": [
                        {"long_name": "36", "short_name": "36", "types": ["street_number"]},
                        {"long_name": "Schönhauser Allee", "short_name": "Schönhauser Allee", "types": ["route"]},
                        {"long_name": "Berlin", "short_name": "Berlin", "types": ["locality", "political"]},
                        {"long_name": "Germany", "short_name": "DE", "types": ["country", "political"]},
                    ],
                    "formatted_address": "Schönhauser Allee 36, 10435 Berlin, Germany",
                    "geometry": {
                        "location": {"lat": lat, "lng": lng},
                        "location_type": "ROOFTOP",
                        "viewport": {
                            "northeast": {"lat": lat + 0.001, "lng": lng + 0.001},
                            "southwest": {"lat": lat - 0.001, "lng": lng - 0.001},
                        },
                    },
                    "place_id": "ChIJ2xbXfvdRqEcR4z4a1mOl1Xs",
                    "plus_code": {"compound_code": "G9QV+J8 Berlin, Germany", "global_code": "9F4MG9QV+J8"},
                    "types": ["street_address"],
                }
            ],
            "status": "OK",
        },
    )


def geocode_status(status: str, error_message: str | None = None) -> httpx.Response:
    """Google Geocoding's in-body failures: always HTTP 200."""
    body: dict[str, object] = {"results": [], "status": status}
    if error_message:
        body["error_message"] = error_message
    return httpx.Response(200, json=body)


def matrix_ok(*elements: dict[str, object]) -> httpx.Response:
    return httpx.Response(200, json=list(elements))


def element(
    origin: int, destination: int, *, seconds: int = 600, meters: int = 2500, condition: str = "ROUTE_EXISTS"
) -> dict[str, object]:
    """One computeRouteMatrix element; like Google's proto3 JSON, zero values are left out."""
    item: dict[str, object] = {"status": {}, "condition": condition}
    if origin:
        item["originIndex"] = origin
    if destination:
        item["destinationIndex"] = destination
    if condition == "ROUTE_EXISTS":
        item["duration"] = f"{seconds}s"
        if meters:
            item["distanceMeters"] = meters
    return item


def google_error(code: int, status: str, message: str, reason: str | None = None) -> httpx.Response:
    """The error body of Google's newer APIs (Routes)."""
    error: dict[str, object] = {"code": code, "message": message, "status": status}
    if reason:
        error["details"] = [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com"}
        ]
    return httpx.Response(code, json={"error": error})


class FakeGoogle:
    """Answers queued responses per endpoint; an unqueued request fails the test."""

    def __init__(self) -> None:
        self.geocoding: list[httpx.Response | Exception] = []
        self.routes: list[httpx.Response | Exception] = []
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "GET" and request.url.path == GEOCODE_PATH:
            queue = self.geocoding
        elif request.method == "POST" and request.url.path == MATRIX_PATH:
            queue = self.routes
        else:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        if not queue:
            raise AssertionError(f"no answer queued for {request.method} {request.url.path}")
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def bodies(self) -> list[dict[str, object]]:
        return [json.loads(request.content) for request in self.requests]


@pytest.fixture
def google(monkeypatch, settings) -> FakeGoogle:
    fake = FakeGoogle()
    settings.GOOGLE_MAPS_API_KEY = "test-maps-key"
    monkeypatch.setattr(geo, "build_client", partial(build_client, transport=httpx.MockTransport(fake)))
    monkeypatch.setattr(geo, "RETRY_POLICY", dataclasses.replace(geo.RETRY_POLICY, sleep=fake.sleeps.append))
    return fake


@pytest.fixture
def no_key(google, settings) -> FakeGoogle:
    settings.GOOGLE_MAPS_API_KEY = ""
    return google


# --- Geocoding --------------------------------------------------------------------------------------------


def test_geocode_asks_google_and_reads_its_answer(google):
    google.geocoding.append(geocode_ok())

    result = geocode("Schönhauser Allee 36, Berlin")

    assert result == GeocodeResult(
        location=LatLon(52.5390, 13.4133),
        formatted_address="Schönhauser Allee 36, 10435 Berlin, Germany",
        place_id="ChIJ2xbXfvdRqEcR4z4a1mOl1Xs",
    )
    (request,) = google.requests
    assert request.method == "GET"
    assert (request.url.scheme, request.url.host, request.url.path) == ("https", "maps.googleapis.com", GEOCODE_PATH)
    assert parse_qs(request.url.query.decode()) == {
        "address": ["Schönhauser Allee 36, Berlin"],
        "key": ["test-maps-key"],
    }


def test_geocode_is_cached_by_normalised_address(google):
    google.geocoding.append(geocode_ok())
    first = geocode("Schönhauser Allee 36, Berlin")

    again = geocode("  schönhauser   ALLEE 36,  berlin ")

    assert again == first
    assert len(google.requests) == 1


def test_geocode_zero_results_is_none_and_cached(google):
    google.geocoding.append(geocode_status("ZERO_RESULTS"))
    assert geocode("Nowhere Street 999, Atlantis") is None
    assert geocode("Nowhere Street 999, Atlantis") is None
    assert len(google.requests) == 1


def test_geocode_without_a_key_makes_no_request(no_key):
    assert geocode("Schönhauser Allee 36, Berlin") is None
    assert no_key.requests == []


def test_geocode_of_a_blank_address_makes_no_request(google):
    assert geocode("   ") is None
    assert google.requests == []


def test_geocode_uses_the_configured_url(google, settings):
    settings.GOOGLE_MAPS_API_URL = "http://127.0.0.1:8765"
    google.geocoding.append(geocode_ok())
    geocode("Schönhauser Allee 36, Berlin")
    assert str(google.requests[0].url).startswith(f"http://127.0.0.1:8765{GEOCODE_PATH}?")


@pytest.mark.parametrize("status", ["OVER_QUERY_LIMIT", "UNKNOWN_ERROR"])
def test_geocode_retries_google_in_body_transient_statuses(google, status):
    google.geocoding += [geocode_status(status, "You have exceeded your rate-limit for this API."), geocode_ok()]
    assert geocode("Schönhauser Allee 36, Berlin") is not None
    assert len(google.requests) == 2
    assert len(google.sleeps) == 1


def test_geocode_over_query_limit_until_retries_run_out_is_unavailable_and_not_cached(google):
    google.geocoding += [geocode_status("OVER_QUERY_LIMIT")] * geo.RETRY_POLICY.attempts
    with pytest.raises(ProviderUnavailableError):
        geocode("Schönhauser Allee 36, Berlin")
    assert len(google.requests) == geo.RETRY_POLICY.attempts

    google.geocoding.append(geocode_ok())
    assert geocode("Schönhauser Allee 36, Berlin") is not None  # the failure was not cached


def test_geocode_request_denied_is_rejected_credentials_without_retry(google):
    google.geocoding.append(geocode_status("REQUEST_DENIED", "The provided API key is invalid. "))
    with pytest.raises(CredentialsRejectedError, match="API key is invalid"):
        geocode("Schönhauser Allee 36, Berlin")
    assert len(google.requests) == 1
    assert google.sleeps == []


def test_geocode_invalid_request_is_an_error_without_retry(google):
    google.geocoding.append(geocode_status("INVALID_REQUEST", "Invalid request. Missing the 'address' parameter."))
    with pytest.raises(ProviderError, match="INVALID_REQUEST"):
        geocode("Schönhauser Allee 36, Berlin")
    assert len(google.requests) == 1


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(429, headers={"Retry-After": "2"}, text="Too Many Requests"),
        httpx.Response(500, text="<html><title>Error 500 (Server Error)!!1</title></html>"),
        httpx.Response(503, text="Service Unavailable"),
        httpx.ReadTimeout("The read operation timed out"),
        httpx.Response(200, text='{"results": [{"formatted_address": "Schönh'),  # truncated body
    ],
    ids=["429", "500", "503", "timeout", "malformed-json"],
)
def test_geocode_recovers_from_one_failure(google, failure):
    google.geocoding += [failure, geocode_ok()]
    assert geocode("Schönhauser Allee 36, Berlin") is not None
    assert len(google.requests) == 2
    assert len(google.sleeps) == 1


def test_geocode_429_waits_as_google_asks(google):
    google.geocoding += [httpx.Response(429, headers={"Retry-After": "2"}), geocode_ok()]
    geocode("Schönhauser Allee 36, Berlin")
    assert google.sleeps == [2.0]


def test_geocode_malformed_json_every_time_is_unavailable(google):
    google.geocoding += [httpx.Response(200, text="<!DOCTYPE html><p>proxy error</p>")] * geo.RETRY_POLICY.attempts
    with pytest.raises(ProviderUnavailableError):
        geocode("Schönhauser Allee 36, Berlin")


def test_geocode_retry_after_beyond_max_wait_asks_the_caller_to_come_back(google):
    google.geocoding.append(httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(RetryLaterError) as caught:
        geocode("Schönhauser Allee 36, Berlin")
    assert caught.value.retry_after_seconds == 3600
    assert len(google.requests) == 1
    assert google.sleeps == []


def test_geocode_401_is_not_retried(google):
    google.geocoding.append(httpx.Response(401, text="Unauthorized"))
    with pytest.raises(CredentialsRejectedError):
        geocode("Schönhauser Allee 36, Berlin")
    assert len(google.requests) == 1


# --- Travel times ---------------------------------------------------------------------------------------


def test_travel_times_reads_elements_in_any_order(google):
    google.routes.append(
        matrix_ok(
            element(1, 1, seconds=1500, meters=5200),
            element(0, 1, seconds=1320, meters=4400),
            element(1, 0, seconds=900, meters=3100),
            element(0, 0, seconds=0, meters=0),  # same place: Google omits both indices and the distance
        )
    )

    matrix = travel_times([KULTURBRAUEREI, BERGHAIN], [KULTURBRAUEREI, TEMPELHOF], "bike")

    assert matrix == [
        [TravelTime(0, 0, estimated=False), TravelTime(1320, 4400, estimated=False)],
        [TravelTime(900, 3100, estimated=False), TravelTime(1500, 5200, estimated=False)],
    ]


def test_travel_times_sends_google_the_documented_request(google):
    google.routes.append(matrix_ok(element(0, 0)))

    travel_times([KULTURBRAUEREI], [BERGHAIN], TravelMode.WALK)

    (request,) = google.requests
    assert request.method == "POST"
    assert (request.url.host, request.url.path) == ("routes.googleapis.com", MATRIX_PATH)
    assert request.headers["X-Goog-Api-Key"] == "test-maps-key"
    assert (
        request.headers["X-Goog-FieldMask"] == "originIndex,destinationIndex,duration,distanceMeters,status,condition"
    )
    assert request.headers["Content-Type"] == "application/json"
    assert "key" not in request.url.params
    assert json.loads(request.content) == {
        "origins": [{"waypoint": {"location": {"latLng": {"latitude": 52.539, "longitude": 13.4133}}}}],
        "destinations": [{"waypoint": {"location": {"latLng": {"latitude": 52.5112, "longitude": 13.4432}}}}],
        "travelMode": "WALK",
    }


@pytest.mark.parametrize(
    ("mode", "travel_mode", "routing_preference"),
    [
        ("walk", "WALK", None),
        ("bike", "BICYCLE", None),
        ("transit", "TRANSIT", None),
        ("drive", "DRIVE", "TRAFFIC_UNAWARE"),
    ],
)
def test_travel_modes_map_to_google_and_only_drive_has_a_routing_preference(
    google, mode, travel_mode, routing_preference
):
    google.routes.append(matrix_ok(element(0, 0)))
    travel_times([KULTURBRAUEREI], [BERGHAIN], mode)
    (body,) = google.bodies()
    assert body["travelMode"] == travel_mode
    assert body.get("routingPreference") == routing_preference


def test_travel_times_uses_the_configured_url(google, settings):
    settings.GOOGLE_ROUTES_API_URL = "http://127.0.0.1:8766"
    google.routes.append(matrix_ok(element(0, 0)))
    travel_times([KULTURBRAUEREI], [BERGHAIN], "walk")
    assert str(google.requests[0].url) == f"http://127.0.0.1:8766{MATRIX_PATH}"


def test_travel_times_are_cached_per_pair_and_mode(google):
    google.routes.append(matrix_ok(element(0, 0, seconds=840, meters=3500)))
    first = travel_times([KULTURBRAUEREI], [BERGHAIN], "bike")

    again = travel_times([LatLon(52.53901, 13.41331)], [BERGHAIN], "bike")  # within the rounding

    assert again == first == [[TravelTime(840, 3500, estimated=False)]]
    assert len(google.requests) == 1

    google.routes.append(matrix_ok(element(0, 0, seconds=2400, meters=3400)))
    assert travel_times([KULTURBRAUEREI], [BERGHAIN], "walk")[0][0].seconds == 2400  # another mode, another key
    assert len(google.requests) == 2


def test_travel_times_asks_only_for_the_pairs_it_has_not_cached(google):
    google.routes.append(matrix_ok(element(0, 0, seconds=840, meters=3500)))
    travel_times([KULTURBRAUEREI], [BERGHAIN], "bike")

    google.routes.append(matrix_ok(element(0, 0, seconds=1200, meters=4800)))
    matrix = travel_times([KULTURBRAUEREI], [BERGHAIN, TEMPELHOF], "bike")

    assert matrix == [[TravelTime(840, 3500, estimated=False), TravelTime(1200, 4800, estimated=False)]]
    second = google.bodies()[1]
    assert second["origins"] == [{"waypoint": {"location": {"latLng": {"latitude": 52.539, "longitude": 13.4133}}}}]
    assert second["destinations"] == [
        {"waypoint": {"location": {"latLng": {"latitude": 52.4733, "longitude": 13.4039}}}}
    ]


def test_route_not_found_is_estimated_and_not_asked_again(google):
    google.routes.append(matrix_ok(element(0, 0, condition="ROUTE_NOT_FOUND")))

    (row,) = travel_times([KULTURBRAUEREI], [PARIS], "walk")
    assert row == [estimate_travel_time(KULTURBRAUEREI, PARIS, "walk")]
    assert row[0].estimated

    assert travel_times([KULTURBRAUEREI], [PARIS], "walk") == [row]
    assert len(google.requests) == 1


def test_an_element_with_its_own_error_is_estimated(google):
    failed = {"originIndex": 1, "status": {"code": 3, "message": "Invalid waypoint."}}
    google.routes.append(matrix_ok(element(0, 0, seconds=700, meters=2800), failed))

    matrix = travel_times([KULTURBRAUEREI, BERGHAIN], [TEMPELHOF], "bike")

    assert matrix[0][0] == TravelTime(700, 2800, estimated=False)
    assert matrix[1][0] == estimate_travel_time(BERGHAIN, TEMPELHOF, "bike")


def test_a_pair_google_leaves_out_is_estimated(google):
    google.routes.append(matrix_ok(element(0, 0)))
    matrix = travel_times([KULTURBRAUEREI, BERGHAIN], [TEMPELHOF], "walk")
    assert not matrix[0][0].estimated
    assert matrix[1][0].estimated


def test_travel_times_without_a_key_are_estimated_without_a_request(no_key):
    matrix = travel_times([KULTURBRAUEREI, BERGHAIN], [TEMPELHOF], "transit")
    assert matrix == [
        [estimate_travel_time(KULTURBRAUEREI, TEMPELHOF, "transit")],
        [estimate_travel_time(BERGHAIN, TEMPELHOF, "transit")],
    ]
    assert all(cell.estimated for row in matrix for cell in row)
    assert no_key.requests == []


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(429, headers={"Retry-After": "1"}),
        httpx.Response(500, json={"error": {"code": 500, "message": "Internal error.", "status": "INTERNAL"}}),
        httpx.ConnectTimeout("timed out"),
        httpx.Response(200, text='[{"originIndex": 0, "dur'),
    ],
    ids=["429", "500", "timeout", "malformed-json"],
)
def test_travel_times_recover_from_one_failure(google, failure):
    google.routes += [failure, matrix_ok(element(0, 0, seconds=777, meters=3000))]
    assert travel_times([KULTURBRAUEREI], [BERGHAIN], "drive") == [[TravelTime(777, 3000, estimated=False)]]
    assert len(google.requests) == 2


def test_travel_times_fall_back_to_the_estimate_when_google_keeps_failing_and_do_not_cache_it(google):
    google.routes += [httpx.Response(503, text="Service Unavailable")] * geo.RETRY_POLICY.attempts

    matrix = travel_times([KULTURBRAUEREI], [BERGHAIN], "drive")

    assert matrix == [[estimate_travel_time(KULTURBRAUEREI, BERGHAIN, "drive")]]
    assert len(google.requests) == geo.RETRY_POLICY.attempts
    google.routes.append(matrix_ok(element(0, 0, seconds=480, meters=4100)))
    assert travel_times([KULTURBRAUEREI], [BERGHAIN], "drive") == [[TravelTime(480, 4100, estimated=False)]]


def test_travel_times_fall_back_at_once_when_google_asks_for_a_long_pause(google):
    google.routes.append(google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", reason="RATE_LIMIT_EXCEEDED"))
    google.routes[0].headers["Retry-After"] = "600"
    matrix = travel_times([KULTURBRAUEREI], [BERGHAIN], "walk")
    assert matrix[0][0].estimated
    assert len(google.requests) == 1
    assert google.sleeps == []


@pytest.mark.parametrize(
    "rejection",
    [
        google_error(403, "PERMISSION_DENIED", "Routes API has not been used in project 1 before or it is disabled."),
        google_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", "API_KEY_INVALID"),
    ],
    ids=["403", "400-invalid-key"],
)
def test_travel_times_with_a_rejected_key_are_estimated_without_retry(google, rejection):
    google.routes.append(rejection)
    matrix = travel_times([KULTURBRAUEREI], [BERGHAIN], "walk")
    assert matrix[0][0].estimated
    assert len(google.requests) == 1


def test_transit_matrices_are_split_to_stay_within_googles_element_limit(google):
    origins = [LatLon(52.50 + i / 100, 13.40) for i in range(12)]
    destinations = [LatLon(52.50, 13.30 + j / 100) for j in range(10)]
    # 12 x 10 = 120 elements; TRANSIT allows 100 per request: 10 origins, then 2.
    google.routes.append(matrix_ok(*[element(i, j, seconds=60 * (i + j + 1)) for i in range(10) for j in range(10)]))
    google.routes.append(
        matrix_ok(*[element(i, j, seconds=60 * (i + 10 + j + 1)) for i in range(2) for j in range(10)])
    )

    matrix = travel_times(origins, destinations, "transit")

    sizes = [(len(body["origins"]), len(body["destinations"])) for body in google.bodies()]
    assert sizes == [(10, 10), (2, 10)]
    assert all(not cell.estimated for row in matrix for cell in row)
    assert matrix[11][9].seconds == 60 * (11 + 9 + 1)


def test_empty_matrices_need_no_request(google):
    assert travel_times([], [BERGHAIN], "walk") == []
    assert travel_times([KULTURBRAUEREI], [], "walk") == [[]]
    assert google.requests == []


def test_an_unknown_mode_is_refused(google):
    with pytest.raises(ValueError, match="teleport"):
        travel_times([KULTURBRAUEREI], [BERGHAIN], "teleport")


# --- Cached travel time (never the network) --------------------------------------------------------------


def test_cached_travel_time_returns_what_google_said_without_a_request(google):
    google.routes.append(matrix_ok(element(0, 0, seconds=840, meters=3500)))
    travel_times([KULTURBRAUEREI], [BERGHAIN], "bike")

    assert cached_travel_time(KULTURBRAUEREI, BERGHAIN, "bike") == TravelTime(840, 3500, estimated=False)
    assert len(google.requests) == 1


def test_cached_travel_time_estimates_when_nothing_is_cached_even_with_a_key(google):
    assert cached_travel_time(KULTURBRAUEREI, BERGHAIN, "walk") == estimate_travel_time(
        KULTURBRAUEREI, BERGHAIN, "walk"
    )
    assert google.requests == []


def test_cached_travel_time_estimates_a_route_google_could_not_find(google):
    google.routes.append(matrix_ok(element(0, 0, condition="ROUTE_NOT_FOUND")))
    travel_times([KULTURBRAUEREI], [PARIS], "bike")
    assert cached_travel_time(KULTURBRAUEREI, PARIS, "bike").estimated


# --- The estimate and haversine -------------------------------------------------------------------------


def test_estimate_uses_the_detour_factor_and_the_modes_speed():
    one_km_north = LatLon(52.5, 13.4)
    start = LatLon(52.5 - 1 / 111.195, 13.4)  # one degree of latitude is ~111.195 km
    walk = estimate_travel_time(start, one_km_north, "walk")
    assert walk.estimated
    assert walk.meters == pytest.approx(1300, abs=2)
    assert walk.seconds == pytest.approx(1.3 / 4.5 * 3600, abs=2)  # ~17 minutes
    speeds = {mode: estimate_travel_time(start, one_km_north, mode).seconds for mode in TravelMode}
    assert speeds[TravelMode.WALK] > speeds[TravelMode.BIKE] > speeds[TravelMode.TRANSIT] > speeds[TravelMode.DRIVE]


def test_estimate_for_the_same_place_is_zero():
    assert estimate_travel_time(BERGHAIN, BERGHAIN, "drive") == TravelTime(0, 0, estimated=True)


def test_haversine_known_distance():
    assert haversine_km(KULTURBRAUEREI, PARIS) == pytest.approx(878, rel=0.01)


latitudes = st.floats(min_value=-90, max_value=90, allow_nan=False)
longitudes = st.floats(min_value=-180, max_value=180, allow_nan=False)
points = st.builds(LatLon, latitudes, longitudes)
HALF_CIRCUMFERENCE_KM = math.pi * geo.EARTH_RADIUS_KM


@given(points, points)
def test_haversine_is_symmetric_and_bounded(a, b):
    distance = haversine_km(a, b)
    assert 0.0 <= distance <= HALF_CIRCUMFERENCE_KM + 1e-6
    assert distance == pytest.approx(haversine_km(b, a), abs=1e-6)


@given(points)
def test_haversine_of_a_point_to_itself_is_zero(a):
    assert haversine_km(a, a) == 0.0


@given(points, points, points)
def test_haversine_obeys_the_triangle_inequality(a, b, c):
    assert haversine_km(a, c) <= haversine_km(a, b) + haversine_km(b, c) + 1e-6


def test_the_key_never_reaches_the_log(google, caplog):
    # Geocoding takes the key in the query string, which httpx would log with every request at INFO.
    google.geocoding += [httpx.Response(500), geocode_ok()]
    google.routes += [httpx.Response(403, text="denied")]
    with caplog.at_level(logging.DEBUG):
        geocode("Schönhauser Allee 36, Berlin")
        travel_times([KULTURBRAUEREI], [BERGHAIN], "walk")
    assert caplog.records  # the retry and the fallback were logged
    assert "test-maps-key" not in caplog.text
