"""Which variant a unit sees: a pure function of (salt, experiment key, unit id), the same in every process.

SHA-256 of "salt:key:unit_id" (Python's hash() is salted per process, so it would not be sticky), its first
8 bytes as an integer, modulo 10,000 buckets; the variants take consecutive ranges of buckets in their listed
order, 100 buckets per point of weight. The salt and key never hold a colon, so the text is unambiguous.
"""

import hashlib
from collections.abc import Sequence
from typing import Any

BUCKETS = 10_000
BUCKETS_PER_WEIGHT = BUCKETS // 100  # weights are whole percentages adding up to 100


def bucket(*, salt: str, key: str, unit_id: str) -> int:
    digest = hashlib.sha256(f"{salt}:{key}:{unit_id}".encode()).digest()
    # 2**64 is not a multiple of 10,000: the first 1,616 buckets are likelier by 1 part in 1.8e15.
    return int.from_bytes(digest[:8], "big") % BUCKETS


def variant_for_bucket(variants: Sequence[dict[str, Any]], unit_bucket: int) -> str:
    upper = 0
    for variant in variants:
        upper += int(variant["weight"]) * BUCKETS_PER_WEIGHT
        if unit_bucket < upper:
            return str(variant["key"])
    raise ValueError("The variants' weights do not add up to 100.")


def assign(*, salt: str, key: str, variants: Sequence[dict[str, Any]], unit_id: str) -> str:
    return variant_for_bucket(variants, bucket(salt=salt, key=key, unit_id=unit_id))
