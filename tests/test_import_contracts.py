"""The import-linter contracts in pyproject.toml cannot silently miss an app.

Each test copies the project's Python packages to a scratch directory, makes one change a future app could make,
and runs `lint-imports` there with the project's own configuration.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
LAYERS = "Apps are layered"
USED_THROUGH_SERVICES = "An app is used by other apps through its models, services and selectors only"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for package in ("apps", "planner"):
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("tests", "migrations", "__pycache__", "*.html", "*.txt", "*.json"),
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=project, capture_output=True, text=True, timeout=300, check=False
    )


def contract_status(output: str, name: str) -> str:
    """KEPT or BROKEN, as lint-imports reports the contract whose name starts with `name` (it wraps long lines)."""
    flat = " ".join(output.split())
    match = re.search(re.escape(name) + r"[^\n]*? (KEPT|BROKEN)", flat)
    assert match, f"{name!r} not reported:\n{output}"
    return match.group(1)


def test_the_copied_project_keeps_every_contract(project: Path) -> None:
    result = lint_imports(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert contract_status(result.stdout, LAYERS) == "KEPT"
    assert contract_status(result.stdout, USED_THROUGH_SERVICES) == "KEPT"


def test_a_new_app_missing_from_the_layers_breaks_the_layers_contract(project: Path) -> None:
    (project / "apps" / "example").mkdir()
    (project / "apps" / "example" / "__init__.py").write_text("")

    result = lint_imports(project)

    assert result.returncode != 0
    assert "apps.example" in result.stdout
    assert contract_status(result.stdout, LAYERS) == "BROKEN"


def test_an_app_importing_another_apps_views_breaks_the_contract(project: Path) -> None:
    selectors = project / "apps" / "calendars" / "selectors.py"
    selectors.write_text(selectors.read_text() + "\nfrom apps.events import views as _events_views  # noqa\n")

    result = lint_imports(project)

    assert result.returncode != 0
    assert contract_status(result.stdout, USED_THROUGH_SERVICES) == "BROKEN"
    assert contract_status(result.stdout, LAYERS) == "KEPT"
    assert "apps.calendars.selectors -> apps.events.views" in result.stdout
