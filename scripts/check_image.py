"""Checks a built image: its configuration (`buildah inspect`) and, inside it (`buildah run`, chroot
isolation), the tools and every role under production settings.

Prints one PASS or FAIL line per check with what was seen, and exits 1 if any failed. The containers it
makes are removed, and the processes it starts are stopped, whatever happens.

    python scripts/check_image.py IMAGE [--revision SHA] [--database-url URL --redis-url URL]

Chroot isolation shares the host's network, so with --database-url and --redis-url (services on this
machine) the roles really run: migrate applies the migrations, web answers /health, /ready and /metrics and
its own HEALTHCHECK command passes, a worker answers the chart's liveness command (`celery inspect ping`)
and serves its metrics, beat ticks, pg_dump dumps the database, and the chart's backup CronJob command (as
helm renders it) uploads a dump to a moto server's S3 with SSE-KMS. Servers bind to 127.0.0.1.
"""

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import boto3
import httpx
import yaml

# Run as a file (`python scripts/check_image.py`), which puts scripts/, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.support import processes
from scripts.support.databases import ensure_database
from scripts.support.moto import MotoServerError, moto_server
from scripts.support.network import NotAnswering, free_port, wait_for_url
from scripts.support.production_env import throwaway_production_secrets
from scripts.validate_chart import ChartCheckError
from scripts.validate_chart import render as render_chart

UID = "10001"
# Paths inside the image (only /tmp is writable there), not on this host.
CONTRACT_ENV = {
    "DJANGO_ENV": "production",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "VAR_DIR": "/tmp/var",  # noqa: S108
    "PROMETHEUS_MULTIPROC_DIR": "/tmp/prometheus",  # noqa: S108
}
SECRET_NAMES = (
    "DJANGO_SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "JWT_PRIVATE_KEY",
    "JWT_PUBLIC_KEY",
    "ENCRYPTION_KEY",
    "CELERY_BROKER_URL",
)
LABELS = ("title", "description", "source", "revision", "version", "created", "base.name")
ROLES = ("web", "worker", "beat", "migrate", "backup")
BACKUP_REGION: Final = "us-west-2"
BACKUP_BUCKET = "weekend-planner-image-check-backups"


@dataclass
class Report:
    failures: list[str] = field(default_factory=list)

    def check(self, name: str, ok: bool, seen: object = "") -> bool:
        if ok:
            print(f"PASS  {name}")
        else:
            print(f"FAIL  {name}\n      seen: {str(seen).strip()[:2000]}")
            self.failures.append(name)
        return ok


def production_env(database_url: str, redis_url: str) -> dict[str, str]:
    """Throwaway secrets, as the chart's Secret would provide them."""
    return {**throwaway_production_secrets(), "DATABASE_URL": database_url, "REDIS_URL": redis_url}


# --- The image's configuration -----------------------------------------------------------------------------


def check_config(report: Report, image: str, revision: str | None) -> dict[str, object]:
    inspected = json.loads(
        subprocess.run(
            ["buildah", "inspect", "--type", "image", image], capture_output=True, text=True, check=True
        ).stdout
    )
    config: dict[str, object] = inspected["Docker"]["config"]
    report.check(f"user is {UID}:{UID}", config.get("User") == f"{UID}:{UID}", config.get("User"))
    report.check("working directory /app", config.get("WorkingDir") == "/app", config.get("WorkingDir"))
    report.check(
        "entrypoint is tini",
        config.get("Entrypoint") == ["/usr/bin/tini", "--"],
        config.get("Entrypoint"),
    )
    report.check("command is the web role", config.get("Cmd") == ["/app/docker/roles/web"], config.get("Cmd"))
    env = dict(item.split("=", 1) for item in _strings(config.get("Env")))
    for name, value in CONTRACT_ENV.items():
        report.check(f"ENV {name}={value}", env.get(name) == value, env.get(name))
    report.check("virtualenv first on PATH", env.get("PATH", "").startswith("/opt/venv/bin:"), env.get("PATH"))
    baked = sorted(set(env) & set(SECRET_NAMES))
    report.check("no secret baked into ENV", not baked, baked)
    test = " ".join(healthcheck_test(config))
    report.check("HEALTHCHECK requests /health with python", "/health" in test and "python" in test, test)
    labels = config.get("Labels") or {}
    assert isinstance(labels, dict)
    for label in LABELS:
        name = f"org.opencontainers.image.{label}"
        report.check(f"label {name}", bool(labels.get(name)), labels.get(name))
    if revision:
        name = "org.opencontainers.image.revision"
        report.check(f"label {name} is {revision}", labels.get(name) == revision, labels.get(name))
    return config


def healthcheck_test(config: dict[str, object]) -> list[str]:
    health = config.get("Healthcheck")
    return _strings(health.get("Test")) if isinstance(health, dict) else []


def _strings(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


# --- Inside the image ----------------------------------------------------------------------------------------


@dataclass
class Container:
    name: str

    def command(self, argv: list[str], env: dict[str, str] | None = None) -> list[str]:
        flags = [f"--env={key}={value}" for key, value in (env or {}).items()]
        return ["buildah", "run", "--isolation", "chroot", *flags, self.name, "--", *argv]

    def run(self, argv: list[str], env: dict[str, str] | None = None, timeout: int = 120) -> tuple[int, str]:
        done = subprocess.run(self.command(argv, env), capture_output=True, text=True, timeout=timeout, check=False)
        return done.returncode, (done.stdout + done.stderr).strip()


@contextlib.contextmanager
def container(image: str) -> Iterator[Container]:
    name = f"wp-image-check-{os.getpid()}"
    subprocess.run(["buildah", "from", "--name", name, image], capture_output=True, check=True)
    try:
        yield Container(name)
    finally:
        subprocess.run(["buildah", "rm", name], capture_output=True, check=False)


def check_tools(report: Report, box: Container, env: dict[str, str]) -> None:
    expectations: list[tuple[str, list[str], Callable[[str], bool]]] = [
        ("runs as uid 10001", ["id", "-u"], lambda out: out == UID),
        ("runs as gid 10001", ["id", "-g"], lambda out: out == UID),
        ("user is named app", ["id", "-un"], lambda out: out == "app"),
        (
            "python is 3.11 from the virtualenv",
            ["python", "-c", "import sys; print(sys.prefix, sys.version)"],
            lambda out: out.startswith("/opt/venv 3.11."),
        ),
        ("tini --version", ["tini", "--version"], lambda out: "tini version" in out),
        ("pg_dump --version", ["pg_dump", "--version"], lambda out: "(PostgreSQL) " in out),
        ("pg_restore --version", ["pg_restore", "--version"], lambda out: "(PostgreSQL) " in out),
        ("gunicorn --version", ["gunicorn", "--version"], lambda out: "gunicorn" in out),
        ("celery --version", ["celery", "--version"], lambda out: out[:1].isdigit()),
        (
            "pip is not in the runtime",
            ["python", "-c", "import importlib.util as u; print(u.find_spec('pip'))"],
            lambda out: out == "None",
        ),
        (
            "the code is not writable by the app user",
            ["sh", "-c", "test -w /app || test -w /app/planner; echo $?"],
            lambda out: out == "1",
        ),
        (
            "no tests, wheels or local state in the image (.dockerignore)",
            [
                "sh",
                "-c",
                "ls -d /app/apps/*/tests /app/var /app/.git /app/.venv /app/.cache /tmp/wheels 2>/dev/null; true",
            ],
            lambda out: out == "",
        ),
        (
            "static files collected with a manifest",
            ["test", "-s", "/app/staticfiles/staticfiles.json"],
            lambda out: True,
        ),
        (
            "role scripts are executable",
            ["sh", "-c", " && ".join(f"test -x /app/docker/roles/{r}" for r in ROLES)],
            lambda out: True,
        ),
        ("gunicorn config file is there", ["test", "-s", "/app/docker/gunicorn.conf.py"], lambda out: True),
    ]
    for name, argv, accept in expectations:
        code, out = box.run(argv)
        report.check(name, code == 0 and accept(out), f"exit {code}: {out}")

    code, out = box.run(
        [
            "sh",
            "-c",
            'mkdir -p "$PROMETHEUS_MULTIPROC_DIR" && exec "$@"',
            "sh",
            "python",
            "manage.py",
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
        ],
        env,
    )
    report.check("manage.py check --deploy under production settings", code == 0, f"exit {code}: {out}")
    code, out = box.run(["python", "-c", "import planner.wsgi, planner.celery, planner.beat; print('ok')"], env)
    report.check("planner.wsgi, planner.celery and planner.beat import", code == 0 and out.endswith("ok"), out)
    # Model training's native libraries load (LightGBM and implicit need the system's libgomp.so.1).
    code, out = box.run(["python", "-c", "import implicit.cpu.als, lightgbm, storages.backends.s3; print('ok')"], env)
    report.check("implicit, lightgbm and the S3 storage import", code == 0 and out.endswith("ok"), out)
    code, out = box.run(["/app/docker/roles/worker"], {**env, "CELERY_QUEUES": ""})
    report.check("worker refuses an empty CELERY_QUEUES", code != 0 and "CELERY_QUEUES" in out, f"exit {code}: {out}")


# --- The roles, running ---------------------------------------------------------------------------------------


@dataclass
class Started:
    """A role started by `serving`: its output and exit status once stopped."""

    lines: list[str] = field(default_factory=list)
    returncode: int | None = None
    graceful: bool = False


@contextlib.contextmanager
def serving(report: Report, box: Container, argv: list[str], env: dict[str, str], log_name: str) -> Iterator[Started]:
    """Starts a role the way a container runtime would (through the image's tini) and stops it with SIGTERM
    to tini, which must pass it on so the process shuts down by itself. Shows its output if a check failed."""
    failures_before = len(report.failures)
    started = Started()
    with tempfile.TemporaryDirectory(prefix="wp-image-check-") as directory:
        log = Path(directory) / f"{log_name}.log"
        child = processes.start(box.command(argv, env), log=log)
        try:
            yield started
        finally:
            started.graceful = _stop(child.process)
            started.returncode = child.process.returncode
            started.lines = log.read_text(errors="replace").splitlines()
            if started.returncode != 0 or len(report.failures) > failures_before:
                print(f"      {log_name} exited {started.returncode}; its last lines:")
                print("\n".join(f"      | {line[:300]}" for line in started.lines[-15:]))


def _stop(process: subprocess.Popen[bytes]) -> bool:
    # Killing `buildah run` would orphan the processes inside: signal the container's PID 1 (tini) instead.
    tree = processes.descendants(process.pid)
    inits = [pid for pid in tree if processes.cmdline(pid)[:1] == ["/usr/bin/tini"]]
    for pid in inits[:1] or [process.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    try:
        process.wait(timeout=40)
        return True
    except subprocess.TimeoutExpired:
        for pid in [*reversed(tree), process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)
        return False


def wait_for(url: str, timeout: float, accept: Callable[[httpx.Response], bool]) -> httpx.Response | str:
    """The accepted answer, or the last one seen (a response or an error) for the report."""
    try:
        return wait_for_url(url, timeout=timeout, accept=accept, interval=0.5)
    except NotAnswering as error:
        return error.last


def _shown(response: httpx.Response | str) -> str:
    return response if isinstance(response, str) else f"{response.status_code} {response.text[:500]}"


def check_roles(report: Report, box: Container, config: dict[str, object], env: dict[str, str]) -> None:
    ensure_database(env["DATABASE_URL"])
    code, out = box.run(["/app/docker/roles/migrate"], env, timeout=300)
    report.check("migrate role applies the migrations", code == 0, f"exit {code}: {out[-2000:]}")
    code, out = box.run(["sh", "-c", 'pg_dump --schema-only "$DATABASE_URL" | grep -c "CREATE TABLE"'], env)
    if "server version mismatch" in out:
        out += "\n      (the server is newer than the image's PostgreSQL client: backups would fail the same way)"
    report.check("pg_dump dumps the database", code == 0 and out.isdigit() and int(out) > 10, f"exit {code}: {out}")

    entrypoint = _strings(config.get("Entrypoint"))
    port = free_port()
    web_env = {**env, "PORT": str(port), "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2"}
    base = f"http://127.0.0.1:{port}"
    with serving(report, box, [*entrypoint, *_strings(config.get("Cmd"))], web_env, "web") as web:
        health = wait_for(f"{base}/health", 60, lambda r: r.status_code == 200)
        report.check("web role (image's ENTRYPOINT + CMD) answers /health", _ok(health), _shown(health))
        ready = wait_for(f"{base}/ready", 20, lambda r: r.status_code == 200)
        report.check("web answers /ready (database, migrations, cache)", _ok(ready), _shown(ready))
        # As the ALB forwards a request: the public host name, TLS ended in front of the pod.
        public = {"Host": "weekendplanner.example", "X-Forwarded-Proto": "https"}
        page = _get(f"{base}/accounts/login/", public)
        report.check("web renders a page under production settings", _ok(page), _shown(page))
        asset = re.search(r'/static/[^"]+\.css', metrics_body(page))
        static = _get(base + asset.group(0), public) if asset else "no stylesheet linked from the page"
        report.check("whitenoise serves the collected, hashed static files", _ok(static), _shown(static))
        metrics = wait_for(f"{base}/metrics", 20, lambda r: r.status_code == 200)
        report.check(
            "web serves /metrics (django-prometheus)",
            _ok(metrics) and "django_http_requests_total_by_method_total" in _shown(metrics_body(metrics)),
            _shown(metrics),
        )
        code, out = box.run(healthcheck_test(config)[1:], {"PORT": str(port)})
        report.check("the image's HEALTHCHECK command passes against the web role", code == 0, f"exit {code}: {out}")
    report.check("web stops cleanly on SIGTERM through tini", _clean_exit(web), web.returncode)

    metrics_port = free_port()
    worker_env = {**env, "CELERY_QUEUES": "default,sync", "CELERY_CONCURRENCY": "1", "METRICS_PORT": str(metrics_port)}
    with serving(report, box, [*entrypoint, "/app/docker/roles/worker"], worker_env, "worker") as worker:
        page = wait_for(f"http://127.0.0.1:{metrics_port}/metrics", 60, lambda r: r.status_code == 200)
        report.check(
            "worker serves planner_celery_queue_length on METRICS_PORT",
            _ok(page) and "planner_celery_queue_length" in _shown(metrics_body(page)),
            _shown(page),
        )
        code, out = (1, "")
        for _ in range(10):
            code, out = box.run(
                ["sh", "-c", 'exec celery -A planner inspect ping --destination "celery@$HOSTNAME" --timeout 10'],
                env,
            )
            if code == 0:
                break
            time.sleep(2)
        report.check("worker answers the liveness command (celery inspect ping)", code == 0, f"exit {code}: {out}")
    report.check("worker stops cleanly on SIGTERM through tini (warm shutdown)", _clean_exit(worker), worker.returncode)

    beat_port = free_port()
    with serving(
        report, box, [*entrypoint, "/app/docker/roles/beat"], {**env, "METRICS_PORT": str(beat_port)}, "beat"
    ) as beat:
        page = wait_for(
            f"http://127.0.0.1:{beat_port}/metrics",
            60,
            lambda r: r.status_code == 200 and "\nplanner_celery_beat_last_tick_timestamp_seconds " in r.text,
        )
        report.check("beat ticks (planner_celery_beat_last_tick_timestamp_seconds)", _ok(page), _shown(page))
    report.check("beat stops cleanly on SIGTERM through tini", _clean_exit(beat), beat.returncode)


# --- The backup CronJob ----------------------------------------------------------------------------------------


def cronjob_argv(config: dict[str, object], name: str = "weekend-planner-backup") -> list[str]:
    """The process the chart's CronJob starts, as a container runtime builds it: the container's command (else
    the image's ENTRYPOINT) followed by its args (else the image's CMD). Taken from `helm template`, not copied."""
    objects = [o for o in yaml.safe_load_all(render_chart(["values-production.yaml"])) if o]
    [cronjob] = [o for o in objects if o["kind"] == "CronJob" and o["metadata"]["name"] == name]
    [container] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    command = container.get("command") or _strings(config.get("Entrypoint"))
    return [*command, *(container.get("args") or _strings(config.get("Cmd")))]


def check_backup(report: Report, box: Container, config: dict[str, object], env: dict[str, str]) -> None:
    """The CronJob's command in the image against the migrated database and a moto server on loopback (chroot
    isolation shares the host's network): the dump must arrive in the bucket, encrypted with the KMS key given."""
    try:
        argv = cronjob_argv(config)
    except (ChartCheckError, ValueError, KeyError, OSError) as error:
        report.check("the chart renders the backup CronJob", False, error)
        return
    with tempfile.TemporaryDirectory(prefix="wp-image-check-moto-") as directory:
        try:
            with moto_server(Path(directory) / "moto.log") as endpoint:
                # moto's dummy credentials: the same pair for this script and for the job in the image.
                credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
                session = boto3.Session(
                    region_name=BACKUP_REGION,
                    aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
                    aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
                )
                s3 = session.client("s3", endpoint_url=endpoint)
                kms = session.client("kms", endpoint_url=endpoint)
                key_arn = kms.create_key(Description="image check backups")["KeyMetadata"]["Arn"]
                s3.create_bucket(Bucket=BACKUP_BUCKET, CreateBucketConfiguration={"LocationConstraint": BACKUP_REGION})
                backup_env = {
                    **env,
                    **credentials,
                    "AWS_ENDPOINT_URL": endpoint,
                    "AWS_REGION": BACKUP_REGION,
                    "BACKUP_BUCKET": BACKUP_BUCKET,
                    "BACKUP_KMS_KEY_ID": key_arn,
                }
                code, out = box.run(argv, backup_env, timeout=300)
                ran = report.check(
                    f"the chart's backup CronJob command ({' '.join(argv)}) runs backup_db", code == 0, out
                )
                if not ran:
                    return
                listed = [o["Key"] for o in s3.list_objects_v2(Bucket=BACKUP_BUCKET).get("Contents", [])]
                # backup_db prints the key on stdout; the output here also holds stderr (tini's subreaper
                # warning outside PID 1), so look for the printed line among the keys.
                printed = [line.strip() for line in out.splitlines() if line.strip() in listed]
                key = printed[0] if len(printed) == 1 else ""
                head: dict[str, Any] = dict(s3.head_object(Bucket=BACKUP_BUCKET, Key=key)) if key else {}
                report.check(
                    "the dump it printed is in the bucket, SSE-KMS with BACKUP_KMS_KEY_ID",
                    head.get("ServerSideEncryption") == "aws:kms"
                    and head.get("SSEKMSKeyId") == key_arn
                    and head.get("ContentLength", 0) > 0,
                    f"printed {out[-300:]!r}; bucket holds {listed}; head {head}",
                )
        except MotoServerError as error:
            report.check("a moto server starts for the backup check", False, error)


def _get(url: str, headers: dict[str, str] | None = None) -> httpx.Response | str:
    try:
        return httpx.get(url, headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        return repr(exc)


def metrics_body(response: httpx.Response | str) -> str:
    return response if isinstance(response, str) else response.text


def _ok(response: httpx.Response | str) -> bool:
    return isinstance(response, httpx.Response) and response.status_code == 200


def _clean_exit(started: Started) -> bool:
    return started.graceful and started.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image")
    parser.add_argument("--revision", help="the commit the revision label must name")
    parser.add_argument("--database-url", default="", help="PostgreSQL database the roles run against")
    parser.add_argument("--redis-url", default="", help="Redis database the roles run against")
    args = parser.parse_args()

    report = Report()
    print(f"Checking {args.image}")
    config = check_config(report, args.image, args.revision)
    live = bool(args.database_url and args.redis_url)
    env = production_env(
        args.database_url or "postgres://planner@127.0.0.1:9/planner", args.redis_url or "redis://127.0.0.1:9/0"
    )
    with container(args.image) as box:
        check_tools(report, box, env)
        if live:
            check_roles(report, box, config, env)
            check_backup(report, box, config, env)
        else:
            print("NOTE  roles not started: pass --database-url and --redis-url to run them against services")
    if report.failures:
        print(f"{len(report.failures)} check(s) failed: " + "; ".join(report.failures), file=sys.stderr)
        return 1
    print(f"{args.image}: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
