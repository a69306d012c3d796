"""The project (planner.wsgi) under gunicorn on a free loopback port."""

import contextlib
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from scripts.support.network import LOOPBACK, NotAnswering, free_port, ok, wait_for_url
from scripts.support.processes import Child, descendants, start, tool

READY_HOOK = Path(__file__).with_name("gunicorn_ready.py")
# docker/gunicorn.conf.py with the readiness mark: the server as the image runs it.
IMAGE_CONFIG = Path(__file__).with_name("gunicorn_image.py")
# Workers' heartbeat files in RAM rather than on disk, as gunicorn's documentation advises for containers.
SHM_DIR = Path("/dev/shm")  # noqa: S108 - not a place for secrets, only gunicorn's heartbeats


def gunicorn_command(bind: str, *args: str) -> list[str]:
    """gunicorn serving planner.wsgi on `bind` (HOST:PORT), with further command-line `args`."""
    return [tool("gunicorn"), "planner.wsgi:application", "--bind", bind, *args]


@dataclass
class Gunicorn:
    child: Child
    port: int
    workers: int
    ready_dir: Path

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def process_ids(self) -> list[int]:
        """The master, then its workers."""
        return [self.child.pid, *descendants(self.child.pid)]

    def ready_workers(self) -> int:
        """Workers alive now that have loaded the application (a replaced worker's mark does not count)."""
        marks = {int(path.name) for path in self.ready_dir.iterdir() if path.name.isdigit()}
        return len(marks & set(descendants(self.child.pid)))


@contextlib.contextmanager
def gunicorn(
    env: Mapping[str, str],
    *,
    log: Path,
    workers: int = 1,
    args: tuple[str, ...] | list[str] = (),
    ready_path: str = "/health",
    timeout: float = 120,
    stop_timeout: float = 15,
    config: Path = READY_HOOK,
) -> Iterator[Gunicorn]:
    """Starts gunicorn with `workers` workers and further `args` (worker class, threads, log level), its output
    in `log`; yields once every worker has loaded the application and `ready_path` answers 200. Stopped
    afterwards, whatever happens (processes.stop_all). Raises NotAnswering or ChildExited, with the end of the
    log, when it does not come up within `timeout` seconds. `config`: IMAGE_CONFIG for the image's settings."""
    port = free_port()
    ready_dir = Path(tempfile.mkdtemp(prefix="gunicorn-ready-"))
    command = gunicorn_command(f"{LOOPBACK}:{port}", "--workers", str(workers), *args, "--config", str(config))
    if SHM_DIR.is_dir():
        command += ["--worker-tmp-dir", str(SHM_DIR)]
    child = start(command, log=log, env={**env, "GUNICORN_READY_DIR": str(ready_dir)})
    server = Gunicorn(child=child, port=port, workers=workers, ready_dir=ready_dir)
    try:
        deadline = time.monotonic() + timeout
        while server.ready_workers() < workers:
            child.check_running()
            if time.monotonic() > deadline:
                ready = f"{server.ready_workers()} of {workers} workers"
                raise NotAnswering(f"gunicorn: {ready} ready within {timeout:.0f} s:\n{child.output()}", "no answer")
            time.sleep(0.2)
        wait_for_url(
            server.base_url + ready_path, timeout=max(1.0, deadline - time.monotonic()), accept=ok, child=child
        )
        yield server
    finally:
        child.stop(timeout=stop_timeout)
        shutil.rmtree(ready_dir, ignore_errors=True)
