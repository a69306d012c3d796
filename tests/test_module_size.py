"""No module of an app grows past MAX_LINES: a file that does one job stays readable in one sitting. It covers every
app, including the ones added later; tests and migrations are left out (generated, or long by listing cases)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 500


def app_modules() -> list[Path]:
    return [
        path
        for path in sorted((ROOT / "apps").rglob("*.py"))
        if not {"tests", "migrations"} & set(path.relative_to(ROOT).parts)
    ]


def test_the_walk_sees_every_app() -> None:
    apps = {path.relative_to(ROOT / "apps").parts[0] for path in app_modules()}
    assert {"core", "users", "events", "calendars"} <= apps


def test_no_app_module_is_longer_than_max_lines() -> None:
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path in app_modules()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not too_long, f"split these into modules with one job each (at most {MAX_LINES} lines): {too_long}"
