"""The Helm chart, rendered by the real helm and checked object by object (see also scripts/validate_chart.py)."""

import base64
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from planner.celery import QUEUES
from planner.celery import app as celery_app
from scripts import validate_chart
from scripts.support.databases import database_url
from scripts.support.production_env import throwaway_secrets
from tests.deploy.helm import by_kind, render, render_error, require_helm

ROOT = Path(__file__).resolve().parents[2]
CHART = validate_chart.CHART
PRODUCTION = ["values-production.yaml"]
VALUES_SETS = {"default": [], "staging": ["values-staging.yaml"], "production": PRODUCTION}

# The seed's HPA (deployment-architecture.md, user-service-hpa).
SEED_BEHAVIOR = {
    "scaleDown": {
        "stabilizationWindowSeconds": 300,
        "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}],
    },
    "scaleUp": {
        "stabilizationWindowSeconds": 0,
        "policies": [
            {"type": "Percent", "value": 100, "periodSeconds": 15},
            {"type": "Pods", "value": 4, "periodSeconds": 60},
        ],
        "selectPolicy": "Max",
    },
}
SEED_METRICS = {("cpu", 70), ("memory", 80)}


def values_of(files: list[str]) -> dict[str, Any]:
    """values.yaml merged with the environment files, the way helm merges maps (null deletes a key)."""

    def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
        merged = dict(base)
        for key, value in override.items():
            if value is None:
                merged.pop(key, None)
            elif isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = merge(merged[key], value)
            else:
                merged[key] = value
        return merged

    values: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
    for name in files:
        values = merge(values, yaml.safe_load((CHART / name).read_text()))
    return values


def pod_templates(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Pod templates of every workload (Deployments and Jobs), by workload name."""
    return {
        o["metadata"]["name"]: o["spec"]["template"]
        for o in objects
        if o["kind"] in {"Deployment", "Job", "StatefulSet"}
    }


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("env", [])}


def hook_of(obj: dict[str, Any]) -> set[str]:
    return set(obj["metadata"].get("annotations", {}).get("helm.sh/hook", "").split(",")) - {""}


# --- helm lint and kubernetes-validate (the same code as `make chart-check`) ----------------------------------------


@pytest.mark.parametrize("variant", validate_chart.VARIANTS, ids=lambda v: v.name)
def test_chart_lints_and_validates_against_kubernetes_schemas(variant: validate_chart.Variant) -> None:
    require_helm()
    versions = validate_chart.kubernetes_versions()
    assert validate_chart.TARGET_KUBERNETES in versions
    assert len(versions) == 3
    assert validate_chart.check(variant, versions) == []


def test_the_validation_fails_on_warnings_and_errors_but_not_on_operator_kinds() -> None:
    bad_field = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x"},
        "data": {"a": "b"},
        "dataa": {"typo": "1"},
    }
    unknown_kind = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    operator_kind = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "m"}}
    target = validate_chart.TARGET_KUBERNETES
    assert validate_chart.validation_problems(yaml.safe_dump(bad_field), target)
    assert any("Widget" in line for line in validate_chart.validation_problems(yaml.safe_dump(unknown_kind), target))
    assert validate_chart.validation_problems(yaml.safe_dump(operator_kind), target) == []


def test_chart_targets_a_supported_kubernetes() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["kubeVersion"] == ">=1.33.0-0"


@pytest.mark.parametrize(
    "bad",
    [
        {"beat.replicas": 2},
        {"workers.default.queues": "null"},
        {"workers.default.queues[0]": 7},
        {"web.resources.limits.memory": "lots"},
        {"colour": "purple"},
        {"web.nonsense": 1},
    ],
    ids=str,
)
def test_schema_rejects_bad_values_at_lint(bad: dict[str, Any]) -> None:
    require_helm()
    arguments = [f"{key}={value}" for key, value in bad.items()]
    result = subprocess.run(
        [str(validate_chart.HELM), "lint", "--strict", str(CHART), *[part for a in arguments for part in ("--set", a)]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0, result.stdout


def test_empty_queue_list_is_rejected_by_the_schema(tmp_path: Path) -> None:
    override = tmp_path / "empty-queues.yaml"
    override.write_text("workers:\n  default:\n    queues: []\n")
    assert "/workers/default/queues" in render_error([str(override)])


# --- Workloads ------------------------------------------------------------------------------------------------------


def test_production_renders_one_workload_per_role_and_worker_entry() -> None:
    objects = render(PRODUCTION)
    entries = values_of(PRODUCTION)["workers"]
    assert len(entries) > 1
    expected = {"weekend-planner-web", "weekend-planner-beat"} | {f"weekend-planner-worker-{e}" for e in entries}
    deployments = by_kind(objects, "Deployment")
    assert set(deployments) == expected

    beat = deployments["weekend-planner-beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}

    jobs = by_kind(objects, "Job")
    assert set(jobs) == {"weekend-planner-migrate"}
    migrate = jobs["weekend-planner-migrate"]
    assert hook_of(migrate) == {"pre-install", "pre-upgrade"}
    annotations = migrate["metadata"]["annotations"]
    assert set(annotations["helm.sh/hook-delete-policy"].split(",")) == {"before-hook-creation", "hook-succeeded"}
    assert migrate["spec"]["backoffLimit"] >= 1
    assert migrate["spec"]["activeDeadlineSeconds"] > 0
    # The migrate pod's ConfigMap, Secret and ServiceAccount exist before it: hooks of a lower weight.
    pod = migrate["spec"]["template"]["spec"]
    wanted = {
        ("ServiceAccount", pod["serviceAccountName"]),
        ("ConfigMap", pod["containers"][0]["envFrom"][0]["configMapRef"]["name"]),
        ("Secret", pod["containers"][0]["envFrom"][1]["secretRef"]["name"]),
    }
    support = [o for o in objects if (o["kind"], o["metadata"]["name"]) in wanted]
    # production names an existingSecret (created outside Helm): only the ServiceAccount and ConfigMap are hooks.
    assert {o["kind"] for o in support} == {"ServiceAccount", "ConfigMap"}
    for obj in support:
        assert hook_of(obj) == {"pre-install", "pre-upgrade"}
        assert int(obj["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(annotations["helm.sh/hook-weight"])

    for name, template in pod_templates(objects).items():
        role = template["spec"]["containers"][0]["name"]
        assert template["spec"]["containers"][0]["args"] == [f"/app/docker/roles/{role}"], name


def test_production_hpas_and_pdbs_follow_the_seed() -> None:
    objects = render(PRODUCTION)
    deployments = by_kind(objects, "Deployment")
    hpas = by_kind(objects, "HorizontalPodAutoscaler")
    workers = values_of(PRODUCTION)["workers"]
    fixed = {f"weekend-planner-worker-{e}" for e, w in workers.items() if not w["autoscaling"]["enabled"]}
    # Model training is the one worker without an HPA (values.yaml says why).
    assert fixed == {"weekend-planner-worker-recommendations"}
    scaled = set(deployments) - {"weekend-planner-beat"} - fixed
    assert set(hpas) == scaled
    for name in fixed:
        assert deployments[name]["spec"]["replicas"] >= 1, name
    for name, hpa in hpas.items():
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert hpa["spec"]["behavior"] == SEED_BEHAVIOR, name
        metrics = {
            (m["resource"]["name"], m["resource"]["target"]["averageUtilization"]) for m in hpa["spec"]["metrics"]
        }
        assert metrics == SEED_METRICS, name
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        # An HPA owns the replica count: a replicas field would fight it on every upgrade.
        assert "replicas" not in deployments[name]["spec"], name
    pdbs = by_kind(objects, "PodDisruptionBudget")
    assert set(pdbs) == scaled | fixed
    for name, pdb in pdbs.items():
        template_labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= template_labels.items()
    assert hpas["weekend-planner-web"]["spec"]["minReplicas"] >= 3


def test_web_follows_the_seed_and_drains_before_it_stops() -> None:
    objects = render(PRODUCTION)
    web = by_kind(objects, "Deployment")["weekend-planner-web"]
    assert web["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    pod = web["spec"]["template"]["spec"]
    container = pod["containers"][0]
    live, ready = container["livenessProbe"], container["readinessProbe"]
    assert live["httpGet"]["path"] == "/health"
    assert ready["httpGet"]["path"] == "/ready"
    assert (live["initialDelaySeconds"], live["periodSeconds"], live["timeoutSeconds"], live["failureThreshold"]) == (
        30,
        30,
        10,
        3,
    )
    assert (
        ready["initialDelaySeconds"],
        ready["periodSeconds"],
        ready["timeoutSeconds"],
        ready["failureThreshold"],
    ) == (5, 5, 5, 3)
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys() <= container["resources"]["limits"].keys()

    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    env = env_of(container)
    graceful = int(env["GUNICORN_GRACEFUL_TIMEOUT"])
    request_timeout = int(env["GUNICORN_TIMEOUT"])
    assert pre_stop > 0
    assert pod["terminationGracePeriodSeconds"] > pre_stop + graceful
    ingress = by_kind(objects, "Ingress")["weekend-planner"]
    attributes = ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/target-group-attributes"]
    deregistration = int(re.search(r"deregistration_delay\.timeout_seconds=(\d+)", attributes).group(1))
    assert request_timeout <= deregistration <= pre_stop + graceful


def test_every_worker_consumes_declared_queues_and_every_queue_has_a_worker() -> None:
    for name, files in VALUES_SETS.items():
        consumed: set[str] = set()
        workers = {
            n: t
            for n, t in pod_templates(render(files)).items()
            if t["metadata"]["labels"]["app.kubernetes.io/component"].startswith("worker-")
        }
        assert workers, name
        for workload, template in workers.items():
            queues = env_of(template["spec"]["containers"][0])["CELERY_QUEUES"].split(",")
            assert queues, (name, workload)
            assert set(queues) <= set(QUEUES), (name, workload, queues)
            consumed |= set(queues)
        assert consumed == set(QUEUES), f"{name}: queues nobody consumes: {set(QUEUES) - consumed}"


def test_workers_shut_down_warm_and_are_probed_by_celery_ping() -> None:
    assert celery_app.conf.task_soft_time_limit == 14 * 60
    for name, template in pod_templates(render(PRODUCTION)).items():
        if not name.startswith("weekend-planner-worker-"):
            continue
        pod = template["spec"]
        container = pod["containers"][0]
        # A worker's own limits (docker/roles/worker passes them to Celery) or planner/celery.py's.
        limits = env_of(container)
        soft_limit = int(limits.get("CELERY_SOFT_TIME_LIMIT", celery_app.conf.task_soft_time_limit))
        hard_limit = int(limits.get("CELERY_TIME_LIMIT", celery_app.conf.task_time_limit))
        assert soft_limit < hard_limit, name
        assert pod["terminationGracePeriodSeconds"] > hard_limit, name
        command = " ".join(container["livenessProbe"]["exec"]["command"])
        assert 'celery -A planner inspect ping --destination "celery@$HOSTNAME"' in command
        assert container["livenessProbe"]["timeoutSeconds"] > 10  # the ping's own --timeout
        env = env_of(container)
        assert env["METRICS_ADDR"] == "0.0.0.0"  # noqa: S104 - Prometheus scrapes the pod IP
        assert int(env["CELERY_CONCURRENCY"]) >= 1
        assert {"name": "metrics", "containerPort": 9808, "protocol": "TCP"} in container["ports"]


# --- Model training: the recommendations worker ---------------------------------------------------------------------

TRAINING_WORKER = "weekend-planner-worker-recommendations"
CELERY_STAND_IN = '#!/bin/sh\nprintf "%s\\n" "$@" > "$CELERY_ARGV_REPORT"\n'


def worker_command(env: dict[str, str], tmp_path: Path) -> list[str]:
    """The celery arguments docker/roles/worker runs with this pod environment (a stand-in celery reports them)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "celery").write_text(CELERY_STAND_IN)
    (bin_dir / "celery").chmod(0o755)
    report = tmp_path / "argv"
    done = subprocess.run(
        [str(ROOT / "docker" / "roles" / "worker")],
        env={
            **env,
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
            "CELERY_ARGV_REPORT": str(report),
        },
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return report.read_text().splitlines()


@pytest.mark.parametrize("values_set", sorted(VALUES_SETS))
def test_model_training_has_a_worker_of_its_own_with_room_and_time(values_set: str, tmp_path: Path) -> None:
    objects = render(VALUES_SETS[values_set])
    templates = pod_templates(objects)
    pod = templates[TRAINING_WORKER]["spec"]
    container = pod["containers"][0]
    env = env_of(container)
    # Its own queue, which no other worker consumes, and none of the quick ones.
    assert env["CELERY_QUEUES"] == "recommendations"
    for name, template in templates.items():
        if name.startswith("weekend-planner-worker-") and name != TRAINING_WORKER:
            assert "recommendations" not in env_of(template["spec"]["containers"][0])["CELERY_QUEUES"].split(","), name
    # One training run at a time per pod, with the memory and the time it needs.
    assert env["CELERY_CONCURRENCY"] == "1"
    assert container["resources"]["requests"]["memory"] == "1Gi"
    assert container["resources"]["limits"]["memory"] == "3Gi"
    assert (env["CELERY_TIME_LIMIT"], env["CELERY_SOFT_TIME_LIMIT"]) == ("1800", "1700")
    assert pod["terminationGracePeriodSeconds"] > 1800  # warm shutdown lets a run finish
    # OpenMP as wide as the CPU limit; no OpenBLAS thread pool under implicit's own threads.
    assert env["OMP_NUM_THREADS"] == str(container["resources"]["limits"]["cpu"])
    assert env["OPENBLAS_NUM_THREADS"] == "1"
    # A fixed replica, no HPA: training keeps the CPU busy by design.
    assert TRAINING_WORKER not in by_kind(objects, "HorizontalPodAutoscaler")
    assert by_kind(objects, "Deployment")[TRAINING_WORKER]["spec"]["replicas"] == 1
    assert TRAINING_WORKER in by_kind(objects, "PodDisruptionBudget")

    # What the role script makes of that environment: `--queues` is Celery's `-Q`.
    command = worker_command(env, tmp_path)
    assert command[:3] == ["-A", "planner", "worker"]
    pairs = dict(zip(command[3::2], command[4::2], strict=False))
    assert pairs["--queues"] == "recommendations"
    assert pairs["--concurrency"] == "1"
    assert pairs["--time-limit"] == "1800"
    assert pairs["--soft-time-limit"] == "1700"


def test_the_quick_workers_keep_planner_celery_time_limits(tmp_path: Path) -> None:
    container = pod_templates(render(PRODUCTION))["weekend-planner-worker-sync"]["spec"]["containers"][0]
    env = env_of(container)
    assert "CELERY_TIME_LIMIT" not in env
    assert "CELERY_SOFT_TIME_LIMIT" not in env
    command = worker_command(env, tmp_path)
    assert "--time-limit" not in command
    assert "--soft-time-limit" not in command


def test_worker_time_limits_are_checked_at_render() -> None:
    message = render_error(None, {"workers.recommendations.softTimeLimitSeconds": 1800})
    assert "softTimeLimitSeconds (1800) must be less than timeLimitSeconds (1800)" in message
    message = render_error(None, {"workers.recommendations.terminationGracePeriodSeconds": 1800})
    assert "terminationGracePeriodSeconds (1800) must be longer than timeLimitSeconds (1800)" in message
    # The shared grace period (960 s) is too short for a worker given a longer limit without its own.
    message = render_error(
        None, {"workers.default.timeLimitSeconds": 1000, "workers.default.softTimeLimitSeconds": 900}
    )
    assert "terminationGracePeriodSeconds (960) must be longer than timeLimitSeconds (1000)" in message
    # The schema: both limits or neither, and no extra variable may replace one the chart sets.
    assert "softTimeLimitSeconds" in render_error(None, {"workers.default.timeLimitSeconds": 600})
    assert "CELERY_QUEUES" in render_error(None, {"workers.recommendations.env.CELERY_QUEUES": "default"})


def test_beat_is_a_singleton() -> None:
    beat = by_kind(render(PRODUCTION, {"beat.replicas": 0}), "Deployment")["weekend-planner-beat"]
    assert beat["spec"]["replicas"] == 0
    assert "/beat/replicas" in render_error(PRODUCTION, {"beat.replicas": 2})  # the schema
    message = render_error(PRODUCTION, {"beat.replicas": 2}, skip_schema_validation=True)  # the template's fail
    assert "single replica" in message


def test_every_container_runs_unprivileged_on_a_read_only_root() -> None:
    for name, files in VALUES_SETS.items():
        for variant in ({}, {"colour": "green"}):
            templates = pod_templates(render(files, variant))
            assert templates
            for workload, template in templates.items():
                pod = template["spec"]
                where = f"{name} {variant} {workload}"
                security = pod["securityContext"]
                assert security["runAsNonRoot"] is True, where
                assert security["runAsUser"] == security["runAsGroup"] == security["fsGroup"] == 10001, where
                assert security["seccompProfile"] == {"type": "RuntimeDefault"}, where
                assert pod["automountServiceAccountToken"] is False, where
                tmp = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
                for container in pod["containers"] + pod.get("initContainers", []):
                    context = container["securityContext"]
                    assert context["runAsNonRoot"] is True, where
                    assert context["runAsUser"] >= 10000, where
                    assert context["readOnlyRootFilesystem"] is True, where
                    assert context["allowPrivilegeEscalation"] is False, where
                    assert context["capabilities"] == {"drop": ["ALL"]}, where
                    assert any(m["mountPath"] == "/tmp" and m["name"] in tmp for m in container["volumeMounts"]), where


def test_pods_read_settings_from_the_configmap_and_the_secret() -> None:
    objects = render(["values-staging.yaml"])
    config = by_kind(objects, "ConfigMap")["weekend-planner-config"]["data"]
    assert config["DJANGO_ENV"] == "production"
    assert config["ALLOWED_HOSTS"] == "staging.weekendplanner.com,api.staging.weekendplanner.com"
    for key in (
        "LOG_LEVEL",
        "API_VERSION",
        "CORS_ORIGIN",
        "RATE_LIMIT_WINDOW",
        "RATE_LIMIT_MAX",
        "JWT_ISSUER",
        "JWT_AUDIENCE",
    ):
        assert config[key], key
    # existingSecret: no Secret rendered, every pod reads the named one.
    assert by_kind(objects, "Secret") == {}
    for name, template in pod_templates(objects).items():
        sources = template["spec"]["containers"][0]["envFrom"]
        assert {"secretRef": {"name": "weekend-planner-secrets"}} in sources, name
    account = by_kind(objects, "ServiceAccount")["weekend-planner"]
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")

    default = render()
    secret = by_kind(default, "Secret")["weekend-planner-secret"]
    assert {
        "DJANGO_SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "JWT_PRIVATE_KEY",
        "JWT_PUBLIC_KEY",
        "ENCRYPTION_KEY",
    } <= secret["data"].keys()


def test_the_read_replica_url_reaches_every_pod_from_the_config_or_the_secret() -> None:
    # Optional: empty by default (no replica), the endpoint without credentials in the ConfigMap (what
    # infra/ansible's deploy.yml sets), or a full URL in the Secret, which envFrom lists last so that it wins.
    assert by_kind(render(), "ConfigMap")["weekend-planner-config"]["data"]["DATABASE_REPLICA_URL"] == ""
    endpoint = "postgres://replica.example.internal:5432/weekend_planner?sslmode=verify-full"
    full = "postgres://app:secret@replica.example.internal:5432/weekend_planner"
    objects = render(None, {"config.DATABASE_REPLICA_URL": endpoint, "secret.values.DATABASE_REPLICA_URL": full})
    assert by_kind(objects, "ConfigMap")["weekend-planner-config"]["data"]["DATABASE_REPLICA_URL"] == endpoint
    secret = by_kind(objects, "Secret")["weekend-planner-secret"]["data"]
    assert base64.b64decode(secret["DATABASE_REPLICA_URL"]).decode() == full
    for name, template in pod_templates(objects).items():
        sources = template["spec"]["containers"][0]["envFrom"]
        assert [next(iter(source)) for source in sources] == ["configMapRef", "secretRef"], name
    assert "DATABASE_REPLICA_URL" in render_error(None, {"config.DATABASE_REPLICA_URL": "mysql://elsewhere/db"})


def test_config_changes_restart_the_pods() -> None:
    def checksums(objects: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
        return {
            name: (t["metadata"]["annotations"]["checksum/config"], t["metadata"]["annotations"]["checksum/secret"])
            for name, t in pod_templates(objects).items()
            if name != "weekend-planner-migrate"
        }

    before = checksums(render())
    after_config = checksums(render(None, {"config.LOG_LEVEL": "WARNING"}))
    after_secret = checksums(render(None, {"secret.values.DJANGO_SECRET_KEY": "rotated"}))
    assert before.keys() == after_config.keys()
    assert len(before) == 5  # web, worker-default, worker-recommendations, worker-notifications, beat
    for name in before:
        assert after_config[name][0] != before[name][0], name
        assert after_config[name][1] == before[name][1], name
        assert after_secret[name][1] != before[name][1], name
        assert after_secret[name][0] == before[name][0], name


# --- Database connections -------------------------------------------------------------------------------------------


def test_the_database_connection_budget_is_enforced_at_render() -> None:
    threads = {"web.gunicorn.threads": 2}  # every gunicorn thread holds its own connection
    objects = render(PRODUCTION, threads)
    deployments = by_kind(objects, "Deployment")
    hpas = by_kind(objects, "HorizontalPodAutoscaler")
    needed = 2  # beat and migrate
    for name, deployment in deployments.items():
        if name == "weekend-planner-beat":
            continue
        replicas = hpas[name]["spec"]["maxReplicas"] if name in hpas else deployment["spec"]["replicas"]
        pods = replicas + deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
        env = env_of(deployment["spec"]["template"]["spec"]["containers"][0])
        per_pod = int(env["WEB_CONCURRENCY"]) * int(env["GUNICORN_THREADS"]) if "WEB_CONCURRENCY" in env else 0
        needed += pods * (per_pod or int(env["CELERY_CONCURRENCY"]))
    assert needed <= values_of(PRODUCTION)["database"]["maxConnections"]
    render(PRODUCTION, {**threads, "database.maxConnections": needed})
    message = render_error(PRODUCTION, {**threads, "database.maxConnections": needed - 1})
    assert f"= {needed}, more than database.maxConnections ({needed - 1})" in message


# --- Ingress, Services, NetworkPolicy -------------------------------------------------------------------------------


def assert_ingress_hides_metrics(ingress: dict[str, Any], backend: str, hosts: set[str]) -> None:
    annotations = ingress["metadata"]["annotations"]
    assert ingress["spec"]["ingressClassName"] == "alb"
    for key in ("scheme", "target-type", "listen-ports", "ssl-redirect", "certificate-arn", "load-balancer-attributes"):
        assert annotations[f"alb.ingress.kubernetes.io/{key}"], key
    assert annotations["alb.ingress.kubernetes.io/target-type"] == "ip"
    assert {h for tls in ingress["spec"]["tls"] for h in tls["hosts"]} == hosts
    assert {rule["host"] for rule in ingress["spec"]["rules"]} == hosts
    for rule in ingress["spec"]["rules"]:
        paths = rule["http"]["paths"]
        # The ALB evaluates the paths in order: /metrics is answered by the fixed 404 before `/` is reached.
        first, routed = paths[0], paths[1:]
        assert first["path"] == "/metrics"
        assert first["pathType"] == "Prefix"
        action = first["backend"]["service"]
        assert action["port"] == {"name": "use-annotation"}
        response = json.loads(annotations[f"alb.ingress.kubernetes.io/actions.{action['name']}"])
        assert response["type"] == "fixed-response"
        assert response["fixedResponseConfig"]["statusCode"] == "404"
        for path in routed:
            assert path["backend"]["service"]["name"] == backend
            assert not path["path"].startswith("/metrics")
        assert [p["path"] for p in routed] == ["/"]


def test_the_ingress_serves_both_hosts_over_tls_and_never_routes_metrics() -> None:
    objects = render(PRODUCTION)
    ingress = by_kind(objects, "Ingress")["weekend-planner"]
    assert_ingress_hides_metrics(ingress, "weekend-planner-web", {"weekendplanner.com", "api.weekendplanner.com"})
    assert "weekend-planner-web" in by_kind(objects, "Service")
    # Second line of defence: the app refuses /metrics to requests that came through the ALB.
    assert int(by_kind(objects, "ConfigMap")["weekend-planner-config"]["data"]["TRUSTED_PROXY_COUNT"]) >= 1


def test_network_policies_admit_only_what_each_role_needs() -> None:
    objects = render(PRODUCTION)
    policies = by_kind(objects, "NetworkPolicy")
    web = policies["weekend-planner-web"]["spec"]
    assert web["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "web"
    assert web["ingress"] == [{"ports": [{"protocol": "TCP", "port": 8000}]}]
    celery = policies["weekend-planner-celery"]["spec"]
    assert celery["ingress"] == [
        {
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
            "ports": [{"protocol": "TCP", "port": 9808}],
        }
    ]
    assert "ingress" not in policies["weekend-planner-migrate"]["spec"]
    for name, policy in policies.items():
        assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}, name
        ports = {(p["protocol"], p["port"]) for rule in policy["spec"]["egress"] for p in rule["ports"]}
        assert ports == {("UDP", 53), ("TCP", 53), ("TCP", 5432), ("TCP", 6379), ("TCP", 443)}, name
    # Every pod is covered by one of them.
    for name, template in pod_templates(objects).items():
        labels = template["metadata"]["labels"]
        assert any(p["spec"]["podSelector"]["matchLabels"].items() <= labels.items() for p in policies.values()), name


# --- Blue-green (the contract infra/deploy relies on) ---------------------------------------------------------------


def test_a_colour_release_renders_its_workloads_and_own_service_but_nothing_public() -> None:
    objects = render(PRODUCTION, {"colour": "blue", "beat.replicas": 0}, release="weekend-planner-blue")
    kinds = {o["kind"] for o in objects}
    assert "Ingress" not in kinds
    assert "PrometheusRule" not in kinds
    assert {"HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceMonitor"} <= kinds
    assert "weekend-planner-dashboard" not in by_kind(objects, "ConfigMap")
    services = by_kind(objects, "Service")
    assert "weekend-planner-web" not in services
    own = services["weekend-planner-blue-web"]
    assert own["spec"]["selector"]["app.kubernetes.io/instance"] == "weekend-planner-blue"
    deployments = by_kind(objects, "Deployment")
    assert deployments["weekend-planner-blue-beat"]["spec"]["replicas"] == 0
    for name, template in pod_templates(objects).items():
        assert template["metadata"]["labels"]["app.kubernetes.io/colour"] == "blue", name
    web_labels = deployments["weekend-planner-blue-web"]["spec"]["template"]["metadata"]["labels"]
    assert own["spec"]["selector"].items() <= web_labels.items()


def test_the_router_release_renders_only_the_public_service_ingress_and_monitoring() -> None:
    objects = render(PRODUCTION, {"router.enabled": True, "router.colour": "green"})
    assert sorted((o["kind"], o["metadata"]["name"]) for o in objects) == [
        ("ConfigMap", "weekend-planner-dashboard"),
        ("Ingress", "weekend-planner"),
        ("PrometheusRule", "weekend-planner"),
        ("Service", "weekend-planner-web"),
    ]
    service = by_kind(objects, "Service")["weekend-planner-web"]
    assert service["spec"]["selector"] == {
        "app.kubernetes.io/name": "weekend-planner",
        "app.kubernetes.io/component": "web",
        "app.kubernetes.io/colour": "green",
    }
    ingress = by_kind(objects, "Ingress")["weekend-planner"]
    assert_ingress_hides_metrics(ingress, "weekend-planner-web", {"weekendplanner.com", "api.weekendplanner.com"})
    # The router selects exactly the web pods of the green release.
    green = render(PRODUCTION, {"colour": "green"}, release="weekend-planner-green")
    for name, template in pod_templates(green).items():
        selected = service["spec"]["selector"].items() <= template["metadata"]["labels"].items()
        assert selected == (name == "weekend-planner-green-web"), name
    assert "colour" in render_error(PRODUCTION, {"router.enabled": True, "colour": "blue"})


# --- Monitoring -----------------------------------------------------------------------------------------------------


def test_service_monitors_scrape_web_and_celery_metrics_ports() -> None:
    objects = render(PRODUCTION)
    monitors = by_kind(objects, "ServiceMonitor")
    services = by_kind(objects, "Service")
    deployments = by_kind(objects, "Deployment")
    assert set(monitors) == {"weekend-planner-web", "weekend-planner-celery"}
    for monitor in monitors.values():
        selected = [
            s
            for s in services.values()
            if monitor["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
        ]
        assert len(selected) == 1, monitor["metadata"]["name"]
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["path"] == "/metrics"
        assert endpoint["port"] in {p["name"] for p in selected[0]["spec"]["ports"]}
        # The Service reaches the pods' port of that name.
        pods = [
            d
            for d in deployments.values()
            if selected[0]["spec"]["selector"].items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert pods
        for deployment in pods:
            ports = {p["name"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
            assert selected[0]["spec"]["ports"][0]["targetPort"] in ports
    celery_service = services["weekend-planner-celery-metrics"]
    assert celery_service["spec"]["clusterIP"] == "None"
    selected = {
        n
        for n, d in deployments.items()
        if celery_service["spec"]["selector"].items() <= d["spec"]["template"]["metadata"]["labels"].items()
    }
    assert selected == set(deployments) - {"weekend-planner-web"}


def prometheus_rules(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    (rule,) = by_kind(objects, "PrometheusRule").values()
    return {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}


def test_the_prometheus_rule_carries_the_seed_alerts_and_ours() -> None:
    rules = prometheus_rules(render(PRODUCTION, namespace="weekend-planner-prod"))
    assert set(rules) == {
        "HighErrorRate", "HighResponseTime", "DatabaseConnectionsHigh", "PodCrashLooping", "ServiceDown",
        "SourceNotSynced", "QueueBacklogGrowing", "BeatSilent", "AnalyticsRollupLate", "EmailDeliveryFailing",
    }  # fmt: skip
    expected_metrics = {
        "HighErrorRate": "django_http_responses_total_by_status_view_method_total",
        "HighResponseTime": "django_http_requests_latency_seconds_by_view_method_bucket",
        "DatabaseConnectionsHigh": "pg_stat_database_numbackends",
        "PodCrashLooping": "kube_pod_container_status_restarts_total",
        "ServiceDown": "up",
        "SourceNotSynced": "planner_source_last_synced_timestamp_seconds",
        "QueueBacklogGrowing": "planner_celery_queue_length",
        "BeatSilent": "planner_celery_beat_last_tick_timestamp_seconds",
        "AnalyticsRollupLate": "planner_analytics_rollup_lag_seconds",
        "EmailDeliveryFailing": "planner_notifications_emails_total",
    }
    for alert, metric in expected_metrics.items():
        rule = rules[alert]
        assert re.search(rf"\b{metric}\b", rule["expr"]), alert
        assert rule["labels"]["severity"] in {"warning", "critical"}, alert
        assert rule["annotations"]["summary"], alert
        if metric != "pg_stat_database_numbackends":  # the exporter watching RDS labels by database, not namespace
            assert 'namespace="weekend-planner-prod"' in rule["expr"], alert
    assert "2 * max by (source) (planner_source_sync_interval_seconds" in rules["SourceNotSynced"]["expr"]
    # Alerts on metrics from other exporters name their source in a comment.
    text = (CHART / "templates" / "prometheusrule.yaml").read_text()
    for source in ("postgres_exporter", "kube-state-metrics", "Prometheus itself"):
        assert source in text


def test_the_grafana_dashboard_translates_the_seed_panels() -> None:
    objects = render(PRODUCTION, namespace="weekend-planner-prod")
    dashboard_map = by_kind(objects, "ConfigMap")["weekend-planner-dashboard"]
    assert dashboard_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(dashboard_map["data"]["weekend-planner.json"])
    titles = {panel["title"] for panel in dashboard["panels"]}
    assert {"Request Rate", "Response Time", "Error Rate", "Database Connections"} <= titles
    expressions = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    for seed_name in ("http_requests_total{", "http_request_duration_seconds_bucket", "database_connections_active"):
        assert seed_name not in expressions
    constants = {v["name"]: v["query"] for v in dashboard["templating"]["list"] if v["type"] == "constant"}
    assert constants["namespace"] == "weekend-planner-prod"


@pytest.mark.parametrize("switch", ["serviceMonitor", "prometheusRule", "dashboard"])
def test_monitoring_objects_are_switchable(switch: str) -> None:
    kinds = {"serviceMonitor": "ServiceMonitor", "prometheusRule": "PrometheusRule", "dashboard": "ConfigMap"}
    names = {(o["kind"], o["metadata"]["name"]) for o in render(PRODUCTION)}
    off = {(o["kind"], o["metadata"]["name"]) for o in render(PRODUCTION, {f"monitoring.{switch}.enabled": False})}
    removed = names - off
    assert removed
    assert {kind for kind, _ in removed} == {kinds[switch]}
    assert off < names


# --- The probe paths answer in the real app under production settings -----------------------------------------------


@pytest.mark.django_db
def test_probe_paths_answer_under_production_settings_with_a_pod_ip_host(start_server, clean_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from django.conf import settings
    from django.db import connection

    objects = render(PRODUCTION)
    config = by_kind(objects, "ConfigMap")["weekend-planner-config"]["data"]
    web = by_kind(objects, "Deployment")["weekend-planner-web"]["spec"]["template"]["spec"]["containers"][0]
    probe_paths = {web["livenessProbe"]["httpGet"]["path"], web["readinessProbe"]["httpGet"]["path"]}
    assert probe_paths == {"/health", "/ready"}

    env = clean_env(
        **{
            **config,  # the rendered ConfigMap, as the pod gets it
            **throwaway_secrets(),
            "VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "planner.settings",
            "DATABASE_URL": database_url(connection.settings_dict),
            "REDIS_URL": settings.CACHES["default"]["LOCATION"],
        }
    )
    assert env["DJANGO_ENV"] == "production"
    base = start_server(env)
    pod_ip = {"Host": "10.1.2.3:8000"}
    for path in sorted(probe_paths):
        response = httpx.get(f"{base}{path}", headers=pod_ip, timeout=10)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["status"] == "ok"
    # Prometheus scrapes the pod IP directly; the same request through the ALB (X-Forwarded-For) is refused.
    assert httpx.get(f"{base}/metrics", headers=pod_ip, timeout=10).status_code == 200
    through_alb = httpx.get(f"{base}/metrics", headers={**pod_ip, "X-Forwarded-For": "203.0.113.9"}, timeout=10)
    assert through_alb.status_code == 404
    # Anything else with the pod IP as Host is refused by ALLOWED_HOSTS: probes do not open the site.
    assert httpx.get(f"{base}/", headers=pod_ip, timeout=10).status_code == 400


# --- checkov (the same target as `make checkov`) --------------------------------------------------------------------


def test_checkov_passes_with_only_justified_skips() -> None:
    require_helm()
    config = (ROOT / ".checkov.yaml").read_text()
    lines = config.splitlines()
    skips = [i for i, line in enumerate(lines) if re.match(r"^\s*-\s*CKV_", line)]
    assert skips
    for index in skips:
        assert lines[index - 1].lstrip().startswith("#"), f"skip without a reason: {lines[index]}"
    result = subprocess.run(
        ["make", "--no-print-directory", "checkov"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    summaries = re.findall(r"Passed checks: (\d+), Failed checks: (\d+)", result.stdout)
    assert len(summaries) == 3
    assert all(int(passed) > 0 and failed == "0" for passed, failed in summaries)
