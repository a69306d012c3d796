"""A throw-away moto server (AWS emulator) on 127.0.0.1, for the tests, the benchmarks and manual runs.

moto lives in the Ansible tools' virtualenv (`make tools`): its pins clash with the app's.
"""

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
MOTO_SERVER = ROOT / ".venvs" / "ansible" / "bin" / "moto_server"


class MotoServerError(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def moto_server(log: Path, *, start_timeout: float = 60) -> Iterator[str]:
    """Starts moto_server on a free loopback port, yields its URL once it answers, and stops it afterwards.

    AWS-managed IAM policies (e.g. AmazonEKSClusterPolicy) exist in moto only when it is asked to load them;
    AWS always has them, so they are loaded."""
    if not MOTO_SERVER.exists():
        raise MotoServerError(f"{MOTO_SERVER} is missing: run `make tools` (the Ansible tools' virtualenv has moto)")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + start_timeout
            while True:
                if process.poll() is not None:
                    raise MotoServerError(f"moto_server exited with {process.returncode}; see {log}")
                try:
                    httpx.get(f"{url}/moto-api/", timeout=1)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise MotoServerError(f"moto_server did not answer within {start_timeout} s") from None
                    time.sleep(0.2)
            yield url
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
