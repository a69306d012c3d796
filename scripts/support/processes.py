"""Child processes started in a session (and so a process group) of their own, with their output in a file.

A process group lets a stop reach everything the child started (gunicorn's workers, Celery's pool), and a file
never fills up the way an unread pipe does and stops the child.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[2]


class ChildExited(RuntimeError):
    """A child ended while it was expected to keep running; the message has the end of its output."""


@dataclass
class Child:
    argv: list[str]
    process: subprocess.Popen[bytes]
    log: Path | None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def name(self) -> str:
        return Path(self.argv[0]).name

    def output(self, last_chars: int = 4000) -> str:
        """The end of what the child wrote so far (empty when its output was not sent to a file)."""
        if self.log is None:
            return ""
        try:
            return self.log.read_text(errors="replace")[-last_chars:]
        except OSError:
            return ""

    def check_running(self) -> None:
        """Raises ChildExited, with the end of its output, if the child has ended."""
        if self.process.poll() is not None:
            raise ChildExited(f"{self.name} exited with {self.process.returncode}:\n{self.output()}")

    def stop(self, timeout: float = 10) -> bool:
        """See stop_all; True when the child ended on SIGTERM."""
        return stop_all([self], timeout=timeout)


def start(argv: list[str], *, log: Path | None, env: Mapping[str, str] | None = None, cwd: Path = ROOT) -> Child:
    """Starts argv in a new session with stdout and stderr going to the file `log` (created, parents too), or
    to this process's own output when `log` is None."""
    if log is None:
        process = subprocess.Popen(argv, cwd=cwd, env=env, start_new_session=True)
    else:
        log.parent.mkdir(parents=True, exist_ok=True)
        # The child writes to its own copy of the descriptor; ours is closed once it has started.
        with log.open("wb") as output:
            process = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
    return Child(argv=argv, process=process, log=log)


def stop_all(children: Iterable[Child], timeout: float = 10) -> bool:
    """SIGTERM to each child's process group at once, up to `timeout` seconds for each child to end by itself,
    then SIGKILL to the group of any that did not. What is left of a group after its leader ended (workers that
    outlived their master) is killed too: it would hold ports and CPUs. True when every child ended on SIGTERM."""
    children = list(children)
    for child in children:
        _signal_group(child.pid, signal.SIGTERM)
    graceful = True
    for child in children:
        try:
            child.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            graceful = False
            _signal_group(child.pid, signal.SIGKILL)
            child.process.wait(timeout=30)
        _signal_group(child.pid, signal.SIGKILL)
    return graceful


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


@contextlib.contextmanager
def running(
    argv: list[str],
    *,
    log: Path | None,
    env: Mapping[str, str] | None = None,
    cwd: Path = ROOT,
    stop_timeout: float = 10,
) -> Iterator[Child]:
    """start(), and stop_all() afterwards whatever happens."""
    child = start(argv, log=log, env=env, cwd=cwd)
    try:
        yield child
    finally:
        child.stop(timeout=stop_timeout)


def exit_on_termination_signals() -> None:
    """SIGTERM and SIGHUP raise SystemExit in this process, so that its `finally` blocks stop its children
    (Python's default for them ends the process at once, leaving the children running)."""

    def terminate(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)


def tool(name: str) -> str:
    """A command installed with the project (gunicorn, celery): beside this interpreter, in the repository's
    .venv, or on PATH."""
    for candidate in (Path(sys.executable).parent / name, ROOT / ".venv" / "bin" / name):
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found (looked beside {sys.executable}, in .venv/bin and on PATH)")
    return found


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children, ...), parents before their children."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(stat.parent.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(0), []):
            found.append(child)
            pending.append(child)
    return found


def cmdline(pid: int) -> list[str]:
    """The argv of a running process; empty once it is gone."""
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    return []
