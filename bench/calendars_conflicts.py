"""Conflict checks and recurrence expansion for a person with 10,000 plans.

The person: 10,000 plans in Europe/Berlin at ~300 places around Berlin (15% without a place), across three
calendars, spread over BENCH_YEARS years (default 10: five of history, five ahead; "the year" below is the
one starting 2025-06-02). 9,000 are single plans (60% on weekends); 1,000 recur: weekly (80%) or daily (20%),
most with a COUNT, some open-ended (5% of the weekly, 3% of the daily ones). BENCH_YEARS=1 packs them all
into one year (hundreds of occurrences a weekend): a stress case. Times are local wall clock, expanded through
apps.calendars.recurrence (so DST is handled as the product handles it).

Figures (p50/p95 over many repetitions, time.perf_counter):
1. One new plan: the conflict check for a single timed plan at a random weekend time (target p95 < 5 ms):
   a. the engine only, against a prepared SlotIndex of every occurrence in the year;
   b. what a service does per request, without the database: take the person's series that can reach the
      candidate's day (as the window query on start_utc/series_end_utc selects them), expand them with
      recurrence.expand, build the slots, check with the real travel adapter (travel_minutes_for);
   c. the same check against the whole year's occurrences passed as a list (the index built per call).
   Also a weekly candidate for a year (52 occurrences) against the prepared index.
2. All conflicts of one weekend (Saturday 00:00 to Monday 00:00 Berlin; target p95 < 20 ms): the engine on
   the weekend's slots, and expansion + engine as in 1b.
3. Expanding one year of 100 recurring series with recurrence.expand (target < 100 ms): 100 open-ended
   series (80 weekly, 20 daily: the worst case for a year), fresh Series objects (as a request builds them
   from rows) and warm ones (parsed state cached on the instance); and the person's first 100 series.
4. find_conflicts over every occurrence of the year, for scale.
5. Through the database (selectors.conflicts_for_plan and selectors.conflicts_of on PostgreSQL), when the
   calendars services and selectors import and Django sets up; otherwise the output says why it was skipped.
   Warm (the targets): BENCH_DB_REPEAT passes over the checks in one process, as a running worker serves them
   (compiled series kept in apps.calendars.series_cache); cold: the first pass after clearing that cache.

Travel times come from apps.core.geo.cached_travel_time through conflicts.travel_minutes_for("transit"):
the cache (Redis at BENCH_REDIS_URL, else local memory) then the offline estimate, never the network.
Run: .venv/bin/python bench/calendars_conflicts.py [--save]  (--save writes bench/results/calendars_conflicts.json)
"""

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
import warnings
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# Run as a file, which puts bench/, not the repository, on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.support.databases import ensure_database

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "calendars_conflicts.json"

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/weekend_planner_bench_calendars"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
PLANS = int(os.environ.get("BENCH_PLANS", "10000"))
YEARS = int(os.environ.get("BENCH_YEARS", "10"))
CHECKS = int(os.environ.get("BENCH_CHECKS", "500"))
DB_CHECKS = int(os.environ.get("BENCH_DB_CHECKS", "26"))
DB_REPEAT = int(os.environ.get("BENCH_DB_REPEAT", "4"))  # warm passes over the same checks
SEED = 4
ZONE_NAME = "Europe/Berlin"
ZONE = ZoneInfo(ZONE_NAME)
CENTER = (52.52, 13.405)
YEAR_START = datetime(2025, 6, 2)  # a Monday, local wall clock: "now"
PERIOD_START = YEAR_START - timedelta(weeks=52 * (YEARS // 2))  # also a Monday
PERIOD_DAYS = 364 * YEARS + 1
YEAR_START_UTC = YEAR_START.replace(tzinfo=ZONE).astimezone(UTC)
YEAR_END_UTC = YEAR_START_UTC + timedelta(days=365)
MODE = "transit"

TARGET_CANDIDATE_MS = 5.0
TARGET_WEEKEND_MS = 20.0  # issue 16 (it was 50 ms)
TARGET_EXPAND_MS = 100.0


@dataclass(frozen=True)
class PlanSpec:
    """One plan as a row would hold it: local wall-clock times in Berlin, recurrence text, a place."""

    plan_id: int
    calendar_id: int
    title: str
    start_local: datetime  # naive, in ZONE
    end_local: datetime
    rrule: str
    place: tuple[float, float] | None
    start_utc: datetime = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "start_utc", self.start_local.replace(tzinfo=ZONE).astimezone(UTC))


def setup_django() -> str | None:
    """Settings (and the cache) always; the full app registry when it loads. Returns why it did not."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "planner.settings",
            "DATABASE_URL": DATABASE_URL,
            "LOG_LEVEL": "WARNING",
            "DJANGO_DEBUG": "false",
        }
    )
    if REDIS_URL:
        os.environ["REDIS_URL"] = REDIS_URL
    else:
        os.environ.pop("REDIS_URL", None)
    import django

    try:
        django.setup()
    except Exception as exc:  # noqa: BLE001 - the pure figures do not need the app registry
        return f"django.setup() failed: {type(exc).__name__}: {exc}"
    return None


# --- The person's plans ---------------------------------------------------------------------------------------


def make_plans(count: int, seed: int = SEED) -> list[PlanSpec]:
    rng = random.Random(seed)
    places = [(CENTER[0] + rng.uniform(-0.09, 0.09), CENTER[1] + rng.uniform(-0.15, 0.15)) for _ in range(300)]
    recurring = count // 10
    plans: list[PlanSpec] = []
    for n in range(count):
        place = None if rng.random() < 0.15 else rng.choice(places)
        calendar_id = rng.choice((1, 2, 3))
        if n < recurring:
            daily = rng.random() < 0.2
            open_ended = rng.random() < (0.03 if daily else 0.05)
            day = PERIOD_START + timedelta(days=rng.randrange(PERIOD_DAYS - 30))
            plans.append(recurring_plan(rng, n + 1, calendar_id, day, daily=daily, open_ended=open_ended, place=place))
        else:
            day = PERIOD_START + timedelta(days=rng.randrange(PERIOD_DAYS))
            if rng.random() < 0.6:  # weekends: move to that week's Saturday or Sunday
                day = day - timedelta(days=day.weekday()) + timedelta(days=rng.choice((5, 6)))
            start = day.replace(hour=rng.randrange(8, 22), minute=rng.choice((0, 15, 30, 45)))
            length = timedelta(minutes=rng.choice((30, 60, 90, 120, 150, 180, 240)))
            plans.append(PlanSpec(n + 1, calendar_id, f"Plan {n + 1}", start, start + length, "", place))
    return plans


def recurring_plan(
    rng: random.Random,
    plan_id: int,
    calendar_id: int,
    day: datetime,
    *,
    daily: bool,
    open_ended: bool,
    place: tuple[float, float] | None,
) -> PlanSpec:
    start = day.replace(hour=rng.randrange(6, 22), minute=rng.choice((0, 15, 30, 45)))
    length = timedelta(minutes=rng.choice((20, 30, 45, 60)) if daily else rng.choice((45, 60, 90, 120)))
    if daily:
        rule = "FREQ=DAILY" + ("" if open_ended else f";COUNT={rng.randrange(5, 31)}")
    else:
        weekday = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[start.weekday()]
        rule = f"FREQ=WEEKLY;BYDAY={weekday}" + ("" if open_ended else f";COUNT={rng.randrange(4, 53)}")
    return PlanSpec(plan_id, calendar_id, f"Series {plan_id}", start, start + length, rule, place)


def make_series(plan: PlanSpec) -> Any:
    from apps.calendars import recurrence

    return recurrence.Series(
        timezone=ZONE_NAME, start_local=plan.start_local, end_local=plan.end_local, rrule=plan.rrule
    )


def slots_of(plan: PlanSpec, series: Any, start: datetime, end: datetime) -> list[Any]:
    from apps.calendars import recurrence
    from apps.calendars.conflicts import Slot

    lat, lon = plan.place if plan.place else (None, None)
    return [
        Slot(
            plan_id=plan.plan_id,
            recurrence_id=o.recurrence_id if plan.rrule else None,
            title=o.title or plan.title,
            start_utc=o.start_utc,
            end_utc=o.end_utc,
            lat=lat,
            lon=lon,
            all_day=o.all_day,
            calendar_id=plan.calendar_id,
        )
        for o in recurrence.expand(series, start, end)
        if not o.cancelled
    ]


class Person:
    """The plans, their series and the window query a service would run (first start < end, series not over)."""

    def __init__(self, plans: list[PlanSpec]) -> None:
        from apps.calendars import recurrence

        self.plans = plans
        self.series = {p.plan_id: make_series(p) for p in plans}
        self.singles = sorted((p for p in plans if not p.rrule), key=lambda p: p.start_utc)
        self.single_starts = [p.start_utc for p in self.singles]
        self.recurring = [p for p in plans if p.rrule]
        self.series_end = {p.plan_id: recurrence.series_end_utc(self.series[p.plan_id]) for p in self.recurring}
        self.longest_single = max((p.end_local - p.start_local for p in self.singles), default=timedelta(0))

    def in_window(self, start: datetime, end: datetime) -> list[PlanSpec]:
        lo = bisect_left(self.single_starts, start - self.longest_single - timedelta(hours=3))
        hi = bisect_left(self.single_starts, end)
        found = self.singles[lo:hi]
        for p in self.recurring:
            series_end = self.series_end[p.plan_id]
            if p.start_utc < end and (series_end is None or series_end > start):
                found.append(p)
        return found

    def slots(self, start: datetime, end: datetime, *, fresh: bool = False) -> list[Any]:
        """Every non-cancelled occurrence overlapping [start, end), expanded as a request would."""
        found: list[Any] = []
        for p in self.in_window(start, end):
            series = make_series(p) if fresh else self.series[p.plan_id]
            found.extend(slots_of(p, series, start, end))
        return found


# --- Timing ---------------------------------------------------------------------------------------------------


def measure(fn: Callable[[], object], repetitions: int) -> list[float]:
    fn()  # warm up
    times = []
    for _ in range(repetitions):
        begin = time.perf_counter()
        fn()
        times.append((time.perf_counter() - begin) * 1000)
    return times


def stats(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": statistics.median(ordered), "p95_ms": p95, "max_ms": ordered[-1], "n": len(ordered)}


def measure_each(inputs: Iterable[Any], fn: Callable[[Any], object]) -> list[float]:
    times = []
    for item in inputs:
        begin = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - begin) * 1000)
    return times


def line(label: str, figures: dict[str, float], target: float | None = None) -> str:
    text = f"  {label:<62} p50 {figures['p50_ms']:8.3f} ms   p95 {figures['p95_ms']:8.3f} ms"
    if target is not None:
        text += f"   (target < {target:g} ms: {'met' if figures['p95_ms'] < target else 'MISSED'})"
    return text


# --- The measurements -----------------------------------------------------------------------------------------


def weekend_candidates(rng: random.Random, count: int) -> list[tuple[datetime, datetime, tuple[float, float]]]:
    out = []
    for _ in range(count):
        saturday = YEAR_START + timedelta(days=5 + 7 * rng.randrange(52))
        day = saturday + timedelta(days=rng.choice((0, 1)))
        start = day.replace(hour=rng.randrange(9, 21), minute=rng.choice((0, 30))).replace(tzinfo=ZONE)
        length = timedelta(minutes=rng.choice((60, 90, 120, 180)))
        place = (CENTER[0] + rng.uniform(-0.09, 0.09), CENTER[1] + rng.uniform(-0.15, 0.15))
        out.append((start.astimezone(UTC), (start + length).astimezone(UTC), place))
    return out


def run_pure(person: Person, figures: dict[str, Any]) -> None:
    from apps.calendars import conflicts
    from apps.calendars.conflicts import Slot, SlotIndex, conflicts_for_candidate, find_conflicts

    rng = random.Random(SEED + 1)
    print("Expanding every plan over the year ...", flush=True)
    begin = time.perf_counter()
    year = person.slots(YEAR_START_UTC, YEAR_END_UTC)
    year.sort(key=lambda s: s.start_utc)
    year_starts = [s.start_utc for s in year]
    figures["year_occurrences"] = len(year)
    print(f"  {len(person.plans):,} plans -> {len(year):,} occurrences in the year "
          f"({time.perf_counter() - begin:.2f} s)")  # fmt: skip

    begin = time.perf_counter()
    index = SlotIndex(year)
    figures["index_build_ms"] = (time.perf_counter() - begin) * 1000

    def candidate_slot(start: datetime, end: datetime, place: tuple[float, float]) -> Slot:
        return Slot(None, None, "New plan", start, end, lat=place[0], lon=place[1], calendar_id=1)

    candidates = weekend_candidates(rng, CHECKS)

    # 1a. The engine against a prepared index.
    found_counts: list[int] = []

    def engine_check(item: tuple[datetime, datetime, tuple[float, float]]) -> None:
        travel = conflicts.travel_minutes_for(MODE)
        found_counts.append(len(conflicts_for_candidate([candidate_slot(*item)], index, travel_minutes=travel)))

    measure_each(candidates[:20], engine_check)  # warm up
    found_counts.clear()
    figures["candidate_engine_index"] = stats(measure_each(candidates, engine_check))
    figures["candidate_conflicts_mean"] = statistics.fmean(found_counts)

    # 1b. Per request without the database: series that can reach the day, expanded, then checked.
    expanded_series: list[int] = []

    def service_check(item: tuple[datetime, datetime, tuple[float, float]]) -> None:
        start, end, place = item
        window_start, window_end = start - timedelta(days=1), end + timedelta(days=1)
        expanded_series.append(len(person.in_window(window_start, window_end)))
        existing = person.slots(window_start, window_end, fresh=True)
        conflicts_for_candidate(
            [candidate_slot(start, end, place)], existing, travel_minutes=conflicts.travel_minutes_for(MODE)
        )

    figures["candidate_expand_and_check"] = stats(measure_each(candidates[:200], service_check))
    figures["candidate_series_expanded_mean"] = statistics.fmean(expanded_series)

    # 1c. Against the whole year's occurrences as a list (the index built on every call).
    def year_list_check(item: tuple[datetime, datetime, tuple[float, float]]) -> None:
        conflicts_for_candidate([candidate_slot(*item)], year, travel_minutes=conflicts.travel_minutes_for(MODE))

    figures["candidate_year_list"] = stats(measure_each(candidates[:50], year_list_check))

    # A weekly candidate for a year against the prepared index.
    def weekly_check(item: tuple[datetime, datetime, tuple[float, float]]) -> None:
        start, end, place = item
        local_start, local_end = start.astimezone(ZONE), end.astimezone(ZONE)
        weekly = [
            Slot(
                None,
                f"r{w}",
                "New series",
                (local_start.replace(tzinfo=None) + timedelta(weeks=w)).replace(tzinfo=ZONE).astimezone(UTC),
                (local_end.replace(tzinfo=None) + timedelta(weeks=w)).replace(tzinfo=ZONE).astimezone(UTC),
                lat=place[0],
                lon=place[1],
            )
            for w in range(52)
        ]
        conflicts_for_candidate(weekly, index, travel_minutes=conflicts.travel_minutes_for(MODE))

    figures["candidate_weekly_year_index"] = stats(measure_each(candidates[:200], weekly_check))

    # 2. All conflicts of one weekend.
    weekends = []
    for w in range(52):
        saturday = (YEAR_START + timedelta(days=5 + 7 * w)).replace(tzinfo=ZONE)
        weekends.append((saturday.astimezone(UTC), (saturday + timedelta(days=2)).astimezone(UTC)))
    weekend_sizes: list[int] = []
    weekend_conflicts: list[int] = []

    def weekend_engine(window: tuple[datetime, datetime]) -> None:
        start, end = window
        lo = bisect_left(year_starts, start - timedelta(days=1))
        hi = bisect_right(year_starts, end)
        slots = [s for s in year[lo:hi] if s.end_utc > start and s.start_utc < end]
        weekend_sizes.append(len(slots))
        found = find_conflicts(slots, travel_minutes=conflicts.travel_minutes_for(MODE))
        weekend_conflicts.append(len(found))

    figures["weekend_engine"] = stats(measure_each(weekends * 4, weekend_engine))
    figures["weekend_occurrences_mean"] = statistics.fmean(weekend_sizes)
    figures["weekend_conflicts_mean"] = statistics.fmean(weekend_conflicts)

    def weekend_expand(window: tuple[datetime, datetime]) -> None:
        slots = person.slots(*window, fresh=True)
        find_conflicts(slots, travel_minutes=conflicts.travel_minutes_for(MODE))

    figures["weekend_expand_and_engine"] = stats(measure_each(weekends * 2, weekend_expand))

    # 3. One year of 100 recurring series: open-ended ones starting with the year, then the person's own.
    from apps.calendars import recurrence

    open_ended = [
        recurring_plan(
            rng,
            100_000 + n,
            1,
            YEAR_START + timedelta(days=rng.randrange(7)),
            daily=n % 5 == 0,
            open_ended=True,
            place=None,
        )
        for n in range(100)
    ]
    warm = [make_series(p) for p in open_ended]
    figures["expand_100_occurrences"] = sum(len(recurrence.expand(s, YEAR_START_UTC, YEAR_END_UTC)) for s in warm)

    def expand_fresh() -> None:
        for p in open_ended:
            recurrence.expand(make_series(p), YEAR_START_UTC, YEAR_END_UTC)

    def expand_warm() -> None:
        for series in warm:
            recurrence.expand(series, YEAR_START_UTC, YEAR_END_UTC)

    own = person.recurring[:100]

    def expand_own() -> None:
        for p in own:
            recurrence.expand(make_series(p), p.start_utc, p.start_utc + timedelta(days=365))

    figures["expand_100_year_fresh"] = stats(measure(expand_fresh, 30))
    figures["expand_100_year_warm"] = stats(measure(expand_warm, 30))
    figures["expand_own_100_occurrences"] = sum(
        len(recurrence.expand(make_series(p), p.start_utc, p.start_utc + timedelta(days=365))) for p in own
    )
    figures["expand_own_100_year_fresh"] = stats(measure(expand_own, 30))

    # 4. Every conflict of the year.
    year_conflicts: list[int] = []

    def all_year() -> None:
        year_conflicts.append(len(find_conflicts(year, travel_minutes=conflicts.travel_minutes_for(MODE))))

    figures["year_find_conflicts"] = stats(measure(all_year, 5))
    figures["year_conflicts"] = year_conflicts[-1]


def run_database(person: Person, figures: dict[str, Any]) -> str | None:
    """The product's own path on PostgreSQL; returns why it was skipped, if it was."""
    try:
        from django.core.management import call_command
        from django.db import connection

        from apps.calendars import selectors, series_cache, services
        from apps.calendars.ical import PlanData
        from apps.calendars.models import Plan
        from apps.users import services as user_services
        from apps.users.models import User
    except Exception as exc:  # noqa: BLE001 - reported in the output, the lead extends this part
        return f"the calendars services/selectors do not import yet ({type(exc).__name__}: {exc})"

    ensure_database(DATABASE_URL)
    call_command("migrate", verbosity=0, interactive=False)
    email = "bench-calendars@example.com"
    user = User.objects.filter(email=email).first()
    seeded = user is not None and Plan.objects.filter(calendar__owner=user).count() == len(person.plans)
    if user is None or not seeded or os.environ.get("BENCH_RESEED"):
        if user is not None:
            user.delete()
        user = user_services.user_create(email=email, password=None)
        while user.calendars.count() < 3:  # the default calendar from sign-up, and two more
            services.calendar_create(owner=user, name=f"Bench {user.calendars.count()}", timezone=ZONE_NAME)
        calendars = dict(enumerate(user.calendars.order_by("pk")[:3], start=1))
        print(f"Saving {len(person.plans):,} plans through apps.calendars.services.plan_create ...", flush=True)
        begin = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for p in person.plans:
                services.plan_create(calendar=calendars[p.calendar_id], data=_plan_data(PlanData, p))
        figures["db_seed_s"] = time.perf_counter() - begin
        print(f"  saved in {figures['db_seed_s']:.1f} s")
        if caught:
            figures["db_seed_warnings"] = (
                f"{len(caught)} warnings, e.g. {caught[0].category.__name__}: {caught[0].message}"
            )
            print(f"  {figures['db_seed_warnings']}")
    else:
        print(f"Reusing the {len(person.plans):,} plans already saved (BENCH_RESEED=1 saves them again)")
    with connection.cursor() as cursor:  # as autovacuum would have by now (a server may run without it)
        cursor.execute("ANALYZE calendars_calendar, calendars_plan, calendars_planoverride")
    calendar = user.calendars.order_by("pk").first()
    assert calendar is not None

    rng = random.Random(SEED + 2)
    candidates = weekend_candidates(rng, DB_CHECKS)

    def db_candidate(item: tuple[datetime, datetime, tuple[float, float]]) -> None:
        start, end, place = item
        local_start, local_end = start.astimezone(ZONE), end.astimezone(ZONE)
        plan = Plan(
            calendar=calendar,
            title="New plan",
            timezone=ZONE_NAME,
            start_local=local_start.replace(tzinfo=None),
            end_local=local_end.replace(tzinfo=None),
            start_utc=start,
            end_utc=end,
            lat=place[0],
            lon=place[1],
        )
        selectors.conflicts_for_plan(owner=user, plan=plan)

    weekends = []
    for w in range(0, 52, 52 // DB_CHECKS or 1):
        saturday = (YEAR_START + timedelta(days=5 + 7 * w)).replace(tzinfo=ZONE)
        weekends.append((saturday.astimezone(UTC), (saturday + timedelta(days=2)).astimezone(UTC)))

    def db_weekend(window: tuple[datetime, datetime]) -> None:
        selectors.conflicts_of(owner=user, start=window[0], end=window[1])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # naive wall-clock times in DateTimeFields, see above
        db_candidate(candidates[0])  # warm up
        # Cold: no series compiled yet in this process (a fresh worker: each check compiles the series it reads).
        # Warm: the same checks again, as a running worker serves them (series compiled once per content are
        # kept in apps.calendars.series_cache), repeated for more samples.
        series_cache.clear()
        figures["db_candidate_cold"] = stats(measure_each(candidates, db_candidate))
        figures["db_candidate"] = stats(measure_each(candidates * DB_REPEAT, db_candidate))
        series_cache.clear()
        figures["db_weekend_cold"] = stats(measure_each(weekends, db_weekend))
        figures["db_weekend"] = stats(measure_each(weekends * DB_REPEAT, db_weekend))
    return None


def _plan_data(plan_data: Any, p: PlanSpec) -> Any:
    lat, lon = p.place if p.place else (None, None)
    fields = {
        "uid": f"bench-{p.plan_id}@weekendplanner.app",
        "title": p.title,
        "timezone": ZONE_NAME,
        "all_day": False,
        "start_local": p.start_local,
        "end_local": p.end_local,
        "rrule": p.rrule,
        "lat": lat,
        "lon": lon,
        "location": "Berlin" if p.place else "",
    }
    accepted = getattr(plan_data, "__dataclass_fields__", None)
    if accepted is not None:
        fields = {k: v for k, v in fields.items() if k in accepted}
    return plan_data(**fields)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--save", action="store_true", help=f"write the figures to {RESULTS.relative_to(ROOT)}")
    parser.add_argument("--no-db", action="store_true", help="skip the PostgreSQL-backed part")
    args = parser.parse_args()

    setup_problem = setup_django()
    from django.conf import settings

    figures: dict[str, Any] = {
        "plans": PLANS,
        "years": YEARS,
        "travel_cache": settings.CACHES["default"]["BACKEND"],
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average_before": os.getloadavg()[0],
    }
    print(f"Generating {PLANS:,} plans ({PLANS // 10:,} recurring) ...", flush=True)
    person = Person(make_plans(PLANS))
    run_pure(person, figures)

    if args.no_db:
        db_problem: str | None = "skipped (--no-db)"
    elif setup_problem is not None:
        db_problem = setup_problem
    else:
        # The pure part's year of slots and indexes stay alive in this process: keep them out of the garbage
        # collector's scans, which a web worker (that holds none of them) would not make.
        gc.collect()
        gc.freeze()
        db_problem = run_database(person, figures)
    figures["database_path"] = db_problem or "measured"

    figures["load_average_after"] = os.getloadavg()[0]
    print()
    print(
        f"Machine: {figures['cpus']} CPUs, load average {figures['load_average_before']:.1f} before and "
        f"{figures['load_average_after']:.1f} after (other work on the machine shows in the p95s)"
    )
    print(f"Person: {PLANS:,} plans over {YEARS} year(s), {figures['year_occurrences']:,} occurrences in the year "
          f"from {YEAR_START.date()}; travel times from "
          f"{figures['travel_cache'].rsplit('.', 1)[-1]} + offline estimate ({MODE})")  # fmt: skip
    print(f"SlotIndex over the year: built in {figures['index_build_ms']:.1f} ms")
    print(f"1. One new plan (mean {figures['candidate_conflicts_mean']:.2f} conflicts found per check):")
    print(line("engine, against a prepared index of the year", figures["candidate_engine_index"], TARGET_CANDIDATE_MS))
    expanded = f"expand the {figures['candidate_series_expanded_mean']:.0f} plans reaching the day (±1 day) + check"
    print(line(expanded, figures["candidate_expand_and_check"], TARGET_CANDIDATE_MS))
    print(line("against the year's occurrences as a list (index per call)", figures["candidate_year_list"]))
    print(line("a weekly candidate for a year (52 slots), prepared index", figures["candidate_weekly_year_index"]))
    print(f"2. One weekend (mean {figures['weekend_occurrences_mean']:.0f} occurrences, "
          f"{figures['weekend_conflicts_mean']:.1f} conflicts):")  # fmt: skip
    print(line("engine on the weekend's slots", figures["weekend_engine"], TARGET_WEEKEND_MS))
    print(line("expand the series reaching the weekend + engine", figures["weekend_expand_and_engine"],
               TARGET_WEEKEND_MS))  # fmt: skip
    print(f"3. One year of 100 recurring series ({figures['expand_100_occurrences']:,} occurrences):")
    print(line("recurrence.expand, fresh Series (as from rows)", figures["expand_100_year_fresh"], TARGET_EXPAND_MS))
    print(line("recurrence.expand, warm Series", figures["expand_100_year_warm"], TARGET_EXPAND_MS))
    own_label = f"the person's first 100 series, a year each ({figures['expand_own_100_occurrences']:,} occ.)"
    print(line(own_label, figures["expand_own_100_year_fresh"], TARGET_EXPAND_MS))
    print(f"4. Every conflict of the year ({figures['year_conflicts']:,} conflicts):")
    print(line("find_conflicts over the year's occurrences", figures["year_find_conflicts"]))
    print("5. Through the database (apps.calendars.selectors on PostgreSQL):")
    if db_problem is None:
        print(line("selectors.conflicts_for_plan (one new plan), warm", figures["db_candidate"], TARGET_CANDIDATE_MS))
        print(line("selectors.conflicts_of (one weekend), warm", figures["db_weekend"], TARGET_WEEKEND_MS))
        print(line("  the same, cold: one new plan (no series compiled yet)", figures["db_candidate_cold"]))
        print(line("  the same, cold: one weekend (no series compiled yet)", figures["db_weekend_cold"]))
    else:
        print(f"  not measured: {db_problem}")
        print("  (figures 1b and 2 stand in for it: the same expansion and engine without the queries)")
    if args.save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(figures, indent=2, default=str))
        print(f"Saved {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
