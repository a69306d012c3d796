"""Two weeks of tracked events ending on a given day, rolled up into the KPIs, for the dashboard's tests: a funnel
whose every step has people, sign-ups of whom half come back the next day, two pages' web vitals (one good, one
not), a source's syncs with a failure, and two experiments. Dated from the day given, never from the calendar."""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from apps.analytics import partitions, rollup
from apps.analytics.models import TrackedEvent
from apps.analytics.tests.factories import make_experiment

DAYS = 14
GOOD_PAGE = "/discover/"  # LCP 1,800 ms, INP 150 ms, CLS 0.05: all good
SLOW_PAGE = "/weekend/"  # LCP 3,000 ms (needs improvement), INP 600 ms and CLS 0.3 (poor)
VITALS = {GOOD_PAGE: {"LCP": 1800.0, "INP": 150.0, "CLS": 0.05}, SLOW_PAGE: {"LCP": 3000.0, "INP": 600.0, "CLS": 0.3}}


@dataclass(frozen=True)
class Seeded:
    first: date
    last: date
    shown: int
    clicked: int
    saved: int
    planned: int
    signups: int
    synced: int
    failures: int


def _event(day: date, type_: str, user: int | None, hour: int = 12, **context: object) -> TrackedEvent:
    at = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    return TrackedEvent(client_id=uuid.uuid4(), type=type_, at=at, user_id=user, context=context)


def seed_two_weeks(last: date, *, experiments: bool = True) -> Seeded:
    """Day n of the two weeks ending on `last`: n + 1 people shown a list, half of them (rounded down) clicking,
    person 0 saving on odd days and making a plan every fourth day; one sign-up, back the next day on even days.
    With `experiments`, ranker-v2 running and calmer-cards a draft."""
    first = last - timedelta(days=DAYS - 1)
    events = []
    for n in range(DAYS):
        day = first + timedelta(days=n)
        for person in range(n + 1):
            events.append(_event(day, "impression", person, request_id=f"r{n}-{person}", variant="control"))
            if person < (n + 1) // 2:
                events.append(_event(day, "click", person, hour=13, request_id=f"r{n}-{person}"))
        if n % 2:
            events.append(_event(day, "save", 0, hour=14))
        if n % 4 == 3:
            events.append(_event(day, "plan", 0, hour=15))
        events.append(_event(day, "signup", 100 + n, hour=9))
        if n % 2 == 0 and n + 1 < DAYS:
            events.append(_event(day + timedelta(days=1), "page_view", 100 + n, hour=10))
        for page, vitals in VITALS.items():
            for name, value in vitals.items():
                events.append(_event(day, "web_vital", None, hour=16, name=name, value=value, page=page))
        outcome = "failed" if n == 5 else "completed"
        events.append(_event(day, "source_synced", None, hour=3, source_id=1, outcome=outcome, fetched=10 + n))
    partitions.ensure({partitions.month_of(first + timedelta(days=n)) for n in range(DAYS)})
    TrackedEvent.objects.bulk_create(events)
    rollup.rollup_days(start=first, end=last)
    if experiments:
        make_experiment("ranker-v2", status="running")
        make_experiment("calmer-cards")
    return Seeded(
        first=first,
        last=last,
        shown=sum(n + 1 for n in range(DAYS)),
        clicked=sum((n + 1) // 2 for n in range(DAYS)),
        saved=sum(1 for n in range(DAYS) if n % 2),
        planned=sum(1 for n in range(DAYS) if n % 4 == 3),
        signups=DAYS,
        synced=sum(10 + n for n in range(DAYS)),
        failures=1,
    )
