"""Renders the chart with the real helm (`make helm`) for the deploy tests: helm's stderr fails the test."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.validate_chart import CHART, HELM, NAMESPACE, RELEASE, ChartCheckError
from scripts.validate_chart import render as render_text


def require_helm() -> None:
    if not HELM.exists():
        pytest.fail(f"{HELM} is missing: `make helm` fetches it")


def _chart_path(values_file: str) -> str:
    path = Path(values_file)
    return str(path if path.is_absolute() else CHART / path)


def render(
    values_files: list[str] | None = None,
    set_values: dict[str, Any] | None = None,
    *,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
) -> list[dict[str, Any]]:
    """The chart's objects (hooks included) for these values files (relative to the chart, or absolute) and
    --set overrides; the test fails with helm's stderr when rendering fails."""
    require_helm()
    overrides = {
        key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in (set_values or {}).items()
    }
    try:
        text = render_text(
            [_chart_path(f) for f in values_files or []], overrides, release=release, namespace=namespace
        )
    except ChartCheckError as error:
        pytest.fail(str(error))
    return [document for document in yaml.safe_load_all(text) if document]


def render_error(
    values_files: list[str] | None = None,
    set_values: dict[str, Any] | None = None,
    *,
    skip_schema_validation: bool = False,
) -> str:
    """helm's error output for values that must not render; fails the test when they do render."""
    require_helm()
    overrides = {key: str(value) for key, value in (set_values or {}).items()}
    try:
        render_text(
            [_chart_path(f) for f in values_files or []], overrides, skip_schema_validation=skip_schema_validation
        )
    except ChartCheckError as error:
        return str(error)
    pytest.fail(f"the chart rendered with {values_files} {set_values}, but it must refuse them")


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """Objects of one kind by name."""
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}
