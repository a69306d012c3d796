"""infra/deploy against stand-in `helm` and `kubectl` executables that record every call.

The stand-ins answer what the script reads (the live colour, a release's deployments, leftover beat pods). For
`kubectl exec` they run the script's own smoke check with this Python against a local HTTP server standing in
for the Service named in the URL, so the check itself (paths, Host header, status handling) is exercised too.
"""

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "infra" / "deploy"
PUBLIC_HOST = "planner.example.test"
TAG = "3f2c1e9"
NS = "weekend-planner-prod"

IMAGE = "123456789012.dkr.ecr.us-west-2.amazonaws.com/weekend-planner:" + TAG
SMOKE_POD = "<smoke pod>"
SMOKE_SPEC = "<smoke pod spec>"

STAND_IN = """#!{python}
import json, os, subprocess, sys
from pathlib import Path

tool, args = Path(sys.argv[0]).name, sys.argv[1:]
with open(os.environ["FAKE_CALLS"], "a") as log:
    log.write(json.dumps([tool, *args]) + "\\n")
if tool == "helm":
    sys.exit(0)
if args[:2] == ["get", "service"]:
    print(os.environ.get("FAKE_LIVE_COLOUR", ""), end="")
elif args[:2] == ["get", "deployment"]:
    print(os.environ["FAKE_IMAGE"], end="")
elif args[:2] == ["get", "deployments"]:
    instance = args[args.index("--selector") + 1].split("=", 1)[1]
    for role in ("web", "worker-default", "beat"):
        print(f"deployment.apps/{{instance}}-{{role}}")
elif args[:2] == ["get", "pods"]:
    if os.environ.get("FAKE_BEAT_STUCK"):
        print("pod/weekend-planner-blue-beat-7d9f-abcde")
elif args[0] == "wait":
    sys.exit(1 if os.environ.get("FAKE_BEAT_STUCK") else 0)
elif args[0] == "run":
    # Run the smoke pod's command here, against the local server standing in for the Service in its URL;
    # ALLOWED_HOSTS comes from this environment as it would from the release's ConfigMap.
    pod = json.loads(args[args.index("--overrides") + 1])
    python, flag, code, url, *rest = pod["spec"]["containers"][0]["command"]
    service = url.split("//", 1)[1].split(":", 1)[0]
    target = json.loads(os.environ["FAKE_SERVICES"]).get(service)
    if target is None:
        sys.exit(f"Service {{service}} not found")
    sys.exit(subprocess.run([sys.executable, flag, code, "http://" + target, *rest]).returncode)
"""


class _AppStandIn(BaseHTTPRequestHandler):
    """Answers like our web pods: /health, /ready (503 when broken), the schema only for a public host over HTTPS."""

    broken = False
    ready_hits: list[str] = []

    def do_GET(self) -> None:
        if self.path == "/health":
            status = 200
        elif self.path == "/ready":
            self.ready_hits.append(self.headers["Host"])
            status = 503 if self.broken else 200
        elif self.path == "/api/schema/":
            ok = self.headers["Host"] == PUBLIC_HOST and self.headers["X-Forwarded-Proto"] == "https"
            status = 200 if ok else 400
        else:
            status = 404
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


class _BrokenApp(_AppStandIn):
    broken = True
    ready_hits: list[str] = []


def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def healthy() -> Iterator[str]:
    yield from _serve(_AppStandIn)


@pytest.fixture(scope="module")
def broken() -> Iterator[str]:
    yield from _serve(_BrokenApp)


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    chart = tmp_path / "chart"
    chart.mkdir()
    for env in ("staging", "production"):
        (chart / f"values-{env}.yaml").write_text("{}\n")
    return chart


@pytest.fixture
def deploy(tmp_path: Path, chart: Path, healthy: str):  # type: ignore[no-untyped-def]
    """deploy(*args, live=..., services=..., **env) -> (completed process, recorded calls)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("helm", "kubectl"):
        (bin_dir / tool).write_text(STAND_IN.format(python=sys.executable))
        (bin_dir / tool).chmod(0o755)
    calls_file = tmp_path / "calls.jsonl"

    def run(*args: str, live: str = "", services: dict[str, str] | None = None, **env: str):  # type: ignore[no-untyped-def]
        calls_file.write_text("")
        names = ("weekend-planner-web", "weekend-planner-blue-web", "weekend-planner-green-web")
        all_healthy = dict.fromkeys(names, healthy)
        environ = {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "FAKE_CALLS": str(calls_file),
            "FAKE_LIVE_COLOUR": live,
            "FAKE_IMAGE": IMAGE,
            "FAKE_SERVICES": json.dumps(all_healthy | (services or {})),
            "ALLOWED_HOSTS": f"{PUBLIC_HOST},.example.test",
            "SMOKE_ATTEMPTS": "2",
            "SMOKE_INTERVAL": "0",
            **env,
        }
        full_args = [str(DEPLOY), *args]
        if "--chart" not in args:
            full_args += ["--chart", str(chart)]
        result = subprocess.run(full_args, env=environ, capture_output=True, text=True, timeout=120)
        calls = [json.loads(line) for line in calls_file.read_text().splitlines()]
        run.pods = []
        for call in calls:  # the smoke pod's name and spec are checked apart from the order of calls
            if call[:2] == ["kubectl", "run"]:
                spec_at = call.index("--overrides") + 1
                run.pods.append((call[2], json.loads(call[spec_at])))
                call[2], call[spec_at] = SMOKE_POD, SMOKE_SPEC
        return result, calls

    run.pods = []
    return run


def common(chart: Path, env: str = "production", ns: str = NS) -> list[str]:
    return ["--namespace", ns, "--values", f"{chart}/values-{env}.yaml", "--set-string", f"image.tag={TAG}"]


def live_colour_lookup() -> list[str]:
    selector = r"{.spec.selector.app\.kubernetes\.io/colour}"
    return [
        "kubectl",
        "get",
        "service",
        "weekend-planner-web",
        "--namespace",
        NS,
        "--ignore-not-found",
        "-o",
        f"jsonpath={selector}",
    ]


def install_colour(chart: Path, colour: str, beat: int) -> list[str]:
    verb = ["upgrade", "--install"] if beat == 0 else ["upgrade"]
    release = f"weekend-planner-{colour}"
    return [
        "helm",
        *verb,
        release,
        str(chart),
        *common(chart),
        "--set-string",
        f"colour={colour}",
        "--set",
        f"beat.replicas={beat}",
        "--wait",
        "--timeout",
        "10m",
    ]


def rollouts(colour: str) -> list[list[str]]:
    release = f"weekend-planner-{colour}"
    listing = ["kubectl", "get", "deployments", "--selector", f"app.kubernetes.io/instance={release}"]
    return [[*listing, "--namespace", NS, "-o", "name"]] + [
        ["kubectl", "rollout", "status", f"deployment.apps/{release}-{role}", "--namespace", NS, "--timeout", "10m"]
        for role in ("web", "worker-default", "beat")
    ]


def smoke(colour: str, service: str, ns: str = NS, release: str | None = None) -> list[list[str]]:
    release = release or f"weekend-planner-{colour}"
    image = ["-o", "jsonpath={.spec.template.spec.containers[0].image}"]
    labels = "app.kubernetes.io/part-of=weekend-planner,app.kubernetes.io/component=smoke"
    return [
        ["kubectl", "get", "deployment", f"{release}-web", "--namespace", ns, *image],
        [
            *("kubectl", "run", SMOKE_POD, "--namespace", ns, "--image", IMAGE, "--restart=Never", "--rm", "-i"),
            *("--quiet", "--labels", labels, "--pod-running-timeout", "10m", "--override-type", "merge"),
            *("--overrides", SMOKE_SPEC),
        ],
    ]


def switch(chart: Path, colour: str) -> list[str]:
    return [
        "helm",
        "upgrade",
        "--install",
        "weekend-planner",
        str(chart),
        *common(chart),
        "--set",
        "router.enabled=true",
        "--set-string",
        f"router.colour={colour}",
        "--rollback-on-failure",
        "--wait",
        "--timeout",
        "10m",
    ]


def wait_beat_gone(release: str) -> list[str]:
    selector = f"app.kubernetes.io/instance={release},app.kubernetes.io/component=beat"
    return ["kubectl", "wait", "--for=delete", "pod", "--selector", selector, "--namespace", NS, "--timeout", "10m"]


def uninstall(colour: str) -> list[str]:
    return ["helm", "uninstall", f"weekend-planner-{colour}", "--namespace", NS, "--wait", "--timeout", "10m"]


BLUE_GREEN = ["--strategy", "blue-green", "--environment", "production", "--image-tag", TAG]


def test_first_blue_green_deploy_installs_blue_switches_and_starts_its_beat_last(deploy, chart: Path) -> None:
    result, calls = deploy(*BLUE_GREEN, live="")

    assert result.returncode == 0, result.stderr
    assert calls == [
        live_colour_lookup(),
        install_colour(chart, "blue", beat=0),
        *rollouts("blue"),
        *smoke("blue", "weekend-planner-blue-web"),
        switch(chart, "blue"),
        *smoke("blue", "weekend-planner-web"),
        # A beat left by a plain rolling release goes with the router switch; it must be gone first.
        wait_beat_gone("weekend-planner"),
        install_colour(chart, "blue", beat=1),
    ]
    assert "blue is live" in result.stderr


def test_blue_to_green_stops_the_old_beat_before_the_new_one_starts_then_removes_blue(deploy, chart: Path) -> None:
    result, calls = deploy(*BLUE_GREEN, live="blue")

    assert result.returncode == 0, result.stderr
    assert calls == [
        live_colour_lookup(),
        install_colour(chart, "green", beat=0),
        *rollouts("green"),
        *smoke("green", "weekend-planner-green-web"),
        switch(chart, "green"),
        *smoke("green", "weekend-planner-web"),
        ["kubectl", "scale", "deployment", "weekend-planner-blue-beat", "--replicas=0", "--namespace", NS],
        wait_beat_gone("weekend-planner-blue"),
        install_colour(chart, "green", beat=1),
        uninstall("blue"),
    ]


def test_green_to_blue_is_the_mirror_image(deploy, chart: Path) -> None:
    result, calls = deploy(*BLUE_GREEN, live="green")

    assert result.returncode == 0, result.stderr
    assert calls[1] == install_colour(chart, "blue", beat=0)
    assert switch(chart, "blue") in calls
    assert calls[-1] == uninstall("green")


def test_smoke_pod_runs_the_deployed_image_with_the_release_settings_locked_down(deploy) -> None:
    result, _calls = deploy(*BLUE_GREEN, live="blue")

    assert result.returncode == 0, result.stderr
    assert len(deploy.pods) == 2
    for name, pod in deploy.pods:
        assert name.startswith("weekend-planner-green-smoke-")
        spec = pod["spec"]
        (container,) = spec["containers"]
        assert container["name"] == name
        assert container["image"] == IMAGE
        assert container["envFrom"] == [{"configMapRef": {"name": "weekend-planner-green-config"}}]
        assert container["command"][:2] == ["python", "-c"]
        assert container["command"][4:] == ["2", "0"]  # SMOKE_ATTEMPTS, SMOKE_INTERVAL
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] == 10001
        assert spec["automountServiceAccountToken"] is False
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }
    urls = [pod["spec"]["containers"][0]["command"][3] for _name, pod in deploy.pods]
    assert urls == ["http://weekend-planner-green-web:80", "http://weekend-planner-web:80"]
    assert "smoke checks passed" in result.stderr
    assert "/api/schema/" in result.stderr  # checked with the public host, through the whole app


def test_failed_smoke_check_before_the_switch_uninstalls_the_new_colour_and_leaves_the_old_live(
    deploy, chart: Path, broken: str
) -> None:
    hits_before = len(_BrokenApp.ready_hits)
    result, calls = deploy(*BLUE_GREEN, live="blue", services={"weekend-planner-green-web": broken})

    assert result.returncode == 1
    assert calls == [
        live_colour_lookup(),
        install_colour(chart, "green", beat=0),
        *rollouts("green"),
        *smoke("green", "weekend-planner-green-web"),
        uninstall("green"),
    ]
    assert not [call for call in calls if "router.enabled=true" in call]
    assert not [call for call in calls if "weekend-planner-blue-beat" in call or call[:2] == ["kubectl", "scale"]]
    assert "HTTP 503" in result.stderr
    assert "FAILED" in result.stderr
    # One smoke pod, retrying a bounded number of times (SMOKE_ATTEMPTS=2) inside it.
    assert len(_BrokenApp.ready_hits) - hits_before == 2


def test_failed_public_smoke_check_switches_back_to_the_old_colour_before_touching_its_beat(
    deploy, chart: Path, broken: str
) -> None:
    result, calls = deploy(*BLUE_GREEN, live="blue", services={"weekend-planner-web": broken})

    assert result.returncode == 1
    assert calls[-5:] == [
        switch(chart, "green"),
        *smoke("green", "weekend-planner-web"),
        switch(chart, "blue"),
        uninstall("green"),
    ]
    assert not [call for call in calls if call[:2] == ["kubectl", "scale"]]


def test_failed_public_smoke_check_on_the_first_switch_brings_back_the_rolling_release(
    deploy, chart: Path, broken: str
) -> None:
    result, calls = deploy(*BLUE_GREEN, live="", services={"weekend-planner-web": broken})

    assert result.returncode == 1
    assert calls[-4:] == [
        *smoke("blue", "weekend-planner-web"),
        ["helm", "rollback", "weekend-planner", "--namespace", NS, "--wait", "--timeout", "10m"],
        uninstall("blue"),
    ]
    assert not [call for call in calls if "beat.replicas=1" in call or call[:2] == ["kubectl", "wait"]]


def test_a_beat_pod_that_does_not_go_away_stops_the_deploy_before_a_second_beat_starts(deploy, chart: Path) -> None:
    result, calls = deploy(*BLUE_GREEN, live="blue", FAKE_BEAT_STUCK="1")
    blue_beat = "app.kubernetes.io/instance=weekend-planner-blue,app.kubernetes.io/component=beat"

    assert result.returncode == 1
    assert calls[-2:] == [
        wait_beat_gone("weekend-planner-blue"),
        ["kubectl", "get", "pods", "--selector", blue_beat, "--namespace", NS, "-o", "name"],
    ]
    assert install_colour(chart, "green", beat=1) not in calls
    assert "never two beats" in result.stderr


def test_rolling_deploy_upgrades_one_release_with_rollback_on_failure_then_smoke_checks(deploy, chart: Path) -> None:
    result, calls = deploy("--strategy", "rolling", "--environment", "staging", "--image-tag", TAG)

    staging = "weekend-planner-staging"
    assert result.returncode == 0, result.stderr
    assert calls == [
        [
            "helm",
            "upgrade",
            "--install",
            "weekend-planner",
            str(chart),
            *common(chart, "staging", staging),
            "--rollback-on-failure",
            "--wait",
            "--timeout",
            "10m",
        ],
        *smoke("", "weekend-planner-web", ns=staging, release="weekend-planner"),
    ]
    assert not [call for call in calls if "--atomic" in call]


def test_rolling_deploy_rolls_back_when_the_smoke_check_fails(deploy, chart: Path, broken: str) -> None:
    args = ("--strategy", "rolling", "--environment", "production", "--image-tag", TAG, "--timeout", "5m")
    result, calls = deploy(*args, services={"weekend-planner-web": broken})

    assert result.returncode == 1
    assert calls[-1] == ["helm", "rollback", "weekend-planner", "--namespace", NS, "--wait", "--timeout", "5m"]


def test_given_values_files_namespace_and_repository_replace_the_defaults(deploy, chart: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text("{}\n")
    repo = "123456789012.dkr.ecr.us-west-2.amazonaws.com/weekend-planner"
    args = ["--strategy", "rolling", "--environment", "production", "--image-tag", TAG, "--namespace", "wp"]
    result, calls = deploy(*args, "--values", str(chart / "values-production.yaml"), "--values", str(extra))
    assert result.returncode == 0, result.stderr
    assert calls[0][5:13] == [
        "--namespace",
        "wp",
        "--values",
        f"{chart}/values-production.yaml",
        "--values",
        str(extra),
        "--set-string",
        f"image.tag={TAG}",
    ]

    result, calls = deploy(*args, "--image-repository", repo)
    assert result.returncode == 0, result.stderr
    assert f"image.repository={repo}" in calls[0]


def test_account_values_come_from_the_environment_not_the_values_files(deploy) -> None:
    # The committed values files hold no account id; CI passes the IRSA role and the certificate as variables.
    role = "arn:aws:iam::000000000000:role/weekend-planner-production-app"
    certificate = "arn:aws:acm:us-west-2:000000000000:certificate/stand-in"
    args = ["--strategy", "rolling", "--environment", "production", "--image-tag", TAG]
    result, calls = deploy(*args, APP_ROLE_ARN=role, CERTIFICATE_ARN=certificate)
    assert result.returncode == 0, result.stderr
    assert f"serviceAccount.roleArn={role}" in calls[0]
    assert f"ingress.certificateArn={certificate}" in calls[0]

    result, calls = deploy(*args)
    assert result.returncode == 0, result.stderr
    assert not any(arg.startswith(("serviceAccount.roleArn=", "ingress.certificateArn=")) for arg in calls[0])


def test_dry_run_reads_the_live_colour_and_changes_nothing(deploy) -> None:
    result, calls = deploy(*BLUE_GREEN, "--dry-run", live="green")

    assert result.returncode == 0, result.stderr
    assert calls == [live_colour_lookup()]
    assert "+ helm upgrade --install weekend-planner-blue" in result.stderr
    assert "+ kubectl scale deployment weekend-planner-green-beat --replicas=0" in result.stderr


STAGING = ["--strategy", "rolling", "--environment", "staging", "--image-tag", TAG]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "--strategy is required"),
        (["--strategy", "canary", "--environment", "staging", "--image-tag", TAG], "must be rolling or blue-green"),
        (["--strategy", "rolling", "--image-tag", TAG], "--environment is required"),
        (["--strategy", "rolling", "--environment", "prod", "--image-tag", TAG], "must be staging or production"),
        (["--strategy", "rolling", "--environment", "staging"], "--image-tag is required"),
        (["--strategy", "rolling", "--environment", "staging", "--image-tag"], "--image-tag needs a value"),
        (["--strategy", "rolling", "--environment", "staging", "--image-tag", "a b"], "not a valid image tag"),
        ([*STAGING, "--timeout", "soon"], "duration"),
        ([*STAGING, "--values", "/nope.yaml"], "not found"),
        ([*STAGING, "--namespace", "No_Such"], "namespace"),
        ([*STAGING, "--chart", "/nope"], "chart"),
        ([*STAGING, "--colour", "blue"], "unknown"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message_and_touch_nothing(deploy, args: list[str], message: str) -> None:
    result, calls = deploy(*args)

    assert result.returncode == 2
    assert message in result.stderr
    assert "usage: infra/deploy" in result.stderr
    assert calls == []


def test_live_colour_other_than_blue_or_green_stops_the_deploy(deploy) -> None:
    result, calls = deploy(*BLUE_GREEN, live="purple")

    assert result.returncode == 1
    assert "colour 'purple'" in result.stderr
    assert calls == [live_colour_lookup()]
