"""Assignment: deterministic, sticky across processes, and in the proportions the weights ask for."""

import hashlib
import json
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from scipy.stats import chisquare

from apps.analytics import assignment
from conftest import ROOT

THIRDS = [{"key": "control", "weight": 20}, {"key": "a", "weight": 30}, {"key": "b", "weight": 50}]
SALT = "5f1c0d6e9a2b4c7d8e0f1a2b3c4d5e6f"


def test_the_bucket_is_sha256_of_salt_key_and_unit_modulo_10000():
    digest = hashlib.sha256(b"s4lt:ranker-v2:user-42").digest()
    expected = int.from_bytes(digest[:8], "big") % 10_000
    assert assignment.bucket(salt="s4lt", key="ranker-v2", unit_id="user-42") == expected


@pytest.mark.parametrize(
    ("unit_bucket", "variant"),
    [(0, "control"), (1999, "control"), (2000, "a"), (4999, "a"), (5000, "b"), (9999, "b")],
)
def test_variants_take_consecutive_ranges_of_100_buckets_per_point_of_weight(unit_bucket, variant):
    assert assignment.variant_for_bucket(THIRDS, unit_bucket) == variant


def test_weights_not_adding_up_to_100_leave_buckets_unassigned():
    with pytest.raises(ValueError, match="100"):
        assignment.variant_for_bucket([{"key": "control", "weight": 40}], 4000)


def test_the_weights_are_respected_on_100000_units():
    counts = Counter(assignment.assign(salt=SALT, key="split", variants=THIRDS, unit_id=str(n)) for n in range(100_000))
    observed = [counts[v["key"]] for v in THIRDS]
    expected = [100_000 * v["weight"] / 100 for v in THIRDS]
    # Each share within 4.5 binomial standard deviations, and the split as a whole passes the SRM check.
    for seen, wanted, variant in zip(observed, expected, THIRDS, strict=True):
        share = variant["weight"] / 100
        assert abs(seen - wanted) < 4.5 * np.sqrt(100_000 * share * (1 - share)), (variant, seen)
    assert chisquare(observed, f_exp=expected).pvalue > 0.001


def test_another_salt_reshuffles_the_units():
    units = [f"anon-{n}" for n in range(2000)]
    first = [assignment.assign(salt="one", key="k", variants=THIRDS, unit_id=u) for u in units]
    second = [assignment.assign(salt="two", key="k", variants=THIRDS, unit_id=u) for u in units]
    same = sum(a == b for a, b in zip(first, second, strict=True)) / len(units)
    # Independent draws agree with probability 0.2² + 0.3² + 0.5² = 0.38.
    assert 0.33 < same < 0.43


def test_another_process_assigns_every_unit_the_same_variant():
    units = [f"user-{n}" for n in range(2000)] + ["ünïcode-ok?", "a" * 64]
    here = [assignment.assign(salt=SALT, key="sticky", variants=THIRDS, unit_id=u) for u in units]
    script = (
        "import json, sys\n"
        "from apps.analytics import assignment\n"
        "units, variants, salt = json.load(sys.stdin)\n"
        "print(json.dumps([assignment.assign(salt=salt, key='sticky', variants=variants, unit_id=u) for u in units]))\n"
    )
    # A fresh interpreter with another hash seed: Python's own hash() would differ there, SHA-256 does not.
    completed = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps([units, THIRDS, SALT]),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert json.loads(completed.stdout) == here
