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

The workers also spread connections evenly. A keep-alive connection stays with the worker that accepted it (the
ALB keeps its connections for minutes), so how connections are spread when they are accepted is how the load is
spread for as long as they live. With SO_REUSEPORT the kernel hashes each new connection to one worker's socket:
16 connections came out 11 and 5 in some runs, and the busier worker's queue set the p95 (docs/benchmarks.md,
eleventh pass). Here the workers share one socket (docker/gunicorn.conf.py: reuse_port off), and a worker accepts
only while it holds no more connections than any sibling that is listening and serving: the least loaded takes the
next one. Each worker writes its count to a table in memory the master shares with them (`_Board`) when it accepts
and on every turn of its loop, and asks the table again before each accept. A sibling whose loop has not turned for
BEAT_FRESH_S (stuck in a long request) stops counting, so even then a new connection waits that long at most; with
SO_REUSEPORT it waited for that worker to finish or be killed.
"""

import mmap
import multiprocessing
import os
import struct
import time
from collections import deque
from concurrent import futures
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

# A worker's loop turns at least once a second (gthread's select timeout) whether or not it has work.
BEAT_FRESH_S = 2.0
SLOTS = 64  # workers of one master at once; any beyond take connections as gunicorn does, without counting
# pid (0: free), connections held, time.monotonic() of the loop's last turn, whether it is listening for connections
_SLOT = struct.Struct("=qqdq")


class _Board:
    """How many connections each worker holds, in memory mapped before the master forks them (shared with each)."""

    def __init__(self) -> None:
        self.memory = mmap.mmap(-1, _SLOT.size * SLOTS)
        self.whole = struct.Struct("=" + "qqdq" * SLOTS)
        self.lock = multiprocessing.Lock()  # claiming a slot; writes to one's own slot need none

    def claim(self, pid: int) -> int | None:
        if not self.lock.acquire(timeout=1):
            return None
        try:
            for slot in range(SLOTS):
                owner = _SLOT.unpack_from(self.memory, slot * _SLOT.size)[0]
                if owner == 0 or not _alive(owner):
                    self.publish(slot, pid, 0, listening=False)
                    return slot
            return None
        finally:
            self.lock.release()

    def publish(self, slot: int, pid: int, connections: int, *, listening: bool) -> None:
        _SLOT.pack_into(self.memory, slot * _SLOT.size, pid, connections, time.monotonic(), listening)

    def release(self, slot: int) -> None:
        _SLOT.pack_into(self.memory, slot * _SLOT.size, 0, 0, 0.0, False)

    def fewest_elsewhere(self, slot: int) -> int | None:
        """The fewest connections any other worker holds that is listening and serving (None: there is none).

        A sibling that stopped listening (it held more, or is stopping) is not waited for: it listens again on its
        loop's next turn, which may be a second away when it is idle."""
        values = self.whole.unpack_from(self.memory)
        now, fewest = time.monotonic(), None
        for other in range(SLOTS):
            pid, connections, beat, listening = values[4 * other : 4 * other + 4]
            if not pid or other == slot or not listening or now - beat >= BEAT_FRESH_S:
                continue
            if fewest is None or connections < fewest:
                fewest = connections
        return fewest


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_board: _Board | None = None  # made in the master, by the first worker it creates


class EventLoopThreadWorker(ThreadWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ready: deque[Any] = deque()
        self._serving = False
        global _board  # one board per master, inherited by every worker it forks
        if _board is None and not self.cfg.reuse_port:  # with SO_REUSEPORT each worker has its own socket
            _board = _Board()
        self._board = _board
        self._slot: int | None = None

    def run(self) -> None:
        if self._board is not None:
            self._slot = self._board.claim(os.getpid())
        try:
            super().run()
        finally:
            self._leave_board()

    def _leave_board(self) -> None:
        if self._board is not None and self._slot is not None:
            self._board.release(self._slot)
            self._slot = None

    def _may_accept(self) -> bool:
        if self._board is None or self._slot is None:
            return True
        fewest = self._board.fewest_elsewhere(self._slot)
        return fewest is None or self.nr_conns <= fewest

    def _publish(self) -> None:
        if self._board is not None and self._slot is not None:
            self._board.publish(self._slot, self.pid, self.nr_conns, listening=self._accepting)

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled and self._may_accept())
        self._publish()

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        if self._board is not None and self._slot is not None:
            if not self.alive:
                self._leave_board()  # stopping: it accepts nothing more, so siblings must not wait for it
            elif self.nr_conns < self.worker_connections:
                self.set_accept_enabled(True)  # or not, if a sibling now holds fewer connections (and publish)
            else:
                self._publish()
        super().wait_for_and_dispatch_events(timeout)

    def accept(self, listener: Any) -> None:
        # The listener may have been registered since before a sibling came to hold fewer: ask again, and leave the
        # connection in the backlog for that sibling (woken by the same socket) when it is its turn.
        if not self._may_accept():
            self.set_accept_enabled(False)
            return
        super().accept(listener)

    def enqueue_req(self, conn: Any) -> None:
        self._publish()  # before serving: a connection just accepted counts for siblings at once
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
