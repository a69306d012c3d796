"""Shared pieces for faking providers at the network boundary.

- `FakeClock`: a clock whose `sleep` only moves time forward, so retries, back-off and pacing never wait
  and tests can still read what would have been slept.
- `FakeProvider`: what every fake provider does around its own answers: it keeps each request (and when it
  came), and answers with scripted failures first (`fail_next`), then as the provider would (`answer`).
- `build_connector(cls, source, fake)`: the real connector on the fake's transport and clock.
- `serve(handler)`: runs a fake provider handler (`httpx.Request -> httpx.Response`, the same function an
  `httpx.MockTransport` takes) behind a real HTTP server on 127.0.0.1, for tests that must go through real
  sockets and the connector's own client.
"""

import contextlib
import threading
from collections import deque
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, TypeVar

import httpx

from apps.core.http import RateLimiter
from apps.events.sources.base import Connector

if TYPE_CHECKING:
    from apps.events.models import Source

Handler = Callable[[httpx.Request], httpx.Response]
Responder = Handler  # one scripted answer to one request
C = TypeVar("C", bound=Connector)


class FakeClock:
    """`time()` for retry policies and rate limiters; `sleep()` records the wait and advances the clock."""

    def __init__(self, start: datetime | float) -> None:
        self.now = start.timestamp() if isinstance(start, datetime) else float(start)
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)

    @property
    def slept(self) -> float:
        return sum(self.sleeps)


class FakeProvider:
    """Keeps every request (`requests`, and on the clock `request_times`) and answers it: with the next scripted
    responder while there is one, else with `answer`, the provider's normal answer."""

    def __init__(self, *, clock: FakeClock) -> None:
        self.clock = clock
        self.requests: list[httpx.Request] = []
        self.request_times: list[float] = []
        self._script: deque[Responder] = deque()

    def fail_next(self, *responders: Responder) -> None:
        """The next requests get these answers, one each, before the provider answers normally again."""
        self._script.extend(responders)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.request_times.append(self.clock.now)
        if self._script:
            return self._script.popleft()(request)
        return self.answer(request)

    def answer(self, request: httpx.Request) -> httpx.Response:
        raise NotImplementedError


def dropped() -> Responder:
    """The provider closes the connection before its answer is complete."""

    def respond(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body", request=request)

    return respond


def timeout() -> Responder:
    """The provider accepts the connection and never answers in time."""

    def respond(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out reading the answer", request=request)

    return respond


def build_connector(
    cls: type[C], source: "Source", fake: FakeProvider, *, paced: bool = True, page_size: int | None = None
) -> C:
    """The real connector talking to `fake`: nothing leaves the process and every wait only moves the fake's
    clock. Unpaced, its pacing never waits, so that `clock.sleeps` holds the retry waits alone."""
    clock = fake.clock
    limiter = None if paced else RateLimiter(1000.0, sleep=lambda seconds: None)
    return cls(
        source, transport=fake.transport, sleep=clock.sleep, clock=clock.time, rate_limiter=limiter, page_size=page_size
    )


# Hop-by-hop and framing headers are the server's business, not the fake's.
_SKIPPED_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding"}


@contextlib.contextmanager
def serve(handler: Handler) -> Iterator[str]:
    """Serve `handler` on 127.0.0.1 (a free port) and yield the base URL, e.g. "http://127.0.0.1:54321"."""

    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = httpx.Request(
                self.command,
                f"{base_url}{self.path}",
                headers=[(k, v) for k, v in self.headers.items() if k.lower() != "host"],
                content=body,
            )
            response = handler(request)
            content = response.read()
            self.send_response(response.status_code)
            for name, value in response.headers.multi_items():
                if name.lower() not in _SKIPPED_HEADERS:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = _answer  # the names http.server dispatches to
        do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            return  # quiet, like the real API

    server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
    base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="fake-provider", daemon=True)
    thread.start()
    try:
        yield base_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
