"""docker/gunicorn.conf.py as gunicorn itself resolves it (`--print-config`), with defaults and overrides."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

CONFIG = ROOT / "docker" / "gunicorn.conf.py"
ALB_IDLE_TIMEOUT_SECONDS = 60
TUNING = ("PORT", "GUNICORN_", "WEB_CONCURRENCY", "LOG_LEVEL")


def resolved(**env: str) -> dict[str, str]:
    base = {key: value for key, value in os.environ.items() if not key.startswith(TUNING)}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "gunicorn"), "--config", str(CONFIG), "--print-config", "planner.wsgi"],
        env={**base, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    settings = {}
    for line in result.stdout.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            settings[name.strip()] = value.strip()
    return settings


def test_defaults_are_the_contract() -> None:
    config = resolved()
    assert config["bind"] == "['0.0.0.0:8000']"
    assert config["workers"] == "2"
    assert config["timeout"] == "30"
    assert config["graceful_timeout"] == "25"
    # Keep-alive outlives the ALB's idle timeout, so the ALB closes idle connections, never gunicorn;
    # only the threaded worker (gthread, which ours extends) honours keep-alive at all.
    assert int(config["keepalive"]) > ALB_IDLE_TIMEOUT_SECONDS
    assert config["worker_class"] == "planner.gunicorn_worker.EventLoopThreadWorker"
    assert config["threads"] == "1"
    # One socket shared, the workers taking turns by the connections they hold (planner/gunicorn_worker.py).
    assert config["reuse_port"] == "False"
    assert config["worker_tmp_dir"] in {"/dev/shm", "/tmp"}
    assert config["accesslog"] == "None"
    assert config["preload_app"] == "False"
    assert config["control_socket_disable"] == "True"
    assert config["child_exit"] == "<child_exit()>"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PORT": "9000"}, {"bind": "['0.0.0.0:9000']"}),
        ({"GUNICORN_BIND": "127.0.0.1:9001"}, {"bind": "['127.0.0.1:9001']"}),
        (
            {
                "WEB_CONCURRENCY": "4",
                "GUNICORN_THREADS": "2",
                "GUNICORN_TIMEOUT": "20",
                "GUNICORN_GRACEFUL_TIMEOUT": "15",
            },
            {"workers": "4", "threads": "2", "timeout": "20", "graceful_timeout": "15"},
        ),
        ({"GUNICORN_REUSE_PORT": "true"}, {"reuse_port": "True"}),
    ],
)
def test_the_environment_tunes_it(env: dict[str, str], expected: dict[str, str]) -> None:
    config = resolved(**env)
    assert {name: config[name] for name in expected} == expected
