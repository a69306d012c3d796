"""Occurrences a second: GET /api/v1/calendars/{id}/occurrences against recurring-ical-events in memory.

The calendars: the reference calendars shipped in recurring-ical-events' wheel (the ones the calendars tests
compare against), each that icalendar reads, that has VEVENTs and that the library expands. The window: the
calendar year of the earliest DTSTART in the file.

- Reference: `recurring_ical_events.of(calendar).between(Jan 1, Jan 1 next year)` on the already parsed file
  (icalendar.Calendar), in memory.
- Ours: the file imported once into a calendar of its own (apps.calendars.services.plans_import, America/Chicago
  as in the tests), then read through Django's test client as a signed-in person (a real access JWT):
  `?start=<year>-01-01&end=<year+1>-01-01&include_cancelled=true&page_size=100`, following `next` to the end.
  Everything a request does is counted: authentication, throttling (Redis), the queries, expansion, JSON.

Each side is timed REPEAT times after one warm-up pass (the series cache is then warm, as in a running server;
the cold first pass is printed too) and the median is taken. Rates are occurrences / second; the ratio is ours
over the reference's. "Overall" is all the calendars' occurrences over all their time, on each side.

Run: .venv/bin/python bench/calendars_occurrences.py [--save]  (--save writes bench/results/calendars_occurrences.json)
Database BENCH_DATABASE_URL (default weekend_planner_bench_occurrences on the local server), Redis BENCH_REDIS_URL.
"""

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

# Run as a file, which puts bench/, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.support.databases import ensure_database

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "calendars_occurrences.json"
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/weekend_planner_bench_occurrences"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
PAGE_SIZE = 100
TIMEZONE = "America/Chicago"  # floating times are read here by both sides, as in the calendars tests
EMAIL = "bench-occurrences@example.com"
PASSWORD = "bench-occurrences-password-1"  # noqa: S105 - a throwaway account in the bench database


def setup_django() -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "planner.settings",
            "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": REDIS_URL,
            "LOG_LEVEL": "WARNING",
            "DJANGO_DEBUG": "false",
            # The throttle still counts every request in Redis; the limit only must not stop the bench.
            "RATE_LIMIT_MAX": "1000000000",
        }
    )
    import django

    django.setup()


@dataclass
class Case:
    name: str
    calendar: Any  # icalendar.Calendar, parsed once
    data: bytes
    year: int


def cases() -> tuple[list[Case], list[str]]:
    import icalendar
    import recurring_ical_events  # type: ignore[import-untyped]

    folder = Path(recurring_ical_events.__file__).parent / "test" / "calendars"
    found, left_out = [], []
    for path in sorted(folder.glob("*.ics")):
        data = path.read_bytes()
        try:
            calendar = icalendar.Calendar.from_ical(data)
            starts = [e.get("DTSTART").dt for e in calendar.walk("VEVENT") if e.get("DTSTART") is not None]
            if not starts:
                left_out.append(f"{path.name}: no VEVENT with DTSTART")
                continue
            year = min(s.year for s in starts)
            recurring_ical_events.of(calendar).between(date(year, 1, 1), date(year + 1, 1, 1))
        except Exception as exc:  # noqa: BLE001 - a file the reference cannot read is not compared
            left_out.append(f"{path.name}: the reference fails ({type(exc).__name__})")
            continue
        found.append(Case(path.name, calendar, data, year))
    return found, left_out


def reference_once(case: Case) -> tuple[int, float]:
    import recurring_ical_events

    begin = time.perf_counter()
    count = len(recurring_ical_events.of(case.calendar).between(date(case.year, 1, 1), date(case.year + 1, 1, 1)))
    return count, time.perf_counter() - begin


def prepare(found: list[Case]) -> tuple[Any, dict[str, int]]:
    """The bench account, a calendar per file (imported once, reused), and an API client signed in as it."""
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.test import APIClient

    from apps.calendars import services
    from apps.calendars.models import Calendar
    from apps.users import services as user_services
    from apps.users.models import User

    ensure_database(DATABASE_URL)
    call_command("migrate", verbosity=0, interactive=False)
    user = User.objects.filter(email=EMAIL).first() or user_services.user_create(email=EMAIL, password=PASSWORD)
    calendars: dict[str, int] = {}
    for case in found:
        calendar = Calendar.objects.filter(owner=user, name=case.name).first()
        if calendar is None:
            calendar = services.calendar_create(owner=user, name=case.name, timezone=TIMEZONE)
            services.plans_import(calendar=calendar, data=case.data)
        calendars[case.name] = calendar.pk
    with connection.cursor() as cursor:  # as autovacuum would have by now (a server may run without it)
        cursor.execute("ANALYZE calendars_calendar, calendars_plan, calendars_planoverride, users_user")
    pair = user_services.token_obtain(request=None, email=EMAIL, password=PASSWORD)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.access}")
    return client, calendars


def ours_once(client: Any, calendar_id: int, year: int) -> tuple[int, float, int]:
    """Occurrences read, seconds, pages."""
    url: str | None = (
        f"/api/v1/calendars/{calendar_id}/occurrences?start={year}-01-01&end={year + 1}-01-01"
        f"&include_cancelled=true&page_size={PAGE_SIZE}"
    )
    count = pages = 0
    begin = time.perf_counter()
    while url:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {response.content[:200]!r}")
        body = response.json()
        count += len(body["results"])
        pages += 1
        url = body["next"]
    return count, time.perf_counter() - begin, pages


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--save", action="store_true", help=f"write the figures to {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    setup_django()
    load_before = os.getloadavg()[0]
    found, left_out = cases()
    client, calendars = prepare(found)

    rows: list[dict[str, Any]] = []
    cold_ours = sum(ours_once(client, calendars[c.name], c.year)[1] for c in found)  # the warm-up pass
    for case in found:
        reference_once(case)  # warm-up
        ref = [reference_once(case) for _ in range(REPEAT)]
        ours = [ours_once(client, calendars[case.name], case.year) for _ in range(REPEAT)]
        rows.append(
            {
                "calendar": case.name,
                "year": case.year,
                "reference_occurrences": ref[0][0],
                "reference_s": statistics.median(t for _, t in ref),
                "our_occurrences": ours[0][0],
                "our_s": statistics.median(t for _, t, _ in ours),
                "pages": ours[0][2],
            }
        )
    load_after = os.getloadavg()[0]

    print(f"{'calendar':52s} {'year':>4s} {'ref occ':>7s} {'ref occ/s':>10s} {'our occ':>7s} {'pages':>5s} "
          f"{'our occ/s':>10s} {'ratio':>6s}")  # fmt: skip
    for r in rows:
        ref_rate = rate(r["reference_occurrences"], r["reference_s"])
        our_rate = rate(r["our_occurrences"], r["our_s"])
        ratio = our_rate / ref_rate if ref_rate else 0.0
        print(f"{r['calendar'][:52]:52s} {r['year']:>4d} {r['reference_occurrences']:>7d} {ref_rate:>10.0f} "
              f"{r['our_occurrences']:>7d} {r['pages']:>5d} {our_rate:>10.0f} {ratio:>6.2f}")  # fmt: skip
    ref_total = sum(r["reference_occurrences"] for r in rows)
    our_total = sum(r["our_occurrences"] for r in rows)
    ref_time = sum(r["reference_s"] for r in rows)
    our_time = sum(r["our_s"] for r in rows)
    overall = rate(our_total, our_time) / rate(ref_total, ref_time)
    big = [r for r in rows if r["our_occurrences"] > PAGE_SIZE]
    print()
    print(
        f"Calendars compared: {len(rows)}; left out: {len(left_out)}"
        + ("" if not left_out else f" ({'; '.join(left_out)})")
    )
    ref_rate, our_rate = rate(ref_total, ref_time), rate(our_total, our_time)
    print(f"Overall, reference: {ref_total:,} occurrences in {ref_time * 1000:.1f} ms = {ref_rate:,.0f}/s")
    print(f"Overall, ours:      {our_total:,} occurrences in {our_time * 1000:.1f} ms = {our_rate:,.0f}/s "
          f"({sum(r['pages'] for r in rows)} requests; cold first pass {cold_ours * 1000:.1f} ms)")  # fmt: skip
    print(f"Overall ratio (ours / reference): {overall:.2f} (target >= 1: {'met' if overall >= 1 else 'MISSED'})")
    if big:
        big_ratio = rate(sum(r["our_occurrences"] for r in big), sum(r["our_s"] for r in big)) / rate(
            sum(r["reference_occurrences"] for r in big), sum(r["reference_s"] for r in big)
        )
        print(f"Calendars of more than one page ({len(big)}): ratio {big_ratio:.2f}")
    print(f"Machine: {os.cpu_count()} CPUs, load average {load_before:.1f} before and {load_after:.1f} after "
          f"(shared machine: other work shows in the figures)")  # fmt: skip
    if args.save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "date": datetime.now().astimezone().isoformat(timespec="seconds"),
            "load_average_before": load_before,
            "load_average_after": load_after,
            "overall_ratio": overall,
            "calendars": rows,
            "left_out": left_out,
        }
        RESULTS.write_text(json.dumps(record, indent=2) + "\n")
        print(f"Saved {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
