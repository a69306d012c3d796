"""Shared pieces for faking providers at the network boundary.

- `FakeClock`: a clock whose `sleep` only moves time forward, so retries, back-off and pacing never wait
  and tests can still read what would have been slept.
- `serve(handler)`: runs a fake provider handler (`httpx.Request -> httpx.Response`, the same function an
  `httpx.MockTransport` takes) behind a real HTTP server on 127.0.0.1, for tests that must go through real
  sockets and the connector's own client.
"""

import contextlib
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

Handler = Callable[[httpx.Request], httpx.Response]


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
