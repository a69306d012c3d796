"""The GitHub workflows: valid against GitHub's schema (offline), and shaped as docs/deployment.md promises.

They cannot run here, so their structure is what is checked: which branch deploys where, what a deploy waits
for, that checks go through the same `make` targets as local work, least privilege and pinned actions.
"""

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
CHECK_JOBS = {"lint", "test", "browser", "chart", "security", "image"}
DEPLOY_JOBS = {"deploy-staging", "deploy-production"}
# Commands that are checks: in a workflow they may only run through a make target.
CHECK_TOOLS = re.compile(
    r"\b(pytest|ruff|mypy|lint-imports|bandit|pip-audit|checkov|ansible-lint|hadolint|shellcheck|"
    r"check-jsonschema|kubernetes-validate|helm (lint|template)|manage\.py)\b"
)
MAKE_RUN = re.compile(r'^(sudo env "PATH=\$PATH" )?make( [A-Za-z0-9_-]+)+( [A-Z_]+="[^"]*")*$')


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the bare key `on` as true
    return data


@pytest.fixture(scope="module")
def ci() -> dict[str, Any]:
    return load("ci.yml")


@pytest.fixture(scope="module")
def jobs(ci: dict[str, Any]) -> dict[str, Any]:
    return ci["jobs"]


def all_needs(jobs: dict[str, Any], name: str) -> set[str]:
    needs = jobs[name].get("needs", [])
    direct = {needs} if isinstance(needs, str) else set(needs)
    return direct.union(*(all_needs(jobs, need) for need in direct))


def steps_of(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, step) for name, job in workflow["jobs"].items() for step in job.get("steps", [])]


def test_workflows_are_valid_against_githubs_schema() -> None:
    files = sorted(str(path) for path in WORKFLOWS.glob("*.yml"))
    assert files, "no workflow files"
    result = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text((WORKFLOWS / "ci.yml").read_text().replace("runs-on:", "run-on:", 1))
    result = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "run-on" in result.stdout


def test_ci_runs_on_pushes_to_main_and_staging_and_on_pull_requests(ci: dict[str, Any]) -> None:
    assert set(ci["on"]["push"]["branches"]) == {"main", "staging"}
    assert "pull_request" in ci["on"]


def test_staging_deploys_only_from_the_staging_branch_with_the_rolling_strategy(jobs: dict[str, Any]) -> None:
    job = jobs["deploy-staging"]
    assert "refs/heads/staging" in job["if"]
    assert "refs/heads/main" not in job["if"]
    assert "github.event_name == 'push'" in job["if"]
    assert job["environment"]["name"] == "staging"
    deploy = [step["run"] for step in job["steps"] if "infra/deploy" in step.get("run", "")]
    assert len(deploy) == 1
    assert "--strategy rolling --environment staging" in deploy[0]
    assert '--image-tag "$GITHUB_SHA"' in deploy[0]


def test_production_deploys_only_from_main_blue_green_in_the_protected_environment(jobs: dict[str, Any]) -> None:
    job = jobs["deploy-production"]
    assert "refs/heads/main" in job["if"]
    assert "refs/heads/staging" not in job["if"]
    assert "github.event_name == 'push'" in job["if"]
    assert job["environment"]["name"] == "production"
    deploy = [step["run"] for step in job["steps"] if "infra/deploy" in step.get("run", "")]
    assert len(deploy) == 1
    assert "--strategy blue-green --environment production" in deploy[0]


@pytest.mark.parametrize("deploy_job", sorted(DEPLOY_JOBS))
def test_a_deploy_waits_for_every_check_and_for_the_pushed_image(jobs: dict[str, Any], deploy_job: str) -> None:
    assert all_needs(jobs, deploy_job) >= CHECK_JOBS | {"push"}


def test_the_image_is_pushed_only_on_pushes_after_every_check_tagged_with_the_commit(jobs: dict[str, Any]) -> None:
    push = jobs["push"]
    assert push["if"] == "github.event_name == 'push'"
    assert all_needs(jobs, "push") >= CHECK_JOBS
    runs = [step.get("run", "") for step in push["steps"]]
    assert 'make image-push IMAGE_REF="$ECR_REGISTRY/$ECR_REPOSITORY:$GITHUB_SHA"' in runs
    uses = [step.get("uses", "") for step in push["steps"]]
    assert any(use.startswith("aws-actions/configure-aws-credentials@") for use in uses)
    assert any(use.startswith("aws-actions/amazon-ecr-login@") for use in uses)
    credentials = next(step for step in push["steps"] if "configure-aws-credentials" in step.get("uses", ""))
    assert set(credentials["with"]) == {"role-to-assume", "aws-region"}  # OIDC role, no access keys


def test_tests_run_against_postgresql_16_and_redis_7(jobs: dict[str, Any]) -> None:
    for name in ("test", "browser", "image"):
        services = jobs[name]["services"]
        assert services["postgres"]["image"] == "postgres:16"
        assert services["redis"]["image"] == "redis:7"


def test_every_check_the_pipeline_promises_is_a_make_target_in_ci(ci: dict[str, Any]) -> None:
    targets = set()
    for _job, step in steps_of(ci):
        match = MAKE_RUN.match(step.get("run", ""))
        if match:
            targets.update(word for word in step["run"].split() if re.fullmatch(r"[a-z][a-z0-9-]*", word))
    promised = {"lint", "types", "imports", "workflows-check", "unit", "browser", "chart-check", "checkov"}
    promised |= {"ansible-lint", "bandit", "audit", "image", "image-push", "migrations-check", "schema-check"}
    assert promised <= targets


@pytest.mark.parametrize("workflow", ["ci.yml", "deploy.yml"])
def test_every_run_step_goes_through_make_except_the_deploy_itself(workflow: str) -> None:
    for job, step in steps_of(load(workflow)):
        run = step.get("run")
        if run is None:
            continue
        if MAKE_RUN.match(run.strip()):
            continue
        # Anything else is the deploy itself (cluster credentials, infra/deploy), and runs no check directly.
        assert not CHECK_TOOLS.search(run), f"{job}: a check outside make: {run}"
        assert "infra/deploy" in run or run.startswith("aws eks update-kubeconfig"), f"{job}: not make: {run}"
        assert job in DEPLOY_JOBS | {"deploy"}, f"{job} deploys"


def test_make_targets_named_in_the_workflows_exist() -> None:
    targets = set()
    for name in ("ci.yml", "deploy.yml"):
        for _job, step in steps_of(load(name)):
            if MAKE_RUN.match(step.get("run", "").strip()):
                targets.update(w for w in step["run"].split() if re.fullmatch(r"[a-z][a-z0-9-]*", w) and w != "make")
    result = subprocess.run(
        ["make", "--no-print-directory", "--question", "--print-data-base"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    defined = set(re.findall(r"^([a-z][a-z0-9-]*):", result.stdout, flags=re.MULTILINE))
    assert targets - {"sudo", "env"} <= defined, targets - defined


def test_deploys_never_overlap(jobs: dict[str, Any]) -> None:
    manual = load("deploy.yml")["jobs"]["deploy"]
    assert manual["concurrency"] == {"group": "deploy-${{ inputs.environment }}", "cancel-in-progress": False}
    for name, environment in (("deploy-staging", "staging"), ("deploy-production", "production")):
        # The manual workflow's group for the same environment is the same string, so they queue behind each other.
        assert jobs[name]["concurrency"] == {"group": f"deploy-{environment}", "cancel-in-progress": False}


def test_permissions_are_least_privilege(ci: dict[str, Any], jobs: dict[str, Any]) -> None:
    assert ci["permissions"] == {"contents": "read"}
    for name, job in jobs.items():
        permissions = job.get("permissions", {})
        writes = {scope for scope, level in permissions.items() if level == "write"}
        if name in {"push", *DEPLOY_JOBS}:
            assert writes == {"id-token"}, name
        elif name == "image":
            assert writes == {"security-events"}
        else:
            assert writes == set(), name


def test_every_action_is_pinned_to_a_commit(ci: dict[str, Any]) -> None:
    for name in ("ci.yml", "deploy.yml"):
        for job, step in steps_of(load(name)):
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", step["uses"]), f"{job}: {step['uses']}"
                assert re.search(r"@[0-9a-f]{40} # v\d", (WORKFLOWS / name).read_text()), "versions are noted"


def test_the_team_hears_about_every_deploy_success_or_failure(jobs: dict[str, Any]) -> None:
    notify = jobs["notify"]
    assert notify["if"].startswith("always()")
    assert set(notify["needs"]) == set(jobs) - {"notify"}  # a failed check skips the deploy: still reported
    (step,) = notify["steps"]
    assert step["uses"].startswith("slackapi/slack-github-action@")
    assert step["with"]["webhook"] == "${{ secrets.SLACK_WEBHOOK_URL }}"
    assert "failure" in step["with"]["payload"]


def test_trivy_scans_the_image_that_is_pushed(jobs: dict[str, Any]) -> None:
    steps = jobs["image"]["steps"]
    build = next(index for index, step in enumerate(steps) if "make image image-archive" in step.get("run", ""))
    trivy = next(index for index, step in enumerate(steps) if "aquasecurity/trivy-action" in step.get("uses", ""))
    assert build < trivy
    assert steps[trivy]["with"]["input"] == ".cache/image/weekend-planner.tar"
    assert steps[trivy]["with"]["exit-code"] == "1"
    # Fixable HIGH and CRITICAL findings fail the build; ones without a fix yet are reported, not blocking.
    assert steps[trivy]["with"]["severity"] == "CRITICAL,HIGH"
    assert steps[trivy]["with"]["ignore-unfixed"] is True
    assert "if" not in steps[trivy]
    assert "continue-on-error" not in steps[trivy]
    # Pinned to a commit, with the release it is noted beside it.
    text = (WORKFLOWS / "ci.yml").read_text()
    assert re.search(r"aquasecurity/trivy-action@[0-9a-f]{40} # v\d+\.\d+\.\d+", text)


def test_the_locked_dependencies_are_audited_in_a_check_job(jobs: dict[str, Any]) -> None:
    audits = [
        (name, step)
        for name, job in jobs.items()
        for step in job.get("steps", [])
        if MAKE_RUN.match(step.get("run", "").strip()) and "audit" in step["run"].split()
    ]
    assert len(audits) == 1, audits
    name, step = audits[0]
    assert name in CHECK_JOBS  # so every push and deploy waits for it
    assert "continue-on-error" not in step
    assert "if" not in step
    download = next(step for step in jobs["push"]["steps"] if "download-artifact" in step.get("uses", ""))
    assert download["with"]["name"] == "image"
