"""A fake iCalendar feed at the network boundary, and builders for RFC 5545 text.

`vevent(...)` writes one VEVENT from keyword properties (values as they appear on the wire, so a test can
write exactly what a publisher would), `vcalendar(...)` wraps them with the usual header and optional
VTIMEZONE / X-WR-TIMEZONE, and `FakeFeed` serves the text (as `text/calendar`) with failures scripted per
request: 429 with Retry-After, 5xx, a body that is not iCalendar, a private feed's 401 (and the shared timeout).

    fake = FakeFeed(vcalendar(vevent(UID="a@x", DTSTART="20261205T190000Z", SUMMARY="Jazz")), clock=clock)
    connector = build_connector(source, fake)
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from apps.events import services
from apps.events.models import Source
from apps.events.sources.ics import IcsConnector
from apps.events.tests.fakes import network
from apps.events.tests.fakes.contract import ContractKit, Unusable, title
from apps.events.tests.fakes.network import FakeClock, FakeProvider, Responder

FEED_URL = "https://calendar.example.test/kulturbrauerei/events.ics"
CALENDAR_TYPE = "text/calendar; charset=utf-8"

# The VTIMEZONE that publishers (Google, Outlook, Thunderbird) embed for Europe/Berlin.
VTIMEZONE_BERLIN = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
X-LIC-LOCATION:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE"""


def vevent(**properties: Any) -> str:
    """One VEVENT. Keys are property names (`DTSTART;TZID=Europe/Berlin` works); a list value repeats it.

    DTSTAMP is added unless given; a None value leaves the property out (e.g. `UID=None`).
    """
    properties.setdefault("DTSTAMP", "20261101T120000Z")
    lines = ["BEGIN:VEVENT"]
    for name, value in properties.items():
        if value is None:
            continue
        for single in value if isinstance(value, list) else [value]:
            lines.append(f"{name.replace('__', '-')}:{single}")
    lines.append("END:VEVENT")
    return "\n".join(lines)


def vcalendar(
    *events: str, x_wr_timezone: str | None = None, timezones: tuple[str, ...] = (), name: str = "Kulturbrauerei"
) -> str:
    header = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Kulturbrauerei//Programm//DE",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ]
    header.append(f"X-WR-CALNAME:{name}")
    if x_wr_timezone:
        header.append(f"X-WR-TIMEZONE:{x_wr_timezone}")
    body = "\n".join([*header, *timezones, *events, "END:VCALENDAR"])
    return body.replace("\n", "\r\n") + "\r\n"


# --- Failures ------------------------------------------------------------------------------------------------


def rate_limited(retry_after: int | str = 3) -> Responder:
    return lambda request: httpx.Response(429, text="Too Many Requests", headers={"Retry-After": str(retry_after)})


def server_error(status: int = 503) -> Responder:
    return lambda request: httpx.Response(status, text="Service Unavailable")


def unauthorized() -> Responder:
    return lambda request: httpx.Response(
        401, text="Unauthorized", headers={"WWW-Authenticate": 'Basic realm="calendar"'}
    )


def not_a_calendar() -> Responder:
    """What a moved feed often answers: a 200 with an HTML page."""
    html = "<!doctype html><html><head><title>Programm</title></head><body>Calendar moved</body></html>"
    return lambda request: httpx.Response(200, text=html, headers={"Content-Type": "text/html; charset=utf-8"})


def broken_calendar() -> Responder:
    """A calendar cut off before its first component ends."""
    text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:cut@x\r\nDTSTART:2026"
    return lambda request: httpx.Response(200, text=text, headers={"Content-Type": CALENDAR_TYPE})


# --- The fake feed ---------------------------------------------------------------------------------------------


class FakeFeed(FakeProvider):
    """Serves `text` at any path; `redirect_from` paths answer 301 to `FEED_URL`'s path first."""

    def __init__(self, text: str = "", *, clock: FakeClock, redirect_from: str | None = None) -> None:
        super().__init__(clock=clock)
        self.text = text
        self.redirect_from = redirect_from

    def answer(self, request: httpx.Request) -> httpx.Response:
        if self.redirect_from and request.url.path == self.redirect_from:
            return httpx.Response(301, headers={"Location": str(request.url.copy_with(path=httpx.URL(FEED_URL).path))})
        return httpx.Response(200, content=self.text.encode(), headers={"Content-Type": CALENDAR_TYPE})


def build_connector(source: Source, fake: FakeFeed, *, max_bytes: int | None = None) -> IcsConnector:
    """The real connector on the fake's transport and clock, paced as in production; `max_bytes` lowers the cap."""
    connector = network.build_connector(IcsConnector, source, fake)
    if max_bytes is not None:
        connector.max_bytes = max_bytes
    return connector


# --- The connector contract ---------------------------------------------------------------------------------


class Contract(ContractKit[FakeFeed]):
    provider = "ics"
    fake_class = FakeFeed
    id_format = "contract-{}@kulturbrauerei.de"
    malformed_marker = "FeedError"
    credentials_markers = ("answered 401",)

    def source(self, name: str, base_url: str | None = None) -> Source:
        url = f"{base_url}{httpx.URL(FEED_URL).path}" if base_url else FEED_URL
        return services.source_create(provider="ics", name=name, options={"url": url})

    def serve(self, fake: FakeFeed, events: Sequence[Any]) -> None:
        fake.text = vcalendar(*events)

    def event(self, number: int, start: datetime, *, cancelled: bool = False) -> Any:
        return vevent(
            UID=self.provider_id(number),
            DTSTART=_utc_text(start),
            SUMMARY=title(number),
            STATUS="CANCELLED" if cancelled else "CONFIRMED",
        )

    def undated_event(self, number: int, day: datetime) -> tuple[Any, str]:
        return vevent(UID=self.provider_id(number), SUMMARY=title(number)), "VEVENT without DTSTART"

    def unusable_events(self, day: datetime) -> list[Unusable]:
        no_start, without_dtstart = self.undated_event(2, day)
        garbled = vevent(UID=self.provider_id(3), DTSTART=day.strftime("%Y-%m-%d %H:%M"), SUMMARY=title(3))
        return [
            Unusable(vevent(UID=None, DTSTART=_utc_text(day), SUMMARY=title(1)), None, "VEVENT without UID"),
            Unusable(no_start, self.provider_id(2), without_dtstart),
            Unusable(garbled, self.provider_id(3), "unreadable DTSTART"),
            Unusable(vevent(UID=self.provider_id(4), DTSTART=_utc_text(day)), self.provider_id(4), "missing title"),
        ]

    def reject_credentials(self, settings: Any, fake: FakeProvider) -> str:
        fake.fail_next(unauthorized())  # a private feed: refused before anything else is asked
        return ""

    def misconfigure(self, settings: Any, source: Source) -> str:
        source.options = {"url": "ftp://example.test/a.ics"}
        return "options.url"


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


CONTRACT = Contract(
    rate_limits={"retry-after": lambda clock, seconds: rate_limited(retry_after=int(seconds))},
    server_error=server_error,
    malformed_body=broken_calendar,
)
