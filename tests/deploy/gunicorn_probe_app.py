"""A WSGI app for the worker tests only (tests/deploy/test_gunicorn_worker.py): it answers which process and thread
served the request. With `?hold=FOLDER` it first creates FOLDER/started and waits (up to a minute) for the test to
create FOLDER/release, so that a test knows a request is in the worker's hands and decides when it ends."""

import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

HOLD_AT_MOST_S = 60


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    hold = parse_qs(environ.get("QUERY_STRING", "")).get("hold")
    if hold:
        folder = Path(hold[0])
        (folder / "started").touch()
        deadline = time.monotonic() + HOLD_AT_MOST_S
        while not (folder / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    body = json.dumps({"pid": os.getpid(), "thread": threading.current_thread().name}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
