"""Which catalogue events are the same real-world event listed by two sources. Pure functions, no database."""

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from difflib import SequenceMatcher

START_TOLERANCE = timedelta(minutes=15)
NEAR_KM = 0.3
TITLE_SIMILARITY = 0.6
_NOISE_WORDS = frozenset({"the", "a", "an", "and", "live", "presents", "in", "at", "concert", "tour", "tickets"})


@dataclass(frozen=True)
class Candidate:
    id: int
    source_id: int | None
    title: str
    start_utc: datetime
    lat: float | None
    lon: float | None
    venue_id: int | None


def normalise_title(title: str) -> str:
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    words = [w for w in re.findall(r"[a-z0-9]+", text) if w not in _NOISE_WORDS]
    return " ".join(words)


def title_similarity(a: str, b: str) -> float:
    na, nb = normalise_title(a), normalise_title(b)
    if not na or not nb:
        return 0.0
    if na == nb:
        return 1.0
    tokens_a, tokens_b = set(na.split()), set(nb.split())
    jaccard = len(tokens_a & tokens_b) / len(tokens_a | tokens_b)
    containment = len(tokens_a & tokens_b) / min(len(tokens_a), len(tokens_b))
    return max(
        jaccard, SequenceMatcher(None, na, nb).ratio(), containment if min(len(tokens_a), len(tokens_b)) >= 2 else 0
    )


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))


def same_place(a: Candidate, b: Candidate) -> bool:
    if a.venue_id is not None and a.venue_id == b.venue_id:
        return True
    if None in (a.lat, a.lon, b.lat, b.lon):
        return False
    return distance_km(a.lat, a.lon, b.lat, b.lon) <= NEAR_KM  # type: ignore[arg-type]


def is_duplicate(a: Candidate, b: Candidate) -> bool:
    return (
        a.id != b.id
        and a.source_id != b.source_id
        and abs(a.start_utc - b.start_utc) <= START_TOLERANCE
        and same_place(a, b)
        and title_similarity(a.title, b.title) >= TITLE_SIMILARITY
    )
