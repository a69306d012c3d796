"""What the live server of the browser tests is serving, so that a test's teardown can wait for it (conftest.py's
`page` fixture)."""

import threading
import time

from django.core.signals import request_finished, request_started


class LiveServerActivity:
    """The requests the live server (threads of this process, not the test's own) is in the middle of.

    A page sends its last beacons as it is left or its browser context is closed (static/js/beacons.js flushes on
    pagehide): they reach the live server tens of milliseconds after `context.close()` returns. Landing while the
    test's database is flushed, a tracking write can deadlock with the flush's TRUNCATE; waiting for it, it writes its
    rows into the next test's database. So the page fixture waits until the server has been idle for a moment."""

    QUIET_SECONDS = 0.3
    LIMIT_SECONDS = 15.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Each thread serving a request, by its id. A thread that died without finishing its request (none should)
        # is not waited for.
        self._serving: dict[int, threading.Thread] = {}
        self._last_change = time.perf_counter()  # not the test's clock: time-machine leaves perf_counter alone

    def started(self, **_kwargs: object) -> None:
        thread = threading.current_thread()
        if thread is threading.main_thread():
            return  # the test's own client, not the live server
        with self._lock:
            self._serving[thread.ident or 0] = thread
            self._last_change = time.perf_counter()

    def finished(self, **_kwargs: object) -> None:
        thread = threading.current_thread()
        if thread is threading.main_thread():
            return
        with self._lock:
            self._serving.pop(thread.ident or 0, None)
            self._last_change = time.perf_counter()

    def quiet(self) -> bool:
        with self._lock:
            serving = any(thread.is_alive() for thread in self._serving.values())
            return not serving and time.perf_counter() - self._last_change >= self.QUIET_SECONDS

    def wait_until_quiet(self) -> None:
        """Returns once no request has been served for QUIET_SECONDS, or after LIMIT_SECONDS whatever is left."""
        deadline = time.perf_counter() + self.LIMIT_SECONDS
        while not self.quiet() and time.perf_counter() < deadline:
            time.sleep(0.02)


LIVE_SERVER_ACTIVITY = LiveServerActivity()
request_started.connect(LIVE_SERVER_ACTIVITY.started, dispatch_uid="live-server-activity-started")
request_finished.connect(LIVE_SERVER_ACTIVITY.finished, dispatch_uid="live-server-activity-finished")
