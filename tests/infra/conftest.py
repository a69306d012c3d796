"""The Ansible playbooks run against a moto server on 127.0.0.1, once per session; tests read AWS back with boto3.

Order matters across the files of this directory: the data-layer and site checks read what site.yml made,
then test_zz_absent.py deletes it all (kept last, even when the test order is shuffled).
"""

import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from scripts.support.moto import MotoServerError, moto_server

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = ROOT / "infra" / "ansible"
ANSIBLE_BIN = ROOT / ".venvs" / "ansible" / "bin"
# One directory per pytest process: sessions running side by side must not overwrite each other's logs.
LOG_DIR = ROOT / "test-results" / "ansible" / f"session-{os.getpid()}"
REGION = "us-west-2"
DR_REGION = "us-east-2"
# site.yml runs with the staging inventory: every resource is named after it.
STAGING_NAME = "weekend-planner-staging"
# One site.yml run against moto takes minutes on a shared machine; pytest's default 300 s is per test.
RUN_TIMEOUT = 1500
RECAP = re.compile(
    r"^localhost\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+"
    r"failed=(?P<failed>\d+)",
    re.MULTILINE,
)


@dataclass
class PlaybookRun:
    argv: list[str]
    returncode: int
    output: str
    seconds: float
    log: Path

    @property
    def recap(self) -> dict[str, int]:
        found = RECAP.findall(self.output)
        assert found, f"no PLAY RECAP in the output (see {self.log}):\n{self.output[-3000:]}"
        ok, changed, unreachable, failed = (int(n) for n in found[-1])
        return {"ok": ok, "changed": changed, "unreachable": unreachable, "failed": failed}

    def tail(self, chars: int = 6000) -> str:
        return f"(full log: {self.log})\n{self.output[-chars:]}"


@dataclass
class AwsSite:
    endpoint: str
    env: dict[str, str]
    runs: list[PlaybookRun] = field(default_factory=list)

    @property
    def first_run(self) -> PlaybookRun:
        return self.runs[0]

    def client(self, service: str, region: str = REGION) -> Any:
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def run(self, *extra: str, playbook: str = "site.yml", name: str = "site") -> PlaybookRun:
        """ansible-playbook for staging against this moto server; output saved under test-results/ansible/."""
        argv = [
            str(ANSIBLE_BIN / "ansible-playbook"),
            "-i", str(ANSIBLE_DIR / "inventories" / "staging"),
            str(ANSIBLE_DIR / "playbooks" / playbook),
            "--vault-password-file", str(ANSIBLE_DIR / "tests" / "vault-password"),
            "-e", f"aws_endpoint_url={self.endpoint}",
            "-e", f"ansible_python_interpreter={ANSIBLE_BIN / 'python'}",
            *extra,
        ]  # fmt: skip
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = LOG_DIR / f"{len(self.runs) + 1:02d}-{name}.log"
        started = time.monotonic()
        try:
            done = subprocess.run(
                argv, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
            )
            output, returncode = done.stdout + done.stderr, done.returncode
        except subprocess.TimeoutExpired as expired:
            output = f"{expired.stdout or ''}{expired.stderr or ''}\nTIMED OUT after {RUN_TIMEOUT} s"
            returncode = -1
        seconds = time.monotonic() - started
        log.write_text(f"$ {' '.join(argv)}\n# {seconds:.0f} s, exit {returncode}\n{output}")
        result = PlaybookRun(argv, returncode, output, seconds, log)
        self.runs.append(result)
        return result


def ansible_env() -> dict[str, str]:
    # Dummy credentials only, and nothing from the developer's own AWS configuration.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_"))}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        ANSIBLE_CONFIG=str(ANSIBLE_DIR / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
    )
    return env


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    try:
        with moto_server(LOG_DIR / "moto.log") as endpoint:
            yield endpoint
    except MotoServerError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def aws_site(moto_endpoint: str) -> AwsSite:
    """site.yml for staging, run once against the session's moto server (its result is aws_site.first_run)."""
    site = AwsSite(endpoint=moto_endpoint, env=ansible_env())
    site.run(name="site-first")
    return site


@pytest.fixture(scope="session")
def site(aws_site: AwsSite) -> AwsSite:
    """The staging environment site.yml made (its checks fail here, with the run's log, if it never was)."""
    assert aws_site.first_run.returncode == 0, aws_site.first_run.tail()
    return aws_site


@pytest.fixture(scope="session")
def key_arn(site: AwsSite) -> str:
    """The ARN of the environment's data key (alias <name>-<env>-data)."""
    return str(site.client("kms").describe_key(KeyId=f"alias/{STAGING_NAME}-data")["KeyMetadata"]["Arn"])


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    ours = [item for item in items if Path(str(item.fspath)).parent == here]
    for item in ours:
        item.add_marker(pytest.mark.timeout(RUN_TIMEOUT + 300))
    # Deletion must come after every check of what exists, whatever order a plugin shuffled the tests into.
    last = [item for item in ours if Path(str(item.fspath)).name == "test_zz_absent.py"]
    if last:
        items[:] = [item for item in items if item not in last] + last
