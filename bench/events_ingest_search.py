"""Catalogue ingest and search at 100,000 events, through the services the sync task and the API call.

1. First ingest: 100,000 normalised events through apps.events.services.events_upsert, a page of 1,000 at a
   time in one transaction each, as a sync run does. Events/s.
2. Unchanged re-sync: the same items again (every content hash matches). Events/s.
3. Baseline: 5,000 events saved through the ORM one row at a time (event + source record). Events/s, and
   the ratio of the first ingest against it.
4. Search: a weekend window + 10 km around random points in the city, through apps.events.selectors and
   through the API view (Django test client, no network): p50/p95 over many queries.

Targets: first ingest >= 10,000 events/s, unchanged re-sync >= 30,000 events/s, search p95 < 30 ms.
Runs on its own PostgreSQL database (BENCH_DATABASE_URL, default weekend_planner_bench_events).
"""

import dataclasses
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

# Run as a file, which puts bench/, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.support.databases import ensure_database

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "events_ingest_search.json"

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/weekend_planner_bench_events")
TOTAL = int(os.environ.get("BENCH_EVENTS", "100000"))
PAGE = 1000
BASELINE = int(os.environ.get("BENCH_BASELINE_EVENTS", "5000"))
QUERIES = int(os.environ.get("BENCH_QUERIES", "300"))
CENTER = (52.52, 13.405)
DAYS = 91


def setup_django() -> None:
    ensure_database(DATABASE_URL)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "planner.settings",
            "DATABASE_URL": DATABASE_URL,
            "LOG_LEVEL": "WARNING",
            "DJANGO_DEBUG": "false",
            "RATE_LIMIT_MAX": "100000000",
        }
    )
    os.environ.pop("REDIS_URL", None)  # local-memory cache: this bench is about PostgreSQL
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def make_items(count: int, seed: int = 7) -> list[Any]:
    from apps.core.taxonomy import CATEGORY_SLUGS
    from apps.events.sources.base import NormalizedEvent, NormalizedVenue

    rng = random.Random(seed)
    categories = sorted(CATEGORY_SLUGS)
    venues = []
    for n in range(2000):
        # Within about 50 km of the centre.
        lat = CENTER[0] + rng.uniform(-0.45, 0.45)
        lon = CENTER[1] + rng.uniform(-0.7, 0.7)
        venues.append(NormalizedVenue(key=f"bench:{n}", name=f"Venue {n}", address=f"Street {n}", lat=lat, lon=lon,
                                      timezone="Europe/Berlin"))  # fmt: skip
    start = datetime.combine(date.today(), datetime.min.time(), tzinfo=UTC)
    items = []
    for n in range(count):
        begins = start + timedelta(minutes=rng.randrange(DAYS * 24 * 60))
        low = Decimal(rng.choice([0, 5, 10, 15, 25, 40]))
        items.append(
            NormalizedEvent(
                provider_id=f"bench-{n}",
                title=f"Event {n} {rng.choice(['Jazz', 'Market', 'Theatre', 'Run', 'Party', 'Talk'])}",
                description="A synthetic event for the benchmark.",
                start_utc=begins,
                end_utc=begins + timedelta(hours=rng.choice([1, 2, 3])),
                timezone="Europe/Berlin",
                category=rng.choice(categories),
                price_min=None if low == 0 else low,
                price_max=None if low == 0 else low + 10,
                currency="" if low == 0 else "EUR",
                is_free=low == 0,
                url=f"https://example.org/{n}",
                venue=venues[rng.randrange(len(venues))],
            )
        )
    return items


def reset_catalogue() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE events_sourcerecord, events_syncrun, events_event, events_venue, events_source "
            "RESTART IDENTITY CASCADE"
        )


def ingest(source: Any, items: list[Any]) -> float:
    from apps.events import services

    started = time.perf_counter()
    for offset in range(0, len(items), PAGE):
        services.events_upsert(source=source, items=items[offset : offset + PAGE])
    return time.perf_counter() - started


def orm_one_by_one(source: Any, items: list[Any]) -> float:
    from django.db import transaction

    from apps.events.models import Event, SourceRecord, Venue

    started = time.perf_counter()
    for item in items:
        with transaction.atomic():
            venue, _ = Venue.objects.get_or_create(
                key=item.venue.key,
                defaults={"name": item.venue.name, "address": item.venue.address, "lat": item.venue.lat,
                          "lon": item.venue.lon, "timezone": item.venue.timezone},
            )  # fmt: skip
            event = Event.objects.create(
                title=item.title, description=item.description, start_utc=item.start_utc, end_utc=item.end_utc,
                timezone=item.timezone, category=item.category, price_min=item.price_min, price_max=item.price_max,
                currency=item.currency, is_free=item.is_free, url=item.url, venue=venue, lat=venue.lat, lon=venue.lon,
            )  # fmt: skip
            SourceRecord.objects.create(source=source, provider_id=item.provider_id, event=event,
                                        content_hash=item.content_hash(), url=item.url)  # fmt: skip
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def search_latencies() -> dict[str, dict[str, float]]:
    from django.db import connection
    from django.test import Client

    from apps.core.time import weekend_window
    from apps.events import selectors

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE events_event, events_venue, events_sourcerecord")
    rng = random.Random(11)
    client = Client()
    selector_ms, api_ms, result_counts = [], [], []
    now = datetime.now(UTC)
    for n in range(QUERIES):
        lat = CENTER[0] + rng.uniform(-0.15, 0.15)
        lon = CENTER[1] + rng.uniform(-0.25, 0.25)
        start, end = weekend_window(
            "this" if n % 2 else "next", "Europe/Berlin", now=now + timedelta(weeks=rng.randrange(10))
        )
        query = selectors.EventSearch(near=(lat, lon), radius_km=10, starts_after=start, starts_before=end)
        began = time.perf_counter()
        page = list(selectors.events_search(query).order_by("start_utc", "id")[:21])
        selector_ms.append((time.perf_counter() - began) * 1000)
        result_counts.append(len(page))
        began = time.perf_counter()
        params = {
            "near": f"{lat},{lon}",
            "radius_km": "10",
            "starts_after": start.isoformat(),
            "starts_before": end.isoformat(),
        }
        response = client.get("/api/v1/events", params, REMOTE_ADDR=f"10.0.{n // 250}.{n % 250}")
        api_ms.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.content[:300]
    return {
        "selector_ms": {"p50": statistics.median(selector_ms), "p95": percentile(selector_ms, 0.95)},
        "api_ms": {"p50": statistics.median(api_ms), "p95": percentile(api_ms, 0.95)},
        "mean_results_on_first_page": {"value": statistics.mean(result_counts)},
    }


def main() -> None:
    setup_django()
    from apps.events import services
    from apps.events.models import Event

    print(f"Generating {TOTAL:,} normalised events ...", flush=True)
    items = make_items(TOTAL)
    reset_catalogue()
    source = services.source_create(provider="demo", name="bench")

    first = ingest(source, items)
    assert Event.objects.count() == TOTAL
    again = ingest(source, items)
    baseline_source = services.source_create(provider="demo", name="bench-orm")
    baseline_items = [
        dataclasses.replace(item, provider_id=f"orm-{n}") for n, item in enumerate(make_items(BASELINE, seed=99))
    ]
    baseline = orm_one_by_one(baseline_source, baseline_items)
    search = search_latencies()

    figures: dict[str, Any] = {
        "events": TOTAL,
        "first_ingest_events_per_s": TOTAL / first,
        "unchanged_resync_events_per_s": TOTAL / again,
        "orm_one_by_one_events_per_s": BASELINE / baseline,
        "first_ingest_vs_orm_ratio": (TOTAL / first) / (BASELINE / baseline),
        "search": search,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2))

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    print(f"First ingest       {figures['first_ingest_events_per_s']:>10,.0f} events/s  (target >= 10,000: "
          f"{verdict(figures['first_ingest_events_per_s'] >= 10_000)})")  # fmt: skip
    print(f"Unchanged re-sync  {figures['unchanged_resync_events_per_s']:>10,.0f} events/s  (target >= 30,000: "
          f"{verdict(figures['unchanged_resync_events_per_s'] >= 30_000)})")  # fmt: skip
    print(f"ORM one by one     {figures['orm_one_by_one_events_per_s']:>10,.0f} events/s  "
          f"(first ingest is {figures['first_ingest_vs_orm_ratio']:.0f}x faster)")  # fmt: skip
    sel, api = search["selector_ms"], search["api_ms"]
    print(f"Search (selector)  p50 {sel['p50']:.1f} ms  p95 {sel['p95']:.1f} ms  (target p95 < 30 ms: "
          f"{verdict(sel['p95'] < 30)})")  # fmt: skip
    print(
        f"Search (API view)  p50 {api['p50']:.1f} ms  p95 {api['p95']:.1f} ms  "
        f"(mean {search['mean_results_on_first_page']['value']:.1f} results on the first page)"
    )


if __name__ == "__main__":
    main()
