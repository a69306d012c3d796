"""Ports on loopback, and waiting for a server to answer."""

import socket
import time
from collections.abc import Callable

import httpx

from scripts.support.processes import Child

LOOPBACK = "127.0.0.1"


class NotAnswering(RuntimeError):
    """A URL gave no accepted answer in time. `last` is the last answer: a response, or the error seen."""

    def __init__(self, message: str, last: httpx.Response | str) -> None:
        super().__init__(message)
        self.last = last


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nothing listens on right now (the system picks it; another process could take it before the
    caller binds it, which on loopback in a test run does not happen in practice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_answers(host: str, port: int, timeout: float = 3) -> bool:
    """Whether something accepts a TCP connection there."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def any_answer(_response: httpx.Response) -> bool:
    return True


def ok(response: httpx.Response) -> bool:
    return response.status_code == 200


def wait_for_url(
    url: str,
    *,
    timeout: float = 60,
    accept: Callable[[httpx.Response], bool] = any_answer,
    child: Child | None = None,
    interval: float = 0.2,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """GETs `url` until `accept` takes the answer (by default any HTTP answer at all) and returns it. Raises
    NotAnswering after `timeout` seconds, and ChildExited at once if `child` (the server) has ended."""
    deadline = time.monotonic() + timeout
    last: httpx.Response | str = "no answer"
    while True:
        if child is not None:
            child.check_running()
        try:
            last = httpx.get(url, headers=headers, timeout=max(1.0, min(5.0, timeout / 10)))
            if accept(last):
                return last
        except httpx.HTTPError as error:
            last = repr(error)
        if time.monotonic() >= deadline:
            shown = last if isinstance(last, str) else f"{last.status_code} {last.text[:500]}"
            tail = f"\n{child.output()}" if child is not None else ""
            raise NotAnswering(f"{url} gave no accepted answer within {timeout:.0f} s (last: {shown}){tail}", last)
        time.sleep(interval)
