"""The chart's backup CronJob (templates/backup-cronjob.yaml), rendered by the real helm.

That the rendered objects pass kubernetes-validate is test_chart.py's job (every variant renders this CronJob);
that its command really dumps the database to S3 inside the image is scripts/check_image.py's (`make image`).
"""

import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts import validate_chart
from tests.deploy.helm import by_kind, render, render_error

ROOT = Path(__file__).resolve().parents[2]
ROLE_SCRIPT = ROOT / "docker" / "roles" / "backup"
RDS_DEFAULTS = ROOT / "infra" / "ansible" / "roles" / "rds" / "defaults" / "main.yml"
VALUES_SETS = {"default": [], "staging": ["values-staging.yaml"], "production": ["values-production.yaml"]}
NAME = "weekend-planner-backup"


def cronjob(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return by_kind(objects, "CronJob")[NAME]


def pod_of(job: dict[str, Any]) -> dict[str, Any]:
    template: dict[str, Any] = job["spec"]["jobTemplate"]["spec"]["template"]
    return template


def minutes(hhmm: str) -> int:
    hours, mins = hhmm.split(":")
    return int(hours) * 60 + int(mins)


@pytest.mark.parametrize("values_set", sorted(VALUES_SETS))
def test_the_cronjob_runs_backup_db_nightly_once_at_a_time(values_set: str) -> None:
    objects = render(VALUES_SETS[values_set])
    job = cronjob(objects)
    spec = job["spec"]
    assert spec["timeZone"] == "Etc/UTC"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["suspend"] is False
    assert 0 < spec["startingDeadlineSeconds"] <= 3600
    assert spec["successfulJobsHistoryLimit"] >= 1
    assert spec["failedJobsHistoryLimit"] >= 1
    job_spec = spec["jobTemplate"]["spec"]
    assert job_spec["backoffLimit"] <= 2
    assert job_spec["activeDeadlineSeconds"] > 0
    pod = pod_of(job)
    assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == "backup"
    pod_spec = pod["spec"]
    assert pod_spec["restartPolicy"] == "Never"
    [container] = pod_spec["containers"]
    # The image's entrypoint (tini) runs the role script, which execs manage.py backup_db.
    assert "command" not in container
    assert container["args"] == ["/app/docker/roles/backup"]
    assert ROLE_SCRIPT.read_text().rstrip().splitlines()[-1] == "exec python manage.py backup_db"
    assert os.stat(ROLE_SCRIPT).st_mode & stat.S_IXUSR
    # Settings like every other workload: the release's ConfigMap (BACKUP_BUCKET, BACKUP_KMS_KEY_ID, AWS_REGION)
    # and the Secret (DATABASE_URL); S3 and KMS through the app's service account (IRSA).
    sources = container["envFrom"]
    assert [next(iter(s)) for s in sources] == ["configMapRef", "secretRef"]
    assert sources[0]["configMapRef"]["name"] == "weekend-planner-config"
    config = by_kind(objects, "ConfigMap")["weekend-planner-config"]["data"]
    assert pod_spec["serviceAccountName"] == "weekend-planner"
    account = by_kind(objects, "ServiceAccount")["weekend-planner"]
    # The default values name no bucket (deploy.yml sets it from the inventory): backup_db then fails loudly,
    # "BACKUP_BUCKET is not set", and the failed Job stays in the CronJob's history.
    if values_set != "default":
        assert config["BACKUP_BUCKET"] == f"weekend-planner-{values_set}-backups"
        assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")


@pytest.mark.parametrize("values_set", sorted(VALUES_SETS))
def test_the_dump_has_room_in_tmp_and_the_pod_is_locked_down(values_set: str) -> None:
    pod = pod_of(cronjob(render(VALUES_SETS[values_set])))["spec"]
    [container] = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    [tmp] = [v for v in pod["volumes"] if v["name"] == "tmp"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    # pg_dump writes the archive to /tmp before the upload: more room than the other roles' 256Mi, and the
    # node must have it (requested), or the kubelet evicts the pod halfway through.
    assert tmp["emptyDir"]["sizeLimit"] == "8Gi"
    assert container["resources"]["requests"]["ephemeral-storage"] == "8Gi"
    assert container["resources"]["limits"]["ephemeral-storage"] == "9Gi"


def test_the_dump_is_over_before_the_rds_backup_window_opens() -> None:
    spec = cronjob(render(["values-production.yaml"]))["spec"]
    minute, hour, day, month, weekday = spec["schedule"].split()
    assert (day, month, weekday) == ("*", "*", "*")  # daily
    start = int(hour) * 60 + int(minute)
    latest_end = start + (spec["startingDeadlineSeconds"] + spec["jobTemplate"]["spec"]["activeDeadlineSeconds"]) / 60
    window = yaml.safe_load(RDS_DEFAULTS.read_text())["rds_backup_window"]
    opens = minutes(window.split("-")[0])
    assert latest_end <= opens, (spec["schedule"], window)


def test_only_the_release_whose_beat_runs_takes_backups() -> None:
    # infra/deploy installs the new colour with beat.replicas=0 and moves beat over at the end: the CronJob follows,
    # so two colours never dump the same database on the same night.
    idle = render(["values-production.yaml"], {"colour": "blue", "beat.replicas": 0}, release="weekend-planner-blue")
    live = render(["values-production.yaml"], {"colour": "green"}, release="weekend-planner-green")
    assert by_kind(idle, "CronJob")["weekend-planner-blue-backup"]["spec"]["suspend"] is True
    assert by_kind(live, "CronJob")["weekend-planner-green-backup"]["spec"]["suspend"] is False
    router = render(["values-production.yaml"], {"router.enabled": True, "router.colour": "green"})
    assert by_kind(router, "CronJob") == {}


def test_backups_can_be_switched_off() -> None:
    objects = render(["values-production.yaml"], {"backup.enabled": False})
    assert by_kind(objects, "CronJob") == {}
    assert "weekend-planner-backup" not in by_kind(objects, "NetworkPolicy")


def test_the_backup_pod_may_reach_postgresql_and_aws_but_nothing_reaches_it() -> None:
    objects = render(["values-production.yaml"])
    policy = by_kind(objects, "NetworkPolicy")["weekend-planner-backup"]["spec"]
    labels = pod_of(cronjob(objects))["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    assert "ingress" not in policy
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    ports = {(p["protocol"], p["port"]) for rule in policy["egress"] for p in rule["ports"]}
    assert {("TCP", 5432), ("TCP", 443)} <= ports


@pytest.mark.parametrize(
    "bad",
    [{"backup.schedule": "nightly"}, {"backup.backoffLimit": -1}, {"backup.scratchSizeLimit": "lots"}],
    ids=["schedule", "backoffLimit", "scratchSizeLimit"],
)
def test_the_schema_refuses_bad_backup_values(bad: dict[str, Any]) -> None:
    [(key, _)] = bad.items()
    assert f"/backup/{key.split('.')[1]}" in render_error(["values-production.yaml"], bad)


def test_every_validated_variant_renders_the_cronjob_or_says_why_not() -> None:
    # test_chart.py validates these variants against the Kubernetes schemas: make sure the CronJob is among them.
    for variant in validate_chart.VARIANTS:
        text = validate_chart.render(variant.values_files, variant.set_values, release=variant.release)
        kinds = [o["kind"] for o in yaml.safe_load_all(text) if o]
        assert ("CronJob" in kinds) == (variant.name != "production-router"), variant.name
