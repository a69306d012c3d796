"""planner.gunicorn_worker.EventLoopThreadWorker under a real gunicorn, on loopback, serving a probe app
(gunicorn_probe_app.py) that says which process and thread answered."""

import concurrent.futures
import contextlib
import http.client
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.support.network import LOOPBACK, free_port, ok, wait_for_url
from scripts.support.processes import Child, descendants, start, tool

WORKER = "planner.gunicorn_worker.EventLoopThreadWorker"


@contextlib.contextmanager
def serving(tmp_path: Path, *args: str) -> Iterator[tuple[str, Child]]:
    """One worker of ours serving the probe app, with further gunicorn `args`."""
    port = free_port()
    command = [tool("gunicorn"), "tests.deploy.gunicorn_probe_app:application", "--bind", f"{LOOPBACK}:{port}"]
    command += ["--worker-class", WORKER, "--workers", "1", "--keep-alive", "30", *args]
    child = start(command, log=tmp_path / "gunicorn.log", env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        wait_for_url(f"http://{LOOPBACK}:{port}/", timeout=60, accept=ok, child=child)
        yield f"http://{LOOPBACK}:{port}", child
    finally:
        child.stop(timeout=15)


def answer(connection: http.client.HTTPConnection, path: str = "/") -> dict[str, Any]:
    connection.request("GET", path)
    response = connection.getresponse()
    assert response.status == 200
    served: dict[str, Any] = json.loads(response.read())
    return served


def test_one_thread_serves_on_the_event_loop_and_keeps_the_connection(tmp_path: Path) -> None:
    with serving(tmp_path, "--threads", "1") as (url, _):
        connection = http.client.HTTPConnection(LOOPBACK, int(url.rsplit(":", 1)[1]), timeout=10)
        first = answer(connection)
        local_port = connection.sock.getsockname()[1]
        second = answer(connection)
        assert connection.sock.getsockname()[1] == local_port  # the same keep-alive connection
        connection.close()
    assert first["thread"] == second["thread"] == "MainThread"
    assert first["pid"] == second["pid"]


def test_more_threads_serve_on_the_pool_as_gthread_does(tmp_path: Path) -> None:
    with serving(tmp_path, "--threads", "2") as (url, _):
        served = httpx.get(url, timeout=10).json()
    assert served["thread"] != "MainThread"


def test_a_long_pipeline_on_one_connection_is_answered_in_full(tmp_path: Path) -> None:
    """Requests read ahead are served one after another, not by nested calls that would exhaust the stack."""
    pipelined = 3000
    with serving(tmp_path, "--threads", "1") as (url, _):
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection((LOOPBACK, port), timeout=30) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: probe\r\n\r\n" * pipelined)
            received = b""
            while received.count(b"HTTP/1.1 200 OK") < pipelined:
                chunk = sock.recv(1 << 16)
                if not chunk:
                    break
                received += chunk
    assert received.count(b"HTTP/1.1 200 OK") == pipelined


def held(tmp_path: Path) -> Path:
    """A folder for the probe app's ?hold= (gunicorn_probe_app.py)."""
    folder = tmp_path / "hold"
    folder.mkdir()
    return folder


def wait_for_file(path: Path, child: Child, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        child.check_running()
        assert time.monotonic() < deadline, f"{path.name} never appeared:\n{child.output()}"
        time.sleep(0.02)


def test_a_request_in_flight_finishes_when_the_worker_is_told_to_stop(tmp_path: Path) -> None:
    hold = held(tmp_path)
    with serving(tmp_path, "--threads", "1", "--graceful-timeout", "20") as (url, child):
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            answer_later = pool.submit(httpx.get, f"{url}/?hold={hold}", timeout=30)
            wait_for_file(hold / "started", child)  # the request is in the worker's hands
            os.kill(child.pid, signal.SIGTERM)
            (hold / "release").touch()
            response = answer_later.result()
        assert child.process.wait(timeout=30) == 0
    assert response.status_code == 200
    assert response.json()["thread"] == "MainThread"


def test_a_request_past_the_timeout_has_its_worker_replaced(tmp_path: Path) -> None:
    """A request holding the event loop stops the worker's heartbeat: the master replaces the worker."""
    hold = held(tmp_path)  # never released: the app would hold the request for a minute
    with serving(tmp_path, "--threads", "1", "--timeout", "2") as (url, child):
        (first_worker,) = descendants(child.pid)
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{url}/?hold={hold}", timeout=45)  # the connection closes when the worker is killed
        served = wait_for_url(url, timeout=30, accept=ok, child=child).json()
    assert served["pid"] != first_worker


# --- Spreading connections over the workers -------------------------------------------------------------------


def _connect(port: int) -> tuple[http.client.HTTPConnection, int]:
    """A keep-alive connection, and the worker that answered its first request."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
    return connection, answer(connection)["pid"]


def _second_worker(child: Child, port: int, first: int) -> int:
    """Adds a worker (TTIN) and returns its pid once it answers: a new connection goes to it, since it holds none."""
    os.kill(child.pid, signal.SIGTTIN)
    deadline = time.monotonic() + 60
    while True:
        child.check_running()
        assert time.monotonic() < deadline, f"the second worker never answered:\n{child.output()}"
        probe, pid = _connect(port)
        probe.close()
        if pid != first:
            time.sleep(0.3)  # it sees the probe's connection close on its loop's next turn
            return pid
        time.sleep(0.2)


def test_new_connections_go_to_the_worker_that_holds_the_fewest(tmp_path: Path) -> None:
    with serving(tmp_path, "--threads", "1") as (url, child):
        port = int(url.rsplit(":", 1)[1])
        held_by_first = [_connect(port) for _ in range(6)]
        first = held_by_first[0][1]
        assert {pid for _, pid in held_by_first} == {first}
        second = _second_worker(child, port, first)
        opened = []
        for _ in range(6):
            opened.append(_connect(port))
            time.sleep(0.05)  # the worker that accepted counts it before the next one arrives
        try:
            # With the kernel or the first to wake choosing, all six going to one of two workers is 1 in 64.
            assert [pid for _, pid in opened] == [second] * 6
        finally:
            for connection, _ in held_by_first + opened:
                connection.close()


def test_a_worker_stuck_in_a_request_stops_counting_after_a_while(tmp_path: Path) -> None:
    hold = held(tmp_path)
    with serving(tmp_path, "--threads", "1") as (url, child):
        port = int(url.rsplit(":", 1)[1])
        held_by_first = [_connect(port) for _ in range(2)]
        first = held_by_first[0][1]
        second = _second_worker(child, port, first)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            stuck = pool.submit(httpx.get, f"{url}/?hold={hold}", timeout=60)  # to the second: it holds none
            wait_for_file(hold / "started", child)
            started = time.monotonic()
            connection, pid = _connect(port)  # the first holds more, but the second's loop has stopped turning
            waited = time.monotonic() - started
            (hold / "release").touch()
            assert stuck.result().json()["pid"] == second
        connection.close()
        for held_connection, _ in held_by_first:
            held_connection.close()
    assert pid == first
    assert waited < 10  # BEAT_FRESH_S (2 s) and a turn of the first worker's loop (at most 1 s), with room
