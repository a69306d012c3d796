"""Secrets never leak: known secret values go through every place text leaves the product, and none comes out.

The secrets: Django's SECRET_KEY, ENCRYPTION_KEY, the JWT private key, the providers' API keys (Ticketmaster
takes its key in the query string), access and refresh tokens, a password, session and CSRF cookies, the
Authorization header, OAuth tokens, a private calendar subscription URL and a private ICS feed token, and a
database password. The places: the JSON logs as the configured handlers write them (and, in real processes,
the stdout of gunicorn, of a Celery worker and of manage.py), the 500 page, the DEBUG page, the admins' error
mail, DRF error responses, Celery task failures, provider and subscription failures as stored (SyncRun.error,
Subscription.last_error) and shown in the admin, /ready and /metrics.

Every check also asserts that a harmless marker from the same message did come out, so a capture that
captured nothing (or a redaction that blanked everything) fails instead of passing. A leak is any of the
secret's usual encodings, or any 12 characters in a row of it: a clipped or partly encoded copy leaks too.
"""

import contextlib
import html
import io
import json
import logging
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest
from celery import shared_task
from django.conf import settings
from django.core import mail
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from structlog.stdlib import ProcessorFormatter

from apps.calendars import services as calendar_services
from apps.calendars.models import Calendar, Subscription
from apps.core.http import RetryPolicy
from apps.events import services as event_services
from apps.events import sync
from apps.events.models import SyncOutcome, SyncRun
from apps.events.tests.fakes import ticketmaster as tm
from apps.events.tests.fakes.network import FakeClock, serve
from apps.users import services as user_services
from apps.users.models import User
from apps.users.tests.factories import UserFactory
from scripts.support.databases import database_url
from scripts.support.gunicorn import gunicorn_command
from scripts.support.network import free_port, wait_for_url
from scripts.support.processes import running, tool
from scripts.support.production_env import jwt_key_pair

ROOT = Path(__file__).resolve().parent.parent

# --- The secrets -----------------------------------------------------------------------------------------------

PASSWORD = "Tr0ub4dor&3-horse-Battery-staple-9"
SETTINGS_SECRETS = {
    "SECRET_KEY": "djsk-7fQ2mZ9xLr4Tb8Wc1Vn6Ye3Ud5Hs0KaP",
    "ENCRYPTION_KEY": "enck-Qm4Rt8Zx2Lw6Pv9Bn3Hy7Jc1Gd5Fs0KaQ",
    "TICKETMASTER_API_KEY": "tmkey9Zq4Xv7Lp2Wk5Rt8Yb3Nc6Md1",
    "EVENTBRITE_API_KEY": "ebkeyR7TQ2LM9XW4KJ8PZ3VN6BY1",
    "MEETUP_API_KEY": "mukeyH3JK8LQ2WX7RT4PZ9MN5VB6",
    "GOOGLE_MAPS_API_KEY": "AIzaSyLeakProbe0123456789abcdefGHIJ",
    "GOOGLE_OAUTH_CLIENT_SECRET": "GOCSPX-leakProbeClientSecret42xyz",
}
OAUTH_ACCESS_TOKEN = "ya29.a0AfB_byLeakProbeOAuthAccessToken0123456789"
OAUTH_REFRESH_TOKEN = "1//0gLeakProbeOAuthRefreshTokenABCDEFGHIJKL"
PRIVATE_TOKEN = "private-3f9c2e7a41b8d6f05e1c"
PRIVATE_URL = f"http://127.0.0.1:9/calendar/ical/someone%40example.org/{PRIVATE_TOKEN}/basic.ics"
SESSION_COOKIE = "sessionid"
SESSION_VALUE = "q7v2k9x4m1n8b5c3z6l0p2w9e4r7t1y5"
CSRF_VALUE = "Wc1Vn6Ye3Ud5Hs0KaPq7v2k9x4m1n8b5c3z6l0p2w9e4"
DB_PASSWORD = "dbpw-Lp2Wk5Rt8Yb3Nc6Md1Zq4X"


def fragments(secret: str) -> set[str]:
    """What would show that `secret` leaked: it in the encodings text takes (JSON, URL, HTML), and every run of
    12 characters of its secret material: a PEM key's lines (not its BEGIN/END lines), a JWT's signature (every
    token starts alike), the tokens in a URL's path (not its host or words like "calendar")."""
    found = {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret), html.escape(secret)}
    material = secret
    if "://" in secret:  # the parts of its path that are tokens (an address, a private id), not its words
        path = secret.split("://", 1)[1].partition("/")[2]
        material = "\n".join(part for part in path.split("/") if len(part) >= 12 and any(c.isdigit() for c in part))
    elif secret.startswith("eyJ") and secret.count(".") == 2:
        material = secret.rsplit(".", 1)[1]
    for line in material.splitlines():
        line = line.strip()
        if line.startswith("-----"):
            continue
        found.update(line[start : start + 12] for start in range(max(1, len(line) - 11)))
    return {piece for piece in found if len(piece) >= 8}


def assert_no_secrets(text: str, secrets: dict[str, str], *, markers: Iterable[str], where: str) -> None:
    missing = [marker for marker in markers if marker not in text]
    assert not missing, f"{where}: the capture did not see {missing!r}, so it proves nothing:\n{text[-3000:]}"
    for name, secret in secrets.items():
        leaked = sorted(piece for piece in fragments(secret) if piece in text)
        assert not leaked, f"{where}: {name} leaked ({leaked[:3]!r}):\n{_around(text, leaked[0])}"


def _around(text: str, piece: str) -> str:
    index = text.index(piece)
    return text[max(0, index - 300) : index + 300]


@pytest.fixture
def secrets() -> Iterator[dict[str, str]]:
    """The settings secrets in force, plus the JWT private key of this run (the configured one)."""
    with override_settings(**SETTINGS_SECRETS):
        yield {
            **SETTINGS_SECRETS,
            "JWT_PRIVATE_KEY": settings.JWT_PRIVATE_KEY,
            "oauth access token": OAUTH_ACCESS_TOKEN,
            "oauth refresh token": OAUTH_REFRESH_TOKEN,
            "private subscription URL": PRIVATE_URL,
            "private subscription token": PRIVATE_TOKEN,
            "password": PASSWORD,
            "session cookie": SESSION_VALUE,
            "csrf cookie": CSRF_VALUE,
        }


@contextlib.contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """What the configured handlers (root's and django's: the JSON formatter on stdout) write, as they write it."""
    buffer = io.StringIO()
    handlers = {
        handler
        for logger in (logging.getLogger(), logging.getLogger("django"))
        for handler in logger.handlers
        # Ours only: pytest adds a capturing handler of its own, with its own plain format.
        if isinstance(handler, logging.StreamHandler) and isinstance(handler.formatter, ProcessorFormatter)
    }
    assert handlers, "no JSON stream handler is configured: nothing to capture"
    previous = {handler: handler.setStream(buffer) for handler in handlers}
    try:
        yield buffer
    finally:
        for handler, stream in previous.items():
            handler.setStream(stream)


# --- What a careless provider call does ---------------------------------------------------------------------


def _careless_provider_call() -> None:
    """raise_for_status() on a refused request: httpx's message repeats the URL, and with it the `apikey`."""
    api_key = settings.TICKETMASTER_API_KEY
    transport = httpx.MockTransport(lambda request: httpx.Response(401, text="Invalid ApiKey"))
    headers = {"Authorization": f"Bearer {settings.EVENTBRITE_API_KEY}"}
    with httpx.Client(transport=transport, headers=headers) as client:
        client.get(
            "https://app.ticketmaster.com/discovery/v2/events.json", params={"apikey": api_key}
        ).raise_for_status()


PROVIDER_MARKER = "app.ticketmaster.com/discovery/v2/events.json?apikey=[redacted]"


def leak_probe_view(request: HttpRequest, token: str) -> HttpResponse:
    # Secrets held in locals when the view fails: what a report that shows local variables would print. The
    # private URL comes from the database, as it would in a real view: decrypted, so known to be secret.
    password = request.POST.get("password", PASSWORD)
    subscription_url = Subscription.objects.get(pk=request.GET["subscription"]).url
    oauth = {"access_token": OAUTH_ACCESS_TOKEN, "refresh_token": OAUTH_REFRESH_TOKEN}
    database_url = f"postgres://planner:{DB_PASSWORD}@db.internal:5432/planner"
    held = (password, subscription_url, oauth, database_url, token)  # noqa: F841 - kept for the report
    _careless_provider_call()
    return HttpResponse("unreachable")


class LeakProbeAPIView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    def get(self, request: Request) -> Response:
        access_token = OAUTH_ACCESS_TOKEN
        assert access_token
        _careless_provider_call()
        return Response({})


urlpatterns = [
    path("leak-probe/feeds/<str:token>.ics", leak_probe_view),
    path("api/v1/leak-probe", LeakProbeAPIView.as_view()),
    path("", include("planner.urls")),
]


@shared_task(name="tests.leak_probe_task")
def leak_probe_task(subscription_url: str) -> None:
    _careless_provider_call()


def _secret_request_headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        "HTTP_AUTHORIZATION": f"Bearer {OAUTH_ACCESS_TOKEN}",
        "HTTP_COOKIE": f"{SESSION_COOKIE}={SESSION_VALUE}; csrftoken={CSRF_VALUE}",
        "HTTP_X_REQUEST_ID": "probe-request-id-7",
        **(extra or {}),
    }


@pytest.fixture
def subscription(db: None) -> Subscription:
    owner = UserFactory(password=PASSWORD)
    calendar = Calendar.objects.filter(owner=owner).first() or Calendar.objects.create(owner=owner, name="Mine")
    return Subscription.objects.create(calendar=calendar, url=PRIVATE_URL)


# --- The JSON request logs, DRF error responses ---------------------------------------------------------------


@pytest.mark.django_db
def test_request_logs_and_api_errors_carry_no_credentials(secrets: dict[str, str]) -> None:
    user = UserFactory(password=PASSWORD)
    calendar = Calendar.objects.filter(owner=user).first() or Calendar.objects.create(owner=user, name="Mine")
    assert calendar.feed_token
    pair = user_services.token_obtain(request=None, email=user.email, password=PASSWORD)
    secrets = {**secrets, "access token": pair.access, "refresh token": pair.refresh, "feed token": calendar.feed_token}
    client = Client()
    bodies = []
    with captured_logs() as logs:
        bodies.append(client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {pair.access}").content)
        bodies.append(client.get(f"/api/v1/me?access_token={OAUTH_ACCESS_TOKEN}", **_secret_request_headers()).content)
        # A refresh token where an access token belongs, and a tampered access token.
        bodies.append(client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {pair.refresh}").content)
        bodies.append(client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {pair.access[:-4]}AAAA").content)
        bodies.append(
            client.post(
                "/api/v1/auth/token",
                {"email": user.email, "password": PASSWORD + "-wrong"},
                content_type="application/json",
            ).content
        )
        bodies.append(
            client.post(
                "/api/v1/auth/token/refresh", {"refresh": pair.refresh}, content_type="application/json"
            ).content
        )
        # The rotated-out refresh token again: reuse, refused.
        bodies.append(
            client.post(
                "/api/v1/auth/token/refresh", {"refresh": pair.refresh}, content_type="application/json"
            ).content
        )
        bodies.append(
            client.post("/api/v1/auth/token", "{not json " + PASSWORD, content_type="application/json").content
        )
        feed = client.get(f"/feeds/{calendar.feed_token}.ics")
        assert feed.status_code == 200
    text = logs.getvalue()
    secrets_out = {**secrets, "password (wrong)": PASSWORD + "-wrong"}
    assert_no_secrets(
        text,
        secrets_out,
        markers=[
            '"path": "/api/v1/me"',
            '"/feeds/[redacted].ics"',
            '"request_id": "probe-request-id-7"',
            '"status": 401',
        ],
        where="request logs",
    )
    responses = "\n".join(body.decode() for body in bodies)
    # The rotated refresh token's successor is in a response body by design; the secrets fed must not be.
    assert_no_secrets(responses, secrets_out, markers=['"error"', "invalid"], where="API error responses")


# --- Unhandled exceptions: the 500 page, the logged traceback, the DEBUG page, the admins' mail -------------------


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_an_unhandled_view_exception_shows_and_logs_no_secret(
    secrets: dict[str, str], subscription: Subscription
) -> None:
    client = Client(raise_request_exception=False)
    with captured_logs() as logs:
        response = client.post(
            f"/leak-probe/feeds/{PRIVATE_TOKEN}.ics?apikey={secrets['TICKETMASTER_API_KEY']}&subscription={subscription.pk}",
            {"password": PASSWORD},
            **_secret_request_headers(),
        )
    assert response.status_code == 500
    page = response.content.decode()
    # No details for the visitor at all.
    assert "HTTPStatusError" not in page
    assert "Traceback" not in page
    assert_no_secrets(page, secrets, markers=["Server Error"], where="the 500 page")
    assert_no_secrets(
        logs.getvalue(),
        {**secrets, "database password": DB_PASSWORD},
        markers=[
            "Internal Server Error",
            "Traceback",
            "HTTPStatusError",
            PROVIDER_MARKER,
            "/leak-probe/feeds/[redacted].ics",
        ],
        where="the logged traceback",
    )


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_the_debug_page_cleanses_settings_locals_and_the_request(
    secrets: dict[str, str], subscription: Subscription
) -> None:
    """The technical 500 page shows settings, every frame's local variables and the request: all cleansed, by
    name (TICKETMASTER_API_KEY, JWT_PRIVATE_KEY, `password`) and by value (a key inside a URL or an exception)."""
    client = Client(raise_request_exception=False)
    with override_settings(DEBUG=True, DATABASE_REPLICA_URL=f"postgres://planner:{DB_PASSWORD}@replica:5432/planner"):
        html_page = client.post(
            f"/leak-probe/feeds/{PRIVATE_TOKEN}.ics?apikey={secrets['TICKETMASTER_API_KEY']}&subscription={subscription.pk}",
            {"password": PASSWORD},
            **_secret_request_headers(),
        )
        text_page = client.post(
            f"/leak-probe/feeds/{PRIVATE_TOKEN}.ics?apikey={secrets['TICKETMASTER_API_KEY']}&subscription={subscription.pk}",
            {"password": PASSWORD},
            **_secret_request_headers({"HTTP_ACCEPT": "text/plain"}),
        )
    for response, kind in ((html_page, "html"), (text_page, "text")):
        assert response.status_code == 500
        page = response.content.decode()
        markers = ["HTTPStatusError", "TICKETMASTER_API_KEY", "[redacted]"]
        # The HTML page shows every frame's local variables; the text one does not.
        markers += [html.escape(PROVIDER_MARKER), "subscription_url"] if kind == "html" else [PROVIDER_MARKER]
        assert_no_secrets(
            page, {**secrets, "database password": DB_PASSWORD}, markers=markers, where=f"the DEBUG page ({kind})"
        )


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_the_admins_error_mail_is_cleansed(secrets: dict[str, str], subscription: Subscription) -> None:
    client = Client(raise_request_exception=False)
    with override_settings(ADMINS=[("Ops", "ops@example.test")]):
        response = client.post(
            f"/leak-probe/feeds/{PRIVATE_TOKEN}.ics?apikey={secrets['TICKETMASTER_API_KEY']}&subscription={subscription.pk}",
            {"password": PASSWORD},
            **_secret_request_headers(),
        )
    assert response.status_code == 500
    assert len(mail.outbox) == 1, "the error mail was not sent: nothing was checked"
    message = mail.outbox[0]
    assert_no_secrets(
        message.subject, secrets, markers=["/leak-probe/feeds/[redacted].ics"], where="the error mail's subject"
    )
    html_parts = [str(content) for content, _type in getattr(message, "alternatives", [])]
    assert_no_secrets(
        "\n".join([str(message.body), *html_parts]),
        {**secrets, "database password": DB_PASSWORD},
        markers=["HTTPStatusError", PROVIDER_MARKER, "TICKETMASTER_API_KEY"],
        where="the error mail's report",
    )


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_an_unhandled_api_exception_answers_a_generic_error_and_logs_no_secret(secrets: dict[str, str]) -> None:
    client = Client(raise_request_exception=False)
    with captured_logs() as logs:
        response = client.get(
            f"/api/v1/leak-probe?apikey={secrets['TICKETMASTER_API_KEY']}", **_secret_request_headers()
        )
    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "server_error", "message": "Something went wrong on our side.", "fields": {}}
    }
    assert_no_secrets(
        logs.getvalue(),
        secrets,
        markers=["api_unhandled_error", "HTTPStatusError", PROVIDER_MARKER],
        where="the API's logged traceback",
    )


# --- Celery task failures ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_failing_celery_task_logs_no_secret(secrets: dict[str, str]) -> None:
    with captured_logs() as logs:
        result = leak_probe_task.apply(args=[PRIVATE_URL], throw=False)
    assert result.failed()
    assert_no_secrets(
        logs.getvalue(),
        secrets,
        markers=["tests.leak_probe_task", "raised unexpected", "HTTPStatusError", PROVIDER_MARKER],
        where="Celery's task failure line",
    )


# --- Provider connectors: SyncRun.error, the logs, the admin -----------------------------------------------------


def echo_the_request(request: httpx.Request) -> httpx.Response:
    """A provider (or a proxy in front of it) whose error page repeats the request, key and headers included."""
    body = (
        f"<html><body><h1>400 Bad Request</h1><p>GET {request.url}</p><pre>{dict(request.headers)}</pre></body></html>"
    )
    return httpx.Response(400, text=body, headers={"Content-Type": "text/html"})


@pytest.fixture
def staff_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser(email="ops@example.test", password=PASSWORD + "-staff"))
    return client


@pytest.mark.django_db
def test_a_provider_failure_stores_logs_and_shows_no_key(secrets: dict[str, str], staff_client: Client) -> None:
    source = event_services.source_create(provider="ticketmaster", name="tm-leak", near=(52.52, 13.405), radius_km=10)
    fake = tm.FakeTicketmaster(clock=FakeClock(1_780_000_000), api_key=secrets["TICKETMASTER_API_KEY"])
    fake.fail_next(echo_the_request)
    with override_settings(TICKETMASTER_API_URL=tm.BASE_URL), captured_logs() as logs:
        run = sync.sync_source(source_id=source.pk, connector=tm.build_connector(source, fake))
    assert fake.params[0]["apikey"] == secrets["TICKETMASTER_API_KEY"]  # the key really was in the query
    assert run.outcome == SyncOutcome.FAILED
    assert_no_secrets(run.error, secrets, markers=["HTTP 400", "apikey=[redacted]"], where="SyncRun.error")
    assert_no_secrets(
        logs.getvalue(), secrets, markers=["sync_failed", "HTTP 400", "apikey=[redacted]"], where="the sync's logs"
    )
    for url in ("/admin/events/syncrun/", f"/admin/events/syncrun/{run.pk}/change/", "/admin/events/source/"):
        page = staff_client.get(url)
        assert page.status_code == 200, url
        markers = ["HTTP 400"] if "change" in url else ["tm-leak"]
        assert_no_secrets(page.content.decode(), secrets, markers=markers, where=f"the admin at {url}")


@pytest.mark.django_db
def test_a_provider_that_keeps_failing_leaves_no_key_in_the_error(secrets: dict[str, str]) -> None:
    """Transport errors whose text names the URL (as some proxies' do), retried until the attempts run out."""
    source = event_services.source_create(provider="ticketmaster", name="tm-down", near=(52.52, 13.405))
    fake = tm.FakeTicketmaster(clock=FakeClock(1_780_000_000), api_key=secrets["TICKETMASTER_API_KEY"])

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"proxy refused CONNECT for {request.url}", request=request)

    fake.fail_next(*[refuse] * 4)
    with captured_logs() as logs:
        run = sync.sync_source(source_id=source.pk, connector=tm.build_connector(source, fake))
    assert run.outcome == SyncOutcome.FAILED
    assert_no_secrets(
        run.error, secrets, markers=["failed after 4 attempts", "apikey=[redacted]"], where="SyncRun.error"
    )
    assert_no_secrets(
        logs.getvalue(), secrets, markers=["provider_retry", "proxy refused CONNECT"], where="the retry logs"
    )


# --- Private calendar subscriptions: the stored error, the logs, the admin, the API --------------------------------


@pytest.mark.django_db
@override_settings(CALENDAR_SUBSCRIPTIONS_ALLOW_PRIVATE=True)
@pytest.mark.parametrize(
    ("answer", "marker"),
    [
        (echo_the_request, "HTTP 400"),
        (
            lambda request: httpx.Response(
                200, text=f"GET {request.url.raw_path.decode()} - sign in to see this calendar"
            ),
            "Not a readable iCalendar file",
        ),
        (
            lambda request: (_ for _ in ()).throw(httpx.ConnectError(f"cannot reach {request.url}", request=request)),
            "cannot reach",
        ),
    ],
    ids=["error-page", "not-ics", "transport-error"],
)
def test_a_failing_private_subscription_stores_and_logs_no_url(
    secrets: dict[str, str], staff_client: Client, answer: Callable[[httpx.Request], httpx.Response], marker: str
) -> None:
    user = UserFactory(password=PASSWORD)
    calendar = Calendar.objects.filter(owner=user).first() or Calendar.objects.create(owner=user, name="Mine")
    subscription = Subscription.objects.create(calendar=calendar, url=PRIVATE_URL)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return answer(request)

    with captured_logs() as logs:
        result = calendar_services.subscription_refresh(
            subscription_id=subscription.pk,
            transport=httpx.MockTransport(handler),
            policy=RetryPolicy(attempts=2, base_delay=0, sleep=lambda _seconds: None),
        )
    assert seen
    assert PRIVATE_TOKEN in seen[0]  # the private URL really was fetched
    assert result.status == "failed"
    subscription.refresh_from_db()
    assert_no_secrets(subscription.last_error, secrets, markers=[marker], where="Subscription.last_error")
    assert_no_secrets(logs.getvalue(), secrets, markers=["subscription_refresh_failed", marker], where="the logs")
    page = staff_client.get(f"/admin/calendars/subscription/{subscription.pk}/change/")
    assert page.status_code == 200
    assert_no_secrets(page.content.decode(), secrets, markers=[html.escape(marker)], where="the admin")


# --- /ready and /metrics -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_ready_and_metrics_say_nothing_secret(secrets: dict[str, str]) -> None:
    client = Client()
    client.get("/api/v1/me", **_secret_request_headers())  # something for the metrics to count
    unreachable = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://:{DB_PASSWORD}@127.0.0.1:{free_port()}/0",
        }
    }
    with override_settings(CACHES=unreachable):
        ready = client.get("/ready")
    assert ready.status_code == 503
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    every_secret = {**secrets, "cache password": DB_PASSWORD}
    assert_no_secrets(ready.content.decode(), every_secret, markers=['"cache"', "unreachable"], where="/ready")
    assert_no_secrets(metrics.content.decode(), every_secret, markers=["django_http_requests"], where="/metrics")


# --- Real processes: gunicorn's stdout, a Celery worker's, manage.py's --------------------------------------------


@pytest.fixture
def process_env(clean_env: Callable[..., dict[str, str]]) -> Callable[..., dict[str, str]]:
    """The environment of a real process of ours, with every secret set the way production sets them."""
    private_key, public_key = jwt_key_pair()

    def make(**overrides: str) -> dict[str, str]:
        env = {
            "DJANGO_SETTINGS_MODULE": "planner.test_settings",
            # PostgreSQL here trusts local connections: the password is sent, and only has to stay unseen.
            "DATABASE_URL": database_url(connection.settings_dict, password=DB_PASSWORD),
            "REDIS_URL": settings.CACHES["default"]["LOCATION"],
            "DJANGO_SECRET_KEY": SETTINGS_SECRETS["SECRET_KEY"],
            "JWT_PRIVATE_KEY": private_key,
            "JWT_PUBLIC_KEY": public_key,
            **{name: value for name, value in SETTINGS_SECRETS.items() if name != "SECRET_KEY"},
            "METRICS_PORT": str(free_port()),
            "PYTHONUNBUFFERED": "1",
        }
        return clean_env(**{**env, **overrides})

    return make


@pytest.mark.django_db(transaction=True)
def test_a_real_server_writes_no_secret_to_stdout(process_env: Callable[..., dict[str, str]], tmp_path: Path) -> None:
    env = process_env()
    user = UserFactory(password=PASSWORD)
    calendar = Calendar.objects.filter(owner=user).first() or Calendar.objects.create(owner=user, name="Mine")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    output = tmp_path / "gunicorn.log"
    command = gunicorn_command(f"127.0.0.1:{port}", "--workers", "1")
    headers = {"Cookie": f"{SESSION_COOKIE}={SESSION_VALUE}; csrftoken={CSRF_VALUE}", "X-Request-ID": "leak-probe-real"}
    # Stopped before its output is read: everything it wrote is in the file by then.
    with running(command, log=output, env=env, stop_timeout=20) as server:
        wait_for_url(f"{base}/health", timeout=60, child=server)
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            tokens = http.post("/api/v1/auth/token", json={"email": user.email, "password": PASSWORD}).json()
            assert {"access", "refresh"} <= set(tokens), tokens
            http.post("/api/v1/auth/token", json={"email": user.email, "password": PASSWORD + "-wrong"})
            assert http.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access']}"}).status_code == 200
            http.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['refresh']}"})
            http.get(
                f"/api/v1/events?access_token={OAUTH_ACCESS_TOKEN}",
                headers={"Authorization": f"Bearer {OAUTH_ACCESS_TOKEN}"},
            )
            http.post("/api/v1/auth/token/refresh", json={"refresh": tokens["refresh"]})
            assert http.get(f"/feeds/{calendar.feed_token}.ics").status_code == 200
            ready, metrics = http.get("/ready"), http.get("/metrics")
    stdout = output.read_text()
    secrets = {
        **SETTINGS_SECRETS,
        "JWT_PRIVATE_KEY": env["JWT_PRIVATE_KEY"],
        "database password": DB_PASSWORD,
        "access token": tokens["access"],
        "refresh token": tokens["refresh"],
        "feed token": str(calendar.feed_token),
        "password": PASSWORD,
        "session cookie": SESSION_VALUE,
        "csrf cookie": CSRF_VALUE,
        "oauth access token": OAUTH_ACCESS_TOKEN,
    }
    assert_no_secrets(
        stdout,
        secrets,
        markers=['"request_id": "leak-probe-real"', '"path": "/api/v1/me"', '"/feeds/[redacted].ics"'],
        where="gunicorn's stdout",
    )
    assert_no_secrets(ready.text, secrets, markers=["status"], where="/ready (real server)")
    assert_no_secrets(metrics.text, secrets, markers=["django_http_requests"], where="/metrics (real server)")


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_whose_provider_fails_writes_no_key(
    process_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    from apps.events.tasks import sync_source

    source = event_services.source_create(provider="ticketmaster", name="tm-worker", near=(52.52, 13.405))
    output = tmp_path / "worker.log"
    with serve(echo_the_request) as provider_url:
        env = process_env(TICKETMASTER_API_URL=provider_url)
        command = [
            tool("celery"), "-A", "planner", "worker", "--queues=sync", "--pool=solo",
            "--without-gossip", "--without-mingle", "--loglevel=INFO",
        ]  # fmt: skip
        with running(command, log=output, env=env, stop_timeout=20):
            run_id = sync_source.delay(source.pk).get(timeout=90)
    stdout = output.read_text()
    run = SyncRun.objects.get(pk=run_id)
    secrets = {**SETTINGS_SECRETS, "database password": DB_PASSWORD}
    assert_no_secrets(run.error, secrets, markers=["HTTP 400", "apikey=[redacted]"], where="SyncRun.error (worker)")
    assert_no_secrets(
        stdout, secrets, markers=["sync_failed", "HTTP 400", "apikey=[redacted]"], where="the worker's stdout"
    )


@pytest.mark.django_db(transaction=True)
def test_manage_py_command_errors_print_no_secret(process_env: Callable[..., dict[str, str]]) -> None:
    source = event_services.source_create(provider="ticketmaster", name="tm-command", near=(52.52, 13.405))
    with serve(echo_the_request) as provider_url:
        failed_sync = subprocess.run(
            [sys.executable, "manage.py", "sync_events", source.name],
            cwd=ROOT,
            env=process_env(TICKETMASTER_API_URL=provider_url),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert failed_sync.returncode == 1
    # No database at all: the command dies on a traceback, whose text must not name the password either.
    dead_database = subprocess.run(
        [sys.executable, "manage.py", "sync_events", "--all"],
        cwd=ROOT,
        env=process_env(DATABASE_URL=f"postgres://planner:{DB_PASSWORD}@127.0.0.1:{free_port()}/planner"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dead_database.returncode != 0
    secrets = {**SETTINGS_SECRETS, "database password": DB_PASSWORD}
    assert_no_secrets(
        failed_sync.stdout + failed_sync.stderr,
        secrets,
        markers=["CommandError: Sync did not complete for: tm-command", "HTTP 400", "apikey=[redacted]"],
        where="manage.py sync_events",
    )
    assert_no_secrets(
        dead_database.stdout + dead_database.stderr,
        secrets,
        markers=["OperationalError", "Traceback"],
        where="manage.py with an unreachable database",
    )
