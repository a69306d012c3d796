"""The Dockerfile and the role scripts, checked without building (`make image` builds and checks the image).

The role scripts run here for real, with stand-in `gunicorn`, `celery` and `python` executables first on PATH
that report their arguments, their process id and what they find in PROMETHEUS_MULTIPROC_DIR.
"""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
ROLES_DIR = ROOT / "docker" / "roles"
HADOLINT = Path(sys.executable).parent / "hadolint"

# The contract: the command each role ends in.
ROLE_COMMANDS = {
    role: shlex.split(command)
    for role, command in {
        "web": "gunicorn --config /app/docker/gunicorn.conf.py planner.wsgi:application",
        "worker": "celery -A planner worker --queues default,sync --concurrency 2 --hostname celery@%h"
        " --without-mingle --without-gossip --loglevel INFO",
        "beat": "celery -A planner beat --scheduler planner.beat:HeartbeatScheduler"
        " --schedule /tmp/celerybeat-schedule --loglevel INFO",
        "migrate": "python manage.py migrate --noinput",
    }.items()
}
CONTRACT_ENV = {
    "DJANGO_ENV": "production",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "VAR_DIR": "/tmp/var",
    "PROMETHEUS_MULTIPROC_DIR": "/tmp/prometheus",
}
SECRETS = ("DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY", "ENCRYPTION_KEY")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined and comments dropped."""
    found: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, rest = (pending + line).partition(" ")
        found.append((keyword.upper(), rest.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return found


def final_stage() -> list[tuple[str, str]]:
    parsed = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(parsed) if keyword == "FROM")
    return parsed[last_from:]


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, rest in stage:
        if keyword == "ENV":
            env.update(item.split("=", 1) for item in shlex.split(rest))
    return env


def test_hadolint_finds_nothing() -> None:
    done = subprocess.run([str(HADOLINT), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not done.stdout.strip(), done.stdout


def test_base_image_is_a_build_argument_used_by_every_stage() -> None:
    parsed = instructions()
    assert parsed[0][0] == "ARG", parsed[0]
    assert parsed[0][1].startswith("BASE_IMAGE="), parsed[0]
    stages = [rest for keyword, rest in parsed if keyword == "FROM"]
    assert len(stages) >= 2, "multi-stage: a build stage and a runtime stage"
    assert all(rest.startswith("${BASE_IMAGE} AS ") for rest in stages), stages


def test_runtime_takes_only_the_virtualenv_from_the_build_stage() -> None:
    build_stage = instructions()[1][1].split(" AS ")[1]
    copies = [rest for keyword, rest in final_stage() if keyword == "COPY" and "--from=" in rest]
    assert copies == [f"--from={build_stage} /opt/venv /opt/venv"]


def test_dependencies_install_from_the_lock_file_and_the_wheelhouse_only() -> None:
    installs = [rest for keyword, rest in instructions() if keyword == "RUN" and "pip install" in rest]
    assert len(installs) == 1
    for flag in ("--no-index", "--find-links", "--require-hashes", "-r /tmp/requirements.txt"):
        assert flag in installs[0], flag
    assert ("COPY", "requirements/base.txt /tmp/requirements.txt") in instructions()


def test_runs_as_uid_10001() -> None:
    users = [rest for keyword, rest in final_stage() if keyword == "USER"]
    assert users[-1:] == ["10001:10001"], users
    creating = " ".join(rest for keyword, rest in final_stage() if keyword == "RUN")
    assert "--gid 10001 app" in creating
    assert "--uid 10001 --gid app" in creating


def test_init_process_command_and_contract_environment() -> None:
    stage = dict(final_stage())
    assert json.loads(stage["ENTRYPOINT"]) == ["/usr/bin/tini", "--"]
    assert json.loads(stage["CMD"]) == ["/app/docker/roles/web"]
    assert stage["WORKDIR"] == "/app"
    env = env_of(final_stage())
    assert {name: env.get(name) for name in CONTRACT_ENV} == CONTRACT_ENV
    assert env["PATH"].startswith("/opt/venv/bin:")
    assert not set(env) & set(SECRETS), "secrets must come from the environment at run time, never the image"


def test_healthcheck_requests_health_with_python() -> None:
    checks = [rest for keyword, rest in final_stage() if keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "/health" in checks[0]
    assert '"python"' in checks[0]
    assert "curl" not in checks[0]


def test_oci_labels() -> None:
    labels = " ".join(rest for keyword, rest in final_stage() if keyword == "LABEL")
    for name in ("title", "description", "source", "revision", "version", "created"):
        assert f"org.opencontainers.image.{name}=" in labels, name
    assert 'revision="${REVISION}"' in labels
    assert 'source="${SOURCE}"' in labels


def test_collectstatic_runs_at_build_time() -> None:
    runs = [rest for keyword, rest in final_stage() if keyword == "RUN"]
    assert any("manage.py collectstatic --noinput" in run for run in runs)


def test_dockerignore_denies_by_default() -> None:
    lines = [
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()[:1] not in ("", "#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert {"manage.py", "planner", "apps", "templates", "static", "requirements/base.txt"} <= allowed
    assert not any(name in allowed for name in (".venv", ".git", "var", ".env"))


@pytest.mark.parametrize("role", sorted(ROLE_COMMANDS))
def test_role_script_is_an_executable_posix_script_ending_in_exec(role: str) -> None:
    script = ROLES_DIR / role
    assert script.is_file(), f"{script} is missing"
    assert os.access(script, os.X_OK), f"{script} must be executable"
    text = script.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert subprocess.run(["sh", "-n", str(script)], capture_output=True).returncode == 0
    commands = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert commands[-1].startswith("exec "), commands[-1]


STAND_IN = """#!/bin/sh
{{
  printf '%s\\n' "$$"
  ls -A "$PROMETHEUS_MULTIPROC_DIR" 2>&1 | tr '\\n' ' '; printf '\\n'
  printf '%s\\n' "$(basename "$0")" "$@"
}} > "{report}"
"""


@pytest.mark.parametrize("role", sorted(ROLE_COMMANDS))
def test_role_script_execs_the_contract_command_in_an_empty_metrics_directory(role: str, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    report = tmp_path / "report"
    for tool in ("gunicorn", "celery", "python"):
        (bin_dir / tool).write_text(STAND_IN.format(report=report))
        (bin_dir / tool).chmod(0o755)
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1234.db").write_bytes(b"stale")
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "CELERY_QUEUES": "default,sync",
    }

    process = subprocess.Popen([str(ROLES_DIR / role)], env=env, stderr=subprocess.PIPE, text=True)
    _, stderr = process.communicate(timeout=30)

    assert process.returncode == 0, stderr
    pid, listing, *argv = report.read_text().splitlines()
    assert int(pid) == process.pid, "the role script must exec its process (it becomes the container's main one)"
    assert listing.strip() == "", f"stale multiprocess files survived: {listing}"
    assert argv == ROLE_COMMANDS[role]


def test_worker_refuses_to_start_without_queues(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"), "CELERY_QUEUES": ""}
    done = subprocess.run([str(ROLES_DIR / "worker")], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert re.search(r"CELERY_QUEUES is empty", done.stderr), done.stderr
    assert not (tmp_path / "prometheus").exists(), "nothing is touched before the configuration is known good"


def test_worker_passes_its_own_task_time_limits_to_celery(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    report = tmp_path / "report"
    (bin_dir / "celery").write_text(STAND_IN.format(report=report))
    (bin_dir / "celery").chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "CELERY_QUEUES": "recommendations",
        "CELERY_CONCURRENCY": "1",
        "CELERY_TIME_LIMIT": "1800",
        "CELERY_SOFT_TIME_LIMIT": "1700",
    }
    done = subprocess.run([str(ROLES_DIR / "worker")], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    _, _, *argv = report.read_text().splitlines()
    assert argv == shlex.split(
        "celery -A planner worker --queues recommendations --concurrency 1 --time-limit 1800 --soft-time-limit 1700"
        " --hostname celery@%h --without-mingle --without-gossip --loglevel INFO"
    )
