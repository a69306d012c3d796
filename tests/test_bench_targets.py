"""Every benchmark script runs from `make bench` (or `make load`): a script no target runs is a figure nobody
re-measures (bench/calendars_conflicts.py, the conflict-check target's bench, had been left out of `make bench`)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _recipe(target: str) -> str:
    """The recipe of a Makefile target: the tab-indented lines that follow its rule."""
    makefile = (ROOT / "Makefile").read_text()
    found = re.search(rf"^{target}:[^\n]*\n((?:\t[^\n]*\n)+)", makefile, flags=re.MULTILINE)
    assert found is not None, f"no target {target} in the Makefile"
    return found.group(1)


def test_every_runnable_bench_script_is_run_by_make_bench_or_make_load() -> None:
    runnable = {path.name for path in (ROOT / "bench").glob("*.py") if 'if __name__ == "__main__"' in path.read_text()}
    assert "calendars_conflicts.py" in runnable  # the scan finds what it should
    run = set(re.findall(r"bench/(\w+\.py)", _recipe("bench") + _recipe("load")))
    assert sorted(runnable - run) == []
