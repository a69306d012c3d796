"""Catalogue ingest and search at 100,000 events, through the code the sync task and the API run.

1. First sync: 100,000 normalised events through apps.events.sync.sync_source, from a connector serving pages
   of 1,000 (each item checked by Page.add, as every connector's are), each page stored with its checkpoint in
   one transaction, duplicates looked for, the run recorded. Events/s.
2. Unchanged re-sync: the same items again (every content hash matches). Events/s.
3. Changed re-sync: the same items with every tenth one's price changed. Events/s.
4. Baseline: 5,000 events saved through the ORM one row at a time (venue, then event). Events/s, and
   the ratio of the first sync against it.
5. Search: a weekend window + 10 km around random points in the city, through apps.events.selectors and
   through the API view (Django test client, no network): p50/p95 over many queries.

Targets: first sync >= 20,000 events/s, unchanged re-sync >= 50,000 events/s, search p95 < 30 ms.

`--memory --events 1000000`: only the first sync and the unchanged re-sync over a source that makes its pages as
they are asked for (nothing held), printing the peak RSS after the first 100,000 events and at the end: flat
memory means the two agree. Events/s there leave out the time the bench spends making the items.

Runs on its own PostgreSQL database (BENCH_DATABASE_URL, default weekend_planner_bench_events).
"""

import argparse
import dataclasses
import json
import os
import random
import resource
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


def make_venues(rng: random.Random) -> list[Any]:
    from apps.events.sources.base import NormalizedVenue

    venues = []
    for n in range(2000):
        # Within about 50 km of the centre.
        lat = CENTER[0] + rng.uniform(-0.45, 0.45)
        lon = CENTER[1] + rng.uniform(-0.7, 0.7)
        venues.append(NormalizedVenue(key=f"bench:{n}", name=f"Venue {n}", address=f"Street {n}", lat=lat, lon=lon,
                                      timezone="Europe/Berlin"))  # fmt: skip
    return venues


def make_items(count: int, seed: int = 7, *, first: int = 0, venues: list[Any] | None = None) -> list[Any]:
    """`count` synthetic events numbered from `first`; the same arguments give the same events."""
    from apps.core.taxonomy import CATEGORY_SLUGS
    from apps.events.sources.base import NormalizedEvent

    rng = random.Random(seed)
    categories = sorted(CATEGORY_SLUGS)
    venues = venues or make_venues(rng)
    start = datetime.combine(date.today(), datetime.min.time(), tzinfo=UTC)
    items = []
    for n in range(first, first + count):
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
        cursor.execute("TRUNCATE events_syncrun, events_event, events_venue, events_source RESTART IDENTITY CASCADE")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


class PagedSource:
    """The pages of a synthetic source: held in memory (`pages`), or made when asked for (`pages=None`), page k
    always the same events. Counts the time spent making them, and the peak RSS once `sample_after` events
    have been served."""

    def __init__(self, total: int, pages: list[list[Any]] | None = None, sample_after: int = 100_000) -> None:
        self.total, self.held, self.sample_after = total, pages, sample_after
        self.venues = make_venues(random.Random(7))
        self.making_seconds = self.receiver_seconds = 0.0
        self.rss_sample_mb: float | None = None

    def items(self, number: int) -> list[Any]:
        if self.held is not None:
            return self.held[number]
        began = time.perf_counter()
        made = make_items(min(PAGE, self.total - number * PAGE), seed=number, first=number * PAGE, venues=self.venues)
        self.making_seconds += time.perf_counter() - began
        return made

    def connector(self, source: Any) -> Any:
        from apps.events.sources.base import Connector, Page

        paged = self

        class BenchConnector(Connector):
            provider = "demo"

            def pages(self, *, window_start: datetime, window_end: datetime, checkpoint: Any) -> Any:
                count = -(-paged.total // PAGE)
                for number in range((checkpoint or {}).get("page", 0), count):
                    page = Page(checkpoint={"page": number + 1} if number + 1 < count else None)
                    for item in paged.items(number):
                        page.add(item, item.provider_id)  # the checks every connector's items go through
                    if paged.rss_sample_mb is None and (number + 1) * PAGE >= paged.sample_after:
                        paged.rss_sample_mb = peak_rss_mb()
                    yield page

        return BenchConnector(source)


def sync_once(source: Any, paged: PagedSource) -> tuple[float, Any]:
    """Seconds one sync run of the source took (less the time spent making items), and the run. The seconds
    spent in the receivers of events_changed (other apps' work) are kept in `paged.receiver_seconds`."""
    from apps.events import sync
    from apps.events.signals import events_changed

    send = events_changed.send

    def timed_send(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return send(*args, **kwargs)
        finally:
            paged.receiver_seconds += time.perf_counter() - began

    paged.making_seconds = paged.receiver_seconds = 0.0
    events_changed.send = timed_send  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        run = sync.sync_source(source_id=source.pk, connector=paged.connector(source))
        seconds = time.perf_counter() - started - paged.making_seconds
    finally:
        del events_changed.send
    assert run.outcome == "completed", run.error
    return seconds, run


def held_pages(items: list[Any]) -> list[list[Any]]:
    return [items[offset : offset + PAGE] for offset in range(0, len(items), PAGE)]


def orm_one_by_one(source: Any, items: list[Any]) -> float:
    from django.db import transaction

    from apps.events.models import Event, Venue

    started = time.perf_counter()
    for item in items:
        with transaction.atomic():
            venue, _ = Venue.objects.get_or_create(
                key=item.venue.key,
                defaults={"name": item.venue.name, "address": item.venue.address, "lat": item.venue.lat,
                          "lon": item.venue.lon, "timezone": item.venue.timezone},
            )  # fmt: skip
            Event.objects.create(
                title=item.title, description=item.description, start_utc=item.start_utc, end_utc=item.end_utc,
                timezone=item.timezone, category=item.category, price_min=item.price_min, price_max=item.price_max,
                currency=item.currency, is_free=item.is_free, url=item.url, venue=venue, lat=venue.lat, lon=venue.lon,
                source=source, provider_id=item.provider_id, content_hash=item.content_hash(),
            )  # fmt: skip
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
        cursor.execute("ANALYZE events_event, events_venue")
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


def memory_run(total: int) -> None:
    """First sync and unchanged re-sync over a source made as it is read: peak RSS after 100,000 and at the end."""
    from apps.events import services

    reset_catalogue()
    source = services.source_create(provider="demo", name="bench")
    paged = PagedSource(total, sample_after=min(100_000, total))
    print(f"Peak RSS before the first sync: {peak_rss_mb():,.0f} MB", flush=True)
    for label in ("first sync", "unchanged re-sync"):
        paged.rss_sample_mb = None
        began = time.perf_counter()
        seconds, run = sync_once(source, paged)
        print(
            f"{label:<18} {total / seconds:>10,.0f} events/s  ({seconds:,.0f} s storing, "
            f"{time.perf_counter() - began:,.0f} s with making the items; created {run.created:,}, "
            f"unchanged {run.unchanged:,})  peak RSS after {paged.sample_after:,}: {paged.rss_sample_mb:,.0f} MB, "
            f"after {total:,}: {peak_rss_mb():,.0f} MB",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=TOTAL, help="events in the synthetic source")
    parser.add_argument("--memory", action="store_true", help="only the syncs, over a source made as it is read")
    args = parser.parse_args()
    setup_django()
    if args.memory:
        memory_run(args.events)
        return
    total = args.events
    from apps.events import services
    from apps.events.models import Event

    print(f"Generating {total:,} normalised events ...", flush=True)
    items = make_items(total)
    changed = [
        dataclasses.replace(item, price_min=(item.price_min or Decimal(0)) + 1,
                            price_max=(item.price_max or Decimal(0)) + 1,
                            is_free=False, currency="EUR") if n % 10 == 0 else item
        for n, item in enumerate(items)
    ]  # fmt: skip
    reset_catalogue()
    source = services.source_create(provider="demo", name="bench")

    receivers: dict[str, float] = {}
    paged = PagedSource(total, held_pages(items))
    first, first_run = sync_once(source, paged)
    receivers["first"] = paged.receiver_seconds
    assert Event.objects.count() == total
    assert first_run.created == total
    again, again_run = sync_once(source, paged)
    assert again_run.unchanged == total, again_run.counts()
    paged = PagedSource(total, held_pages(changed))
    change, change_run = sync_once(source, paged)
    receivers["changed"] = paged.receiver_seconds
    assert change_run.updated == -(-total // 10), change_run.counts()
    del items, changed
    baseline_source = services.source_create(provider="demo", name="bench-orm")
    baseline_items = [
        dataclasses.replace(item, provider_id=f"orm-{n}") for n, item in enumerate(make_items(BASELINE, seed=99))
    ]
    baseline = orm_one_by_one(baseline_source, baseline_items)
    search = search_latencies()

    figures: dict[str, Any] = {
        "events": total,
        "first_sync_events_per_s": total / first,
        "unchanged_resync_events_per_s": total / again,
        "changed_resync_events_per_s": total / change,
        "events_changed_receivers_s": receivers,
        "orm_one_by_one_events_per_s": BASELINE / baseline,
        "first_sync_vs_orm_ratio": (total / first) / (BASELINE / baseline),
        "peak_rss_mb": peak_rss_mb(),
        "search": search,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2))

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    print(f"First sync         {figures['first_sync_events_per_s']:>10,.0f} events/s  (target >= 20,000: "
          f"{verdict(figures['first_sync_events_per_s'] >= 20_000)})")  # fmt: skip
    print(f"Unchanged re-sync  {figures['unchanged_resync_events_per_s']:>10,.0f} events/s  (target >= 50,000: "
          f"{verdict(figures['unchanged_resync_events_per_s'] >= 50_000)})")  # fmt: skip
    print(f"Changed re-sync    {figures['changed_resync_events_per_s']:>10,.0f} events/s  (every tenth event changed)")
    print(f"events_changed receivers (other apps) took {receivers['first']:.2f} s of the first sync, "
          f"{receivers['changed']:.2f} s of the changed re-sync")  # fmt: skip
    print(f"ORM one by one     {figures['orm_one_by_one_events_per_s']:>10,.0f} events/s  "
          f"(first sync is {figures['first_sync_vs_orm_ratio']:.0f}x faster)")  # fmt: skip
    print(f"Peak RSS           {figures['peak_rss_mb']:>10,.0f} MB (the {total:,} events held in memory included)")
    sel, api = search["selector_ms"], search["api_ms"]
    print(f"Search (selector)  p50 {sel['p50']:.1f} ms  p95 {sel['p95']:.1f} ms  (target p95 < 30 ms: "
          f"{verdict(sel['p95'] < 30)})")  # fmt: skip
    print(
        f"Search (API view)  p50 {api['p50']:.1f} ms  p95 {api['p95']:.1f} ms  "
        f"(mean {search['mean_results_on_first_page']['value']:.1f} results on the first page)"
    )


if __name__ == "__main__":
    main()
