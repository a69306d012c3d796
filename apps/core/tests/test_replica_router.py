"""The replica router's decisions, in-process (test_replica_streaming shows them on a real streaming replica).

The suite runs without a replica, so these tests say "a replica is configured" and hand the router a health
verdict; what they check is the router's answer and the middleware's memory of who wrote, in the real cache.
"""

import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.cache import cache
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from apps.core import db_router, replica_health
from apps.core.db_router import (
    STICKY_COOKIE,
    ReadYourWritesMiddleware,
    ReplicaRouter,
    replica_reads,
    sticky_key,
    writes_nothing_read_back,
)
from apps.core.health import replica_report
from apps.core.replica_health import ReplicaHealth, judge

router = ReplicaRouter()
OK = ReplicaHealth("ok", 0.0)


@pytest.fixture
def verdict(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[ReplicaHealth]]:
    """A configured replica whose health is verdict[0]."""
    current = [OK]
    monkeypatch.setattr(db_router, "replica_configured", lambda: True)
    monkeypatch.setattr(replica_health, "replica_health", lambda: current[0])
    yield current
    replica_health.forget()


def read() -> str | None:
    return router.db_for_read(HttpRequest)  # type: ignore[arg-type]  # the model plays no part in the decision


def in_request(request: HttpRequest, handler: Any) -> HttpResponse:
    """Runs handler() as the view of `request`, behind the middleware."""
    return ReadYourWritesMiddleware(lambda _request: handler())(request)


def test_reads_outside_a_block_and_writes_always_go_to_the_primary(verdict: list[ReplicaHealth]) -> None:
    assert read() is None  # Django's default: the primary
    with replica_reads():
        assert router.db_for_write(HttpRequest) == "default"  # type: ignore[arg-type]
    assert router.db_for_write(HttpRequest) == "default"  # type: ignore[arg-type]


def test_a_block_reads_the_healthy_replica_until_it_writes(verdict: list[ReplicaHealth]) -> None:
    with replica_reads():
        assert read() == "replica"
        assert read() == "replica"
        router.db_for_write(HttpRequest)  # type: ignore[arg-type]
        assert read() == "default"  # what it wrote is only on the primary
    with replica_reads():
        assert read() == "replica"  # the next block decides afresh


@pytest.mark.parametrize("health", [ReplicaHealth("down", None, "unreachable"), ReplicaHealth("lagging", 45.0)])
def test_a_replica_down_or_lagging_leaves_the_reads_on_the_primary(
    verdict: list[ReplicaHealth], health: ReplicaHealth
) -> None:
    verdict[0] = health
    with replica_reads():
        assert read() == "default"


def test_without_a_replica_a_block_changes_nothing() -> None:
    with replica_reads():
        assert read() is None
    assert replica_report() is None


def test_the_lag_verdict() -> None:
    assert judge(0.0, max_lag=30).usable
    assert judge(29.9, max_lag=30).usable
    lagging = judge(31.0, max_lag=30)
    assert (lagging.status, lagging.lag_seconds, lagging.usable) == ("lagging", 31.0, False)
    assert "31.0 s behind" in str(lagging.reason)
    assert judge(None, max_lag=30).status == "lagging"  # WAL pending, nothing replayed yet


def test_a_browser_with_the_cookie_reads_the_primary_until_it_expires(verdict: list[ReplicaHealth]) -> None:
    factory = RequestFactory()
    fresh = factory.get("/discover/")
    fresh.COOKIES[STICKY_COOKIE] = f"{time.time() + 60:.3f}"
    stale = factory.get("/discover/")
    stale.COOKIES[STICKY_COOKIE] = f"{time.time() - 1:.3f}"  # kept past its Max-Age by a careless client
    for request, expected in ((fresh, "default"), (stale, "replica")):
        request.user = SimpleNamespace(is_authenticated=False)  # type: ignore[assignment]

        def view() -> HttpResponse:
            with replica_reads():
                return HttpResponse(read())

        assert in_request(request, view).content.decode() == expected


def test_a_signed_in_person_who_just_wrote_reads_the_primary_on_any_device(verdict: list[ReplicaHealth]) -> None:
    person = SimpleNamespace(is_authenticated=True, pk=4242)
    write = RequestFactory().post("/api/v1/recommendations/feedback")
    write.user = person  # type: ignore[assignment]
    response = in_request(write, lambda: HttpResponse(status=201))
    assert response.cookies[STICKY_COOKIE]["max-age"] == 5
    assert cache.get(sticky_key(4242)) == 1
    # Another device (a JWT client: no cookie) of the same person.
    api_read = RequestFactory().get("/api/v1/events")
    api_read.user = person  # type: ignore[assignment]

    def view() -> HttpResponse:
        with replica_reads():
            primary = read()
        with replica_reads(shared=True):  # the catalogue: nobody's own write, so the replica serves it
            shared = read()
        return HttpResponse(f"{primary} {shared}")

    assert in_request(api_read, view).content.decode() == "default replica"


@pytest.mark.parametrize(("method", "status"), [("get", 200), ("post", 400), ("delete", 404)])
def test_reads_and_failed_writes_are_not_remembered(method: str, status: int) -> None:
    request = getattr(RequestFactory(), method)("/api/v1/plans")
    request.user = SimpleNamespace(is_authenticated=True, pk=4343)
    response = in_request(request, lambda: HttpResponse(status=status))
    assert STICKY_COOKIE not in response.cookies
    assert cache.get(sticky_key(4343)) is None


def test_writes_nobody_reads_back_are_not_remembered() -> None:
    @writes_nothing_read_back
    def beacon(request: HttpRequest) -> HttpResponse:
        return HttpResponse(status=202)

    request = RequestFactory().post("/api/v1/track")
    request.user = SimpleNamespace(is_authenticated=True, pk=4444)  # type: ignore[assignment]
    middleware = ReadYourWritesMiddleware(beacon)
    middleware.process_view(request, beacon)
    response = middleware(request)
    assert STICKY_COOKIE not in response.cookies
    assert cache.get(sticky_key(4444)) is None


def test_a_read_that_fails_on_the_replica_runs_again_on_the_primary(verdict: list[ReplicaHealth]) -> None:
    calls: list[str | None] = []

    @replica_reads()
    def view() -> str | None:
        calls.append(read())
        if len(calls) == 1:
            raise OperationalError("the replica went away")
        return calls[-1]

    assert view() is None  # the second run is outside any block: the primary
    assert calls == ["replica", None]
    replica_health.forget()


def test_a_failure_on_the_primary_is_not_retried(verdict: list[ReplicaHealth]) -> None:
    verdict[0] = ReplicaHealth("down", None, "unreachable")
    calls = []

    @replica_reads()
    def view() -> None:
        calls.append(read())
        raise OperationalError("the primary went away")

    with pytest.raises(OperationalError):
        view()
    assert calls == ["default"]


def test_migrations_run_on_the_primary_only() -> None:
    assert router.allow_migrate("default", "events")
    assert not router.allow_migrate("replica", "events")
