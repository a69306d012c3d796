"""`manage.py solve_optw`: a benchmark instance solved with no database content, the JSON last line in the
documented shape and feasible by the checker, and clear errors for what cannot be solved."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.itineraries.solver import Solution, check, parse_kuleuven

SOLOMON_50 = Path(__file__).resolve().parents[3].parent / "shared" / "bench-data" / "optw" / "solomon_50"
TINY = "4 10 3 1 0 0\n0 0 0 0 0 0 0 0 100\n1 3 4 5 7 1 1 1 0 50\n2 6 8 5 9 1 1 1 0 50\n3 90 90 5 9 1 1 1 0 50\n"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("solve_optw", *args, stdout=out)
    return out.getvalue()


def test_json_last_line_names_score_tours_and_seconds(tmp_path: Path) -> None:
    instance_file = tmp_path / "tiny.txt"
    instance_file.write_text(TINY)
    answer = json.loads(run(str(instance_file), "--json", "--time-limit", "0.5", "--tours", "2").splitlines()[-1])
    assert set(answer) == {"score", "tours", "seconds"}
    assert answer["score"] == 16  # nodes 1 and 2; node 3 is too far to reach and come back
    assert sorted(n for tour in answer["tours"] for n in tour) == [1, 2]
    assert len(answer["tours"]) == 2
    assert isinstance(answer["seconds"], float)
    readable = run(str(instance_file), "--time-limit", "0.2")
    assert "score 16" in readable
    assert "feasible" in readable


@pytest.mark.skipif(not SOLOMON_50.is_dir(), reason="the OPTW benchmark data is not on this machine")
def test_a_solomon_instance_with_two_decimals_is_feasible() -> None:
    path = SOLOMON_50 / "50_r102.txt"
    answer = json.loads(
        run(str(path), "--json", "--time-limit", "1", "--decimals", "2", "--seed", "3").splitlines()[-1]
    )
    instance = parse_kuleuven(path.read_text(), decimals=2)
    tours = tuple(tuple(tour) for tour in answer["tours"])
    assert check(instance, Solution(tours, answer["score"], (), 0, 0.0)) == []
    assert answer["score"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/nonexistent/instance.txt"], "Cannot read"),
        (["{tiny}", "--tours", "0"], "--tours"),
        (["{tiny}", "--time-limit", "0"], "--time-limit"),
        (["{garbage}"], "not a KU Leuven instance"),
    ],
)
def test_what_cannot_be_solved_is_a_clear_error(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "tiny.txt").write_text(TINY)
    (tmp_path / "garbage.txt").write_text("hello world")
    paths = {"tiny": str(tmp_path / "tiny.txt"), "garbage": str(tmp_path / "garbage.txt")}
    with pytest.raises(CommandError, match=message):
        run(*(arg.format(**paths) for arg in args))
