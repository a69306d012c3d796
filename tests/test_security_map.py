"""The OWASP ASVS map in docs/security.md cannot rot: every test it names exists, every level 1 and 2
requirement of ASVS 5.0.0 has a row, and every row says how it stands and why.

A reference is written `path.py::function` (a test function, at module level or in a class) or `path.py` (a
whole file). Parametrised tests are named without their ids.
"""

import ast
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "security.md"
SECTION = "## OWASP ASVS 5.0 level 2"
STATUSES = {"tested", "not applicable", "not yet"}
REFERENCE = re.compile(r"`((?:apps|tests)/[\w./-]+\.py)(?:::(\w+))?`")
ROW = re.compile(r"^\|\s*(V\d+\.\d+\.\d+)\s*\|")

# Every ASVS 5.0.0 requirement of level 1 or 2 (OWASP_Application_Security_Verification_Standard_5.0.0_en.csv),
# by section: "V1.2: 1-9" is V1.2.1 to V1.2.9. Level 3 requirements are left out of the map.
LEVEL_2 = """
V1.1: 1-2; V1.2: 1-9; V1.3: 1-11; V1.4: 1-3; V1.5: 1-2;
V2.1: 1-3; V2.2: 1-3; V2.3: 1-4; V2.4: 1;
V3.2: 1-2; V3.3: 1-4; V3.4: 1-6; V3.5: 1-5; V3.7: 1-2;
V4.1: 1-3; V4.2: 1; V4.3: 1-2; V4.4: 1-4;
V5.1: 1; V5.2: 1-3; V5.3: 1-2; V5.4: 1-3;
V6.1: 1-3; V6.2: 1-12; V6.3: 1-4; V6.4: 1-4; V6.5: 1-5; V6.6: 1-3; V6.8: 1-4;
V7.1: 1-3; V7.2: 1-4; V7.3: 1-2; V7.4: 1-5; V7.5: 1-2; V7.6: 1-2;
V8.1: 1-2; V8.2: 1-3; V8.3: 1; V8.4: 1;
V9.1: 1-3; V9.2: 1-4;
V10.1: 1-2; V10.2: 1-2; V10.3: 1-4; V10.4: 1-11; V10.5: 1-5; V10.6: 1-2; V10.7: 1-3;
V11.1: 1-2; V11.2: 1-3; V11.3: 1-3; V11.4: 1-4; V11.5: 1; V11.6: 1;
V12.1: 1-3; V12.2: 1-2; V12.3: 1-4;
V13.1: 1; V13.2: 1-5; V13.3: 1-2; V13.4: 1-5;
V14.1: 1-2; V14.2: 1-4; V14.3: 1-3;
V15.1: 1-3; V15.2: 1-3; V15.3: 1-7;
V16.1: 1; V16.2: 1-5; V16.3: 1-4; V16.4: 1-3; V16.5: 1-3;
V17.1: 1; V17.2: 1-4; V17.3: 1-2
"""


def expected_ids() -> set[str]:
    ids = set()
    for entry in LEVEL_2.replace("\n", " ").split(";"):
        section, _, numbers = entry.strip().partition(":")
        first, _, last = numbers.strip().partition("-")
        ids.update(f"{section}.{n}" for n in range(int(first), int(last or first) + 1))
    return ids


def map_rows() -> list[list[str]]:
    text = DOC.read_text()
    assert SECTION in text, f"{DOC} has no {SECTION!r} section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if ROW.match(line):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            rows.append(cells)
    return rows


@functools.cache
def functions_in(path: str) -> frozenset[str]:
    tree = ast.parse((ROOT / path).read_text())
    return frozenset(node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)))


def unresolved(references: list[tuple[str, str]]) -> list[str]:
    missing = []
    for path, function in references:
        if not (ROOT / path).is_file():
            missing.append(f"{path} (no such file)")
        elif function and function not in functions_in(path):
            missing.append(f"{path}::{function} (no such function)")
    return missing


def test_the_map_has_one_well_formed_row_per_level_1_and_2_requirement() -> None:
    rows = map_rows()
    ids = [row[0] for row in rows]
    duplicates = sorted({requirement for requirement in ids if ids.count(requirement) > 1})
    assert not duplicates, f"requirements listed twice: {duplicates}"
    expected = expected_ids()
    assert len(expected) > 200  # the list above parsed
    assert not expected - set(ids), f"level 1/2 requirements missing from the map: {sorted(expected - set(ids))}"
    assert not set(ids) - expected, f"not ASVS 5.0 level 1/2 requirements: {sorted(set(ids) - expected)}"
    for row in rows:
        assert len(row) == 5, f"{row[0]}: expected | ASVS | L | requirement | status | proof or reason |"
        requirement, level, summary, status, proof = row
        assert level in {"1", "2"}, f"{requirement}: level {level!r}"
        assert summary, f"{requirement}: no requirement text"
        assert status in STATUSES, f"{requirement}: status {status!r} is not one of {sorted(STATUSES)}"
        if status == "tested":
            assert REFERENCE.search(proof), f"{requirement}: tested, but names no test"
        else:
            reason = REFERENCE.sub("", proof).strip(" .,:;()")
            assert len(reason) >= 5, f"{requirement}: {status} needs a reason"


def test_every_test_the_map_names_exists() -> None:
    references = sorted({match.groups("") for row in map_rows() for match in REFERENCE.finditer(row[4])})
    assert references, "the map names no test at all"
    missing = unresolved(references)
    assert not missing, "the ASVS map names tests that do not exist:\n" + "\n".join(missing)


@pytest.mark.parametrize(
    ("reference", "resolves"),
    [
        (("tests/test_security_map.py", "test_every_test_the_map_names_exists"), True),
        (("tests/test_security_map.py", ""), True),
        (("tests/test_security_map.py", "test_that_was_never_written"), False),
        (("tests/no_such_file.py", ""), False),
    ],
)
def test_the_resolver_tells_existing_tests_from_missing_ones(reference: tuple[str, str], resolves: bool) -> None:
    assert (unresolved([reference]) == []) is resolves
