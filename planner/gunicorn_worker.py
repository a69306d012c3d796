"""The web role's gunicorn worker (docker/gunicorn.conf.py): gthread, with one thread serving on the event loop's.

gunicorn's gthread worker hands every request from its event loop (the main thread) to a pool thread and the answer
back through a pipe. With one pool thread, as the image runs it, that handoff bought nothing and cost more than any
other single part of a request (about 14% of its CPU): the two threads took the GIL from each other on every
request, and runs of the same benchmark settled either at 1.3 or at 1.7 ms of CPU a GET /api/v1/me
(docs/benchmarks.md, sixth pass). Here, with
one thread, the event loop serves each request itself; with more, requests go to the pool as in gthread.

Serving on the event loop changes one thing besides the cost: a request running past `timeout` stops the loop's
heartbeat, so the master replaces the worker (as with gunicorn's sync worker), where gthread's loop kept beating
and the hung thread held the worker's only slot for good. HTTP/1.1 only, as the config leaves gunicorn
(`http_protocols` h1): an HTTP/2 connection would hold the loop for as long as it lasts, as it would hold gthread's
one pool thread.
"""

from collections import deque
from concurrent import futures
from typing import Any

from gunicorn.workers.gthread import ThreadWorker


class EventLoopThreadWorker(ThreadWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ready: deque[Any] = deque()
        self._serving = False

    def enqueue_req(self, conn: Any) -> None:
        if self.cfg.threads > 1:
            super().enqueue_req(conn)
            return
        self._ready.append(conn)
        if self._serving:
            # finish_request() queues a connection whose next request was already read (pipelining): served by
            # the loop below, not by a call in a call, so a long pipeline cannot exhaust the stack.
            return
        self._serving = True
        try:
            while self._ready:
                ready = self._ready.popleft()
                done: futures.Future[Any] = futures.Future()
                # handle() answers its own errors (a 500, or the connection closed) and returns whether to keep the
                # connection; what escapes it (SystemExit from gunicorn's signal handlers) must stop the worker.
                done.set_result(self.handle(ready))
                self.finish_request(ready, done)
        finally:
            self._serving = False
