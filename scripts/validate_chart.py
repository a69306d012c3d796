"""Checks the Helm chart the way `make chart-check` and tests/deploy/test_chart.py both do.

For default, staging and production values (and the blue-green releases built from production): `helm lint
--strict`, then `helm template` validated by `kubernetes-validate --strict` against the oldest Kubernetes the
chart supports, the EKS version we target and the newest schema kubernetes-validate ships. Any WARN line is a
failure except a missing schema for the Prometheus operator's own kinds, which the tests check instead.
"""

import importlib
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "infra" / "helm" / "weekend-planner"
BIN = Path(sys.executable).parent
HELM = BIN / "helm"
KUBERNETES_VALIDATE = BIN / "kubernetes-validate"

# Chart.yaml's kubeVersion floor, and the EKS version we run (in EKS standard support into 2027).
FLOOR_KUBERNETES = "1.33.0"
TARGET_KUBERNETES = "1.35.0"
RELEASE = "weekend-planner"
NAMESPACE = "weekend-planner"

# kubernetes-validate ships no schema for these CRDs; tests/deploy/test_chart.py and test_external_secret.py check them.
_ALLOWED_WARNING = re.compile(
    r"Couldn't find schema for kind (ServiceMonitor|PrometheusRule) with api version monitoring\.coreos\.com/v1\b"
    r"|Couldn't find schema for kind (ExternalSecret|SecretStore) with api version external-secrets\.io/v1\b"
)


@dataclass(frozen=True)
class Variant:
    """One way the chart is installed: values files (relative to the chart) plus --set overrides."""

    name: str
    values_files: tuple[str, ...] = ()
    set_values: dict[str, str] = field(default_factory=dict)
    release: str = RELEASE


VALUES_FILES = {"default": (), "staging": ("values-staging.yaml",), "production": ("values-production.yaml",)}
VARIANTS = (
    *(Variant(name, files) for name, files in VALUES_FILES.items()),
    # Blue-green (infra/deploy): a colour release with its beat stopped, and the router release.
    Variant(
        "production-blue", ("values-production.yaml",), {"colour": "blue", "beat.replicas": "0"}, f"{RELEASE}-blue"
    ),
    Variant("production-router", ("values-production.yaml",), {"router.enabled": "true", "router.colour": "green"}),
)


class ChartCheckError(Exception):
    """helm or kubernetes-validate refused the chart; the message carries their output."""


def kubernetes_versions() -> list[str]:
    """The floor, the target and the newest version kubernetes-validate knows, without duplicates."""
    utils = importlib.import_module("kubernetes_validate.utils")
    newest = str(utils.latest_version())
    return list(dict.fromkeys([FLOOR_KUBERNETES, TARGET_KUBERNETES, newest]))


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=CHART, capture_output=True, text=True, check=False)


# The environments' values files leave the account's ECR repository, IRSA role and ACM certificate empty (deploy.yml
# fills them from the inventory and lookups); these marked stand-ins follow either file so that it renders.
ACCOUNT_STANDINS = ROOT / "scripts" / "support" / "chart_account_standins.yaml"
ENVIRONMENT_VALUES = {"values-staging.yaml", "values-production.yaml"}


def _values_arguments(values_files: tuple[str, ...] | list[str], set_values: dict[str, str] | None) -> list[str]:
    arguments: list[str] = []
    for values_file in values_files:
        arguments += ["--values", str(CHART / values_file)]
        if Path(values_file).name in ENVIRONMENT_VALUES:
            arguments += ["--values", str(ACCOUNT_STANDINS)]
    for key, value in (set_values or {}).items():
        arguments += ["--set-string" if key == "image.tag" else "--set", f"{key}={value}"]
    return arguments


def lint(variant: Variant) -> None:
    result = _run(
        [str(HELM), "lint", "--strict", str(CHART), *_values_arguments(variant.values_files, variant.set_values)]
    )
    if result.returncode != 0:
        raise ChartCheckError(f"helm lint --strict ({variant.name}) failed:\n{result.stdout}{result.stderr}")


def render(
    values_files: tuple[str, ...] | list[str] = (),
    set_values: dict[str, str] | None = None,
    *,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    skip_schema_validation: bool = False,
) -> str:
    """`helm template` output (hooks included); ChartCheckError with helm's stderr when rendering fails."""
    command = [str(HELM), "template", release, str(CHART), "--namespace", namespace]
    command += _values_arguments(values_files, set_values)
    if skip_schema_validation:
        command.append("--skip-schema-validation")
    result = _run(command)
    if result.returncode != 0:
        raise ChartCheckError(f"helm template failed:\n{result.stderr}")
    return result.stdout


def validation_problems(manifests: str, version: str) -> list[str]:
    """kubernetes-validate --strict output lines that count as failures (empty when the manifests pass)."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="chart-") as rendered:
        rendered.write(manifests)
        rendered.flush()
        result = subprocess.run(
            [str(KUBERNETES_VALIDATE), "--strict", "--quiet", "--kubernetes-version", version, rendered.name],
            capture_output=True,
            text=True,
            check=False,
        )
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and not (line.startswith("WARN ") and _ALLOWED_WARNING.search(line))
    ]
    if result.returncode != 0 and not problems:
        problems.append(f"kubernetes-validate exited with {result.returncode}")
    return problems


def check(variant: Variant, versions: list[str]) -> list[str]:
    """Lints and validates one variant; returns failures as text."""
    try:
        lint(variant)
        manifests = render(variant.values_files, variant.set_values, release=variant.release)
    except ChartCheckError as error:
        return [str(error)]
    return [
        f"{variant.name} @ {version}: {line}"
        for version in versions
        for line in validation_problems(manifests, version)
    ]


def main() -> int:
    versions = kubernetes_versions()
    failures: list[str] = []
    for variant in VARIANTS:
        problems = check(variant, versions)
        failures += problems
        print(
            f"{variant.name}: {'FAILED' if problems else 'ok'} (helm lint --strict; kubernetes {', '.join(versions)})"
        )
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
