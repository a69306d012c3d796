"""Calendar subscriptions: the address guard, conditional refreshes over real HTTP, the task and the API."""

import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.db import connection

from apps.calendars import services, tasks
from apps.calendars.fetch import AddressRefusedError, SubscriptionError
from apps.calendars.models import Calendar, Plan, PlanOrigin, Subscription
from apps.calendars.tests.factories import SubscriptionFactory
from apps.core.http import RetryPolicy
from apps.events.tests.fakes.network import serve

pytestmark = pytest.mark.django_db

ONE_TRY = RetryPolicy(attempts=1)


@pytest.fixture
def calendar(user):
    return Calendar.objects.get(owner=user, is_default=True)


@pytest.fixture
def allow_private(settings):
    settings.CALENDAR_SUBSCRIPTIONS_ALLOW_PRIVATE = True


def ics(title: str = "Brunch", uid: str = "brunch@example.test") -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example//Test//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261101T000000Z\r\n"
        "DTSTART;TZID=Europe/Berlin:20261017T100000\r\nDTEND;TZID=Europe/Berlin:20261017T120000\r\n"
        f"SUMMARY:{title}\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:market@example.test\r\nDTSTAMP:20261101T000000Z\r\n"
        "DTSTART;VALUE=DATE:20261018\r\nDTEND;VALUE=DATE:20261019\r\nSUMMARY:Market\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    ).encode()


class Feed:
    """A calendar server that honours If-None-Match, and records what it was asked."""

    def __init__(self, body: bytes, etag: str = '"v1"') -> None:
        self.body, self.etag = body, etag
        self.last_modified = "Sat, 17 Oct 2026 08:00:00 GMT"
        self.requests: list[httpx.Request] = []
        self.conditional = True

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.conditional and request.headers.get("If-None-Match") == self.etag:
            return httpx.Response(304, headers={"ETag": self.etag})
        headers = {"ETag": self.etag, "Last-Modified": self.last_modified, "Content-Type": "text/calendar"}
        return httpx.Response(200, headers=headers, content=self.body)


# --- The address guard -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/calendar.ics",
        "http://127.1.2.3:8080/calendar.ics",
        "http://10.0.0.5/calendar.ics",
        "http://172.16.3.4/calendar.ics",
        "http://192.168.1.10/calendar.ics",
        "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
        "http://[::1]/calendar.ics",
        "http://[::ffff:127.0.0.1]/calendar.ics",  # IPv4-mapped IPv6
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "http://[fe80::1]/calendar.ics",
        "http://[fd00::1]/calendar.ics",
        "http://0.0.0.0/calendar.ics",
        "http://[::]/calendar.ics",
        "http://224.0.0.1/calendar.ics",  # multicast
        "http://240.0.0.1/calendar.ics",  # reserved
        "http://100.64.0.1/calendar.ics",  # shared address space (carrier-grade NAT)
        "http://[2002:7f00:1::]/calendar.ics",  # 6to4 carrying 127.0.0.1
        "http://localhost/calendar.ics",  # a name that resolves to loopback
        "http://localhost:8000/calendar.ics",
        "webcal://localhost/calendar.ics",
        "https://127.0.0.1/calendar.ics",
        "http://2130706433/calendar.ics",  # 127.0.0.1 written as one number, resolved by getaddrinfo
    ],
)
def test_the_guard_refuses_addresses_that_are_not_public(calendar, url):
    with pytest.raises(AddressRefusedError, match="public addresses"):
        services.subscription_create(calendar=calendar, url=url)
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "ftp://93.184.215.14/calendar.ics",
        "file:///etc/passwd",
        "gopher://93.184.215.14/",
        "no url",
        "http://",
    ],
)
def test_what_is_not_an_http_url_is_refused(calendar, url):
    with pytest.raises(SubscriptionError):
        services.subscription_create(calendar=calendar, url=url)
    assert not Subscription.objects.exists()


def test_a_public_address_is_taken_without_fetching(calendar, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("subscribing must not fetch")

    monkeypatch.setattr(httpx.Client, "send", no_network)
    subscription = services.subscription_create(calendar=calendar, url="webcal://93.184.215.14/team.ics#x")
    assert subscription.url == "https://93.184.215.14/team.ics"  # webcal means https; no fragment
    assert subscription.url_hash == Subscription.hash_url("https://93.184.215.14/team.ics")
    assert subscription.last_fetched_at is None
    with pytest.raises(SubscriptionError, match="already subscribes"):
        services.subscription_create(calendar=calendar, url="https://93.184.215.14/team.ics")


def _fake_resolver(answers: dict[str, list[str]]):
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        if not answers[host]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in answers[host]
        ]

    return getaddrinfo


def test_every_address_a_name_resolves_to_is_checked(calendar, monkeypatch):
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        _fake_resolver(
            {
                "mixed.example.com": ["93.184.215.14", "10.1.2.3"],
                "metadata.example.com": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c", "169.254.169.254"],
                "public.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
                "nowhere.example.com": [],
            }
        ),
    )
    for host in ("mixed.example.com", "metadata.example.com"):
        with pytest.raises(AddressRefusedError):
            services.subscription_create(calendar=calendar, url=f"https://{host}/calendar.ics")
    created = services.subscription_create(calendar=calendar, url="https://public.example.com/calendar.ics")
    assert Subscription.objects.get().pk == created.pk
    # A name that does not resolve yet is taken; its refresh runs the guard again and says why it failed.
    pending = services.subscription_create(calendar=calendar, url="https://nowhere.example.com/calendar.ics")
    result = services.subscription_refresh(subscription_id=pending.pk, policy=ONE_TRY)
    assert result.status == "failed"
    assert "cannot be resolved" in Subscription.objects.get(pk=pending.pk).last_error


def test_the_setting_lets_private_addresses_through(calendar, allow_private):
    subscription = services.subscription_create(calendar=calendar, url="http://127.0.0.1:9/calendar.ics")
    assert subscription.pk is not None


def test_the_url_is_encrypted_in_the_row(calendar):
    subscription = services.subscription_create(calendar=calendar, url="https://93.184.215.14/private-s3cret.ics")
    with connection.cursor() as cursor:
        cursor.execute("SELECT url, url_hash FROM calendars_subscription WHERE id = %s", [subscription.pk])
        raw, url_hash = cursor.fetchone()
    assert "s3cret" not in raw
    assert url_hash == Subscription.hash_url("https://93.184.215.14/private-s3cret.ics")
    assert Subscription.objects.get().url == "https://93.184.215.14/private-s3cret.ics"


# --- Refreshing over real HTTP -------------------------------------------------------------------------------


def test_refresh_is_conditional_and_imports_by_uid(calendar, allow_private):
    feed = Feed(ics("Brunch"))
    with serve(feed) as base_url:
        subscription = SubscriptionFactory(calendar=calendar, url=f"{base_url}/calendar.ics")

        first = services.subscription_refresh(subscription_id=subscription.pk, policy=ONE_TRY)
        assert (first.status, first.created, first.updated) == ("imported", 2, 0)
        subscription.refresh_from_db()
        assert subscription.etag == '"v1"'
        assert subscription.last_modified == feed.last_modified
        assert subscription.last_error == ""
        assert subscription.last_fetched_at is not None
        plans = {p.ical_uid: p for p in Plan.objects.filter(calendar=calendar)}
        assert set(plans) == {"brunch@example.test", "market@example.test"}
        assert plans["brunch@example.test"].title == "Brunch"
        assert plans["brunch@example.test"].origin == PlanOrigin.IMPORTED
        assert "If-None-Match" not in feed.requests[0].headers
        stamp = {p.pk: p.updated_at for p in plans.values()}

        second = services.subscription_refresh(subscription_id=subscription.pk, policy=ONE_TRY)
        assert second.status == "not_modified"
        assert feed.requests[1].headers["If-None-Match"] == '"v1"'
        assert feed.requests[1].headers["If-Modified-Since"] == feed.last_modified
        assert {p.pk: p.updated_at for p in Plan.objects.filter(calendar=calendar)} == stamp

        feed.body, feed.etag = ics("Late brunch"), '"v2"'
        third = services.subscription_refresh(subscription_id=subscription.pk, policy=ONE_TRY)
        assert (third.status, third.created, third.updated) == ("imported", 0, 2)
        assert Plan.objects.get(calendar=calendar, ical_uid="brunch@example.test").title == "Late brunch"
        subscription.refresh_from_db()
        assert subscription.etag == '"v2"'

        # Safe to run again, even when the server ignores the validators: the same plans, no duplicates.
        feed.conditional = False
        for _ in range(2):
            again = services.subscription_refresh(subscription_id=subscription.pk, policy=ONE_TRY)
            assert (again.status, again.created) == ("imported", 0)
        assert Plan.objects.filter(calendar=calendar).count() == 2


def test_a_name_is_fetched_from_the_address_that_was_checked(calendar, allow_private, monkeypatch):
    """DNS rebinding: the name answers 127.0.0.1 when checked and something else afterwards; the request goes
    to the checked address, with the name in Host."""
    answers = iter([["127.0.0.1"]])
    real = socket.getaddrinfo
    resolved: list[str] = []

    def rebinding(host, port, *args, **kwargs):
        if host == "feed.rebind.test":
            resolved.append(host)
            addresses = next(answers, ["192.0.2.1"])  # later answers: an address nothing listens on
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    feed = Feed(ics())
    with serve(feed) as base_url:
        port = httpx.URL(base_url).port
        subscription = SubscriptionFactory(calendar=calendar, url=f"http://feed.rebind.test:{port}/calendar.ics")
        result = services.subscription_refresh(
            subscription_id=subscription.pk, policy=ONE_TRY, timeout=httpx.Timeout(2.0)
        )
    assert result.status == "imported", result.error
    assert resolved == ["feed.rebind.test"]  # resolved once, by the guard; the connection used its answer
    assert len(feed.requests) == 1


def test_the_pinned_request_keeps_the_name_for_host_and_tls(calendar, monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", _fake_resolver({"feed.example.com": ["93.184.215.14"]}))
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=ics())

    subscription = services.subscription_create(calendar=calendar, url="https://feed.example.com/team.ics?t=1")
    result = services.subscription_refresh(
        subscription_id=subscription.pk, policy=ONE_TRY, transport=httpx.MockTransport(answer)
    )
    assert result.status == "imported", result.error
    (request,) = seen
    assert str(request.url) == "https://93.184.215.14/team.ics?t=1"  # connects to the checked address
    assert request.headers["Host"] == "feed.example.com"
    assert request.extensions["sni_hostname"] == "feed.example.com"  # SNI and the certificate check


def test_the_guard_runs_again_on_every_refresh(calendar, settings):
    settings.CALENDAR_SUBSCRIPTIONS_ALLOW_PRIVATE = True
    subscription = SubscriptionFactory(calendar=calendar, url="http://127.0.0.1:9/calendar.ics")
    settings.CALENDAR_SUBSCRIPTIONS_ALLOW_PRIVATE = False
    result = services.subscription_refresh(subscription_id=subscription.pk, policy=ONE_TRY)
    assert result.status == "failed"
    subscription.refresh_from_db()
    assert "public addresses" in subscription.last_error
    assert subscription.last_fetched_at is not None


def test_a_slow_server_times_out(calendar, allow_private):
    release = threading.Event()

    def slow(request: httpx.Request) -> httpx.Response:
        release.wait(5)
        return httpx.Response(200, content=ics())

    with serve(slow) as base_url:
        subscription = SubscriptionFactory(calendar=calendar, url=f"{base_url}/calendar.ics")
        started = time.monotonic()
        result = services.subscription_refresh(
            subscription_id=subscription.pk, policy=ONE_TRY, timeout=httpx.Timeout(0.3)
        )
        release.set()
    assert time.monotonic() - started < 3
    assert result.status == "failed"
    subscription.refresh_from_db()
    assert "timed out" in subscription.last_error
    assert not Plan.objects.filter(calendar=calendar).exists()


def test_an_oversized_body_is_refused(calendar, allow_private):
    huge = ics()[:-15] + b"X-PAD:" + b"x" * (10 * 1024 * 1024) + b"\r\nEND:VCALENDAR\r\n"
    with serve(lambda request: httpx.Response(200, content=huge)) as base_url:
        subscription = SubscriptionFactory(calendar=calendar, url=f"{base_url}/calendar.ics")
        result = services.subscription_refresh(subscription_id=subscription.pk, policy=ONE_TRY)
    assert result.status == "failed"
    assert "larger than 10 MB" in result.error
    assert not Plan.objects.filter(calendar=calendar).exists()


def test_the_cap_is_counted_while_streaming_when_no_length_is_declared(calendar, allow_private):
    sent: list[int] = []

    def chunks():
        for _ in range(50):
            sent.append(1)
            yield b"x" * (1024 * 1024)

    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=chunks()))
    subscription = SubscriptionFactory(calendar=calendar, url="http://127.0.0.1/calendar.ics")
    result = services.subscription_refresh(subscription_id=subscription.pk, policy=ONE_TRY, transport=transport)
    assert result.status == "failed"
    assert "larger than 10 MB" in result.error
    assert len(sent) <= 12  # stopped reading soon after the cap


def test_a_body_that_is_not_icalendar_stores_nothing(calendar, allow_private):
    page = b"<!doctype html><title>Sign in</title><p>Please sign in"
    with serve(lambda request: httpx.Response(200, headers={"ETag": '"html"'}, content=page)) as base_url:
        subscription = SubscriptionFactory(calendar=calendar, url=f"{base_url}/calendar.ics")
        result = services.subscription_refresh(subscription_id=subscription.pk, policy=ONE_TRY)
    assert result.status == "failed"
    subscription.refresh_from_db()
    assert subscription.last_error.startswith("Not a readable iCalendar file")
    assert subscription.etag == ""  # not remembered: the next refresh fetches the whole body again
    assert not Plan.objects.filter(calendar=calendar).exists()


def test_a_redirect_is_not_followed(calendar, allow_private):
    feed = Feed(ics())

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/moved.ics":
            return httpx.Response(
                302, headers={"Location": f"{request.url.scheme}://{request.url.netloc.decode()}/calendar.ics"}
            )
        return feed(request)

    with serve(handler) as base_url:
        subscription = SubscriptionFactory(calendar=calendar, url=f"{base_url}/moved.ics")
        result = services.subscription_refresh(subscription_id=subscription.pk, policy=ONE_TRY)
    assert result.status == "failed"
    assert "redirects (HTTP 302)" in result.error
    assert feed.requests == []
    assert not Plan.objects.filter(calendar=calendar).exists()


def test_an_error_status_is_recorded_and_a_later_success_clears_it(calendar, allow_private):
    feed = Feed(ics())
    answers = iter([httpx.Response(404), None])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers) or feed(request)

    with serve(handler) as base_url:
        subscription = SubscriptionFactory(calendar=calendar, url=f"{base_url}/calendar.ics")
        assert services.subscription_refresh(subscription_id=subscription.pk, policy=ONE_TRY).status == "failed"
        subscription.refresh_from_db()
        assert "HTTP 404" in subscription.last_error
        assert services.subscription_refresh(subscription_id=subscription.pk, policy=ONE_TRY).status == "imported"
    subscription.refresh_from_db()
    assert subscription.last_error == ""


def test_a_deleted_subscription_is_gone():
    assert services.subscription_refresh(subscription_id=987654321).status == "gone"


# --- Tasks -------------------------------------------------------------------------------------------------


def test_the_task_refreshes_on_the_sync_queue(calendar, allow_private):
    assert tasks.sync_subscription.name == "apps.calendars.tasks.sync_subscription"
    router = tasks.sync_subscription.app.amqp.router
    for name in (tasks.sync_subscription.name, tasks.sync_due_subscriptions.name):
        assert router.route({}, name)["queue"].name == "sync"
    assert any(
        entry["task"] == tasks.sync_due_subscriptions.name
        for entry in tasks.sync_subscription.app.conf.beat_schedule.values()
    )
    with serve(Feed(ics())) as base_url:
        subscription = SubscriptionFactory(calendar=calendar, url=f"{base_url}/calendar.ics")
        assert tasks.sync_subscription.apply(args=[subscription.pk]).get() == "imported"
        assert tasks.sync_subscription.apply(args=[subscription.pk]).get() == "not_modified"
    assert Plan.objects.filter(calendar=calendar).count() == 2


def test_due_subscriptions_are_enqueued(calendar, monkeypatch, clock):
    now = datetime.now(UTC)
    never = SubscriptionFactory(calendar=calendar, url="https://93.184.215.14/a.ics")
    overdue = SubscriptionFactory(calendar=calendar, url="https://93.184.215.14/b.ics")
    recent = SubscriptionFactory(calendar=calendar, url="https://93.184.215.14/c.ics")
    slow = SubscriptionFactory(calendar=calendar, url="https://93.184.215.14/d.ics")
    Subscription.objects.filter(pk=overdue.pk).update(last_fetched_at=now - timedelta(minutes=61))
    Subscription.objects.filter(pk=recent.pk).update(last_fetched_at=now - timedelta(minutes=10))
    Subscription.objects.filter(pk=slow.pk).update(last_fetched_at=now - timedelta(hours=2), interval_minutes=24 * 60)
    published: list[int] = []

    def enqueue(task, subscription_id):  # the broker takes all but `never`
        assert task is tasks.sync_subscription
        published.append(subscription_id)
        return subscription_id != never.pk

    monkeypatch.setattr("apps.calendars.tasks.enqueue", enqueue)

    assert tasks.sync_due_subscriptions() == [overdue.pk]  # what the broker took
    assert sorted(published) == sorted([never.pk, overdue.pk])


# --- API -----------------------------------------------------------------------------------------------------


def test_subscribe_list_and_unsubscribe(auth_client, calendar, monkeypatch, django_capture_on_commit_callbacks):
    queued: list[int] = []
    monkeypatch.setattr(
        "apps.calendars.services.subscriptions.enqueue", lambda task, *args: queued.append((task.name, *args)) or True
    )
    monkeypatch.setattr(socket, "getaddrinfo", _fake_resolver({"calendars.example.com": ["93.184.215.14"]}))
    base = f"/api/v1/calendars/{calendar.pk}/subscriptions"

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(base, {"url": "webcal://calendars.example.com/team.ics"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "url", "last_fetched_at", "last_error"}
    assert body["url"] == "https://calendars.example.com/team.ics"
    assert body["last_fetched_at"] is None
    assert queued == [(tasks.sync_subscription.name, body["id"])]  # the first refresh, once committed

    listed = auth_client.get(base).json()["results"]
    assert [s["id"] for s in listed] == [body["id"]]

    again = auth_client.post(base, {"url": "https://calendars.example.com/team.ics"}, format="json")
    assert again.status_code == 409
    assert set(again.json()["error"]["fields"]) == {"url"}

    assert auth_client.delete(f"{base}/{body['id']}").status_code == 204
    assert not Subscription.objects.exists()
    assert auth_client.delete(f"{base}/{body['id']}").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/calendar.ics",
        "http://169.254.169.254/latest/",
        "http://localhost/x.ics",
        "ftp://x/y",
        "https://93.184.215.14/public-but-an-address.ics",  # the API takes domain names only
    ],
)
def test_a_refused_url_is_400_naming_url(auth_client, calendar, url, monkeypatch):
    queued: list[int] = []
    monkeypatch.setattr(
        "apps.calendars.services.subscriptions.enqueue", lambda task, *args: queued.append((task.name, *args)) or True
    )
    response = auth_client.post(f"/api/v1/calendars/{calendar.pk}/subscriptions", {"url": url}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"url"}
    assert not Subscription.objects.exists()
    assert queued == []


def test_a_missing_url_is_400_naming_url(auth_client, calendar):
    response = auth_client.post(f"/api/v1/calendars/{calendar.pk}/subscriptions", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"url"}


def test_other_peoples_calendars_and_subscriptions_are_404(auth_client, other_user, client_for, monkeypatch):
    monkeypatch.setattr("apps.calendars.services.subscriptions.enqueue", lambda *args: True)
    theirs = Calendar.objects.get(owner=other_user, is_default=True)
    their_subscription = SubscriptionFactory(calendar=theirs, url="https://93.184.215.14/theirs.ics")
    base = f"/api/v1/calendars/{theirs.pk}/subscriptions"

    assert auth_client.get(base).status_code == 404
    assert auth_client.post(base, {"url": "https://93.184.215.14/mine.ics"}, format="json").status_code == 404
    assert auth_client.delete(f"{base}/{their_subscription.pk}").status_code == 404
    assert Subscription.objects.filter(calendar=theirs).count() == 1

    # Their subscription under my own calendar's id is not found either.
    mine = auth_client.get("/api/v1/calendars").json()["results"][0]["id"]
    assert auth_client.delete(f"/api/v1/calendars/{mine}/subscriptions/{their_subscription.pk}").status_code == 404
    assert Subscription.objects.filter(pk=their_subscription.pk).exists()

    # And they see theirs.
    assert [s["id"] for s in client_for(other_user).get(base).json()["results"]] == [their_subscription.pk]


def test_anonymous_requests_are_refused(api_client, calendar):
    assert api_client.get(f"/api/v1/calendars/{calendar.pk}/subscriptions").status_code == 401
