"""A throwaway moto server (AWS emulator) on 127.0.0.1, for the tests, the benchmarks and manual runs.

moto lives in the Ansible tools' virtualenv (`make tools`): its pins clash with the app's.
"""

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from scripts.support.network import LOOPBACK, NotAnswering, free_port, wait_for_url
from scripts.support.processes import ROOT, ChildExited, running

MOTO_SERVER = ROOT / ".venvs" / "ansible" / "bin" / "moto_server"


class MotoServerError(RuntimeError):
    pass


@contextlib.contextmanager
def moto_server(log: Path, *, start_timeout: float = 60) -> Iterator[str]:
    """Starts moto_server on a free loopback port, yields its URL once it answers, and stops it afterwards.

    AWS-managed IAM policies (e.g. AmazonEKSClusterPolicy) exist in moto only when it is asked to load them;
    AWS always has them, so they are loaded."""
    if not MOTO_SERVER.exists():
        raise MotoServerError(f"{MOTO_SERVER} is missing: run `make tools` (the Ansible tools' virtualenv has moto)")
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    with running([str(MOTO_SERVER), "-H", LOOPBACK, "-p", str(port)], log=log, env=env) as child:
        try:
            wait_for_url(f"{url}/moto-api/", timeout=start_timeout, child=child)
        except (ChildExited, NotAnswering) as error:
            raise MotoServerError(f"moto_server did not start (see {log}): {error}") from None
        yield url
