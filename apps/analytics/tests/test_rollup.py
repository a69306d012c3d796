"""The daily rollup against a direct count on the raw events of a seeded month: every KPI of every day equals what
plain Python computes from the same list of events, and rolling a day up again changes nothing."""

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command

from apps.analytics import partitions, rollup
from apps.analytics.models import DailyActivePerson, DailyMetric, RollupRun, TrackedEvent
from apps.events.tests.factories import make_source

pytestmark = pytest.mark.django_db

FIRST = date(2026, 5, 4)  # a Monday
DAYS = 38  # five weeks and a bit: D30 retention of the first days is measured
PAGES = ("/", "/discover/", "/weekend/")
VARIANTS = ("control", "fresh", "")


@dataclass
class Seeded:
    events: list[dict[str, Any]] = field(default_factory=list)
    sources: dict[int, str] = field(default_factory=dict)


def _at(day: date, rng: random.Random) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=rng.randrange(86_400))


def _seed(rng: random.Random) -> Seeded:
    """People come and go over the days: some sign up, browse (shown, click, save, plan), get recommendation lists of
    a variant and click some; pages send web vitals; sources sync and sometimes fail."""
    seeded = Seeded()
    library, museum = make_source("library"), make_source("museum")
    seeded.sources = {library.pk: "library", museum.pk: "museum"}
    users = list(range(1000, 1060))
    anonymous = [f"anon-{n}" for n in range(40)]
    signed_up: set[int] = set()

    def add(day: date, type_: str, *, user: int | None = None, anon: str = "", obj: str = "", **context: Any) -> None:
        seeded.events.append(
            {
                "type": type_,
                "at": _at(day, rng),
                "user_id": user,
                "anonymous_id": anon,
                "object_id": obj,
                "context": context,
            }
        )

    for offset in range(DAYS):
        day = FIRST + timedelta(days=offset)
        for user in rng.sample(users, 6):
            if user not in signed_up and rng.random() < 0.5:
                signed_up.add(user)
                add(day, "signup", user=user)
        for _ in range(rng.randrange(15, 30)):
            who: dict[str, Any] = {"user": rng.choice(users)} if rng.random() < 0.6 else {"anon": rng.choice(anonymous)}
            add(day, "page_view", obj=rng.choice(PAGES), **who)
            if rng.random() < 0.7:
                request_id = uuid.uuid4().hex
                variant = rng.choice(VARIANTS)
                listed = [str(rng.randrange(1, 50)) for _ in range(3)]
                for rank, event_id in enumerate(listed, 1):
                    add(day, "impression", obj=event_id, request_id=request_id, variant=variant, rank=rank, **who)
                if rng.random() < 0.5:
                    add(day, "click", obj=listed[0], request_id=request_id, **who)
                    if rng.random() < 0.3:  # the same click sent twice counts once
                        add(day, "click", obj=listed[0], request_id=request_id, **who)
                    if rng.random() < 0.5:
                        add(day, "save", obj=listed[0], **who)
                        if rng.random() < 0.5:
                            add(day, rng.choice(["plan", "plan_created"]), **who)
            elif rng.random() < 0.3:
                add(day, "click", obj="7", **who)  # a click with no impression that day: not in the funnel
            if rng.random() < 0.5:
                for name in ("LCP", "INP", "CLS", "TTFB"):
                    value = rng.uniform(0, 0.4) if name == "CLS" else rng.uniform(50, 4000)
                    add(day, "web_vital", name=name, value=value, page=rng.choice(PAGES), **who)
        for source_id in seeded.sources:
            outcome = "failed" if rng.random() < 0.25 else "completed"
            add(day, "source_synced", source_id=source_id, outcome=outcome, fetched=rng.randrange(0, 200))
    return seeded


def _store(seeded: Seeded) -> None:
    months = {partitions.month_of(event["at"]) for event in seeded.events}
    partitions.ensure(months)
    TrackedEvent.objects.bulk_create(
        TrackedEvent(client_id=uuid.uuid4(), object_type="event" if e["object_id"] else "", **e) for e in seeded.events
    )


# --- The direct count ------------------------------------------------------------------------------------------


def _person(event: dict[str, Any]) -> str | None:
    if event["user_id"] is not None:
        return f"u:{event['user_id']}"
    return f"a:{event['anonymous_id']}" if event["anonymous_id"] else None


def _direct(seeded: Seeded) -> dict[tuple[str, str, date], float | None]:
    by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for event in seeded.events:
        by_day[event["at"].date()].append(event)
    active = {day: {p for e in events if (p := _person(e))} for day, events in by_day.items()}
    expected: dict[tuple[str, str, date], float | None] = {}

    def ratio(num: float, den: float) -> float | None:
        return num / den if den else None

    for offset in range(DAYS):
        day = FIRST + timedelta(days=offset)
        events = by_day[day]
        expected[("active_people_daily", "", day)] = len(active[day])
        for metric, days in (("active_people_weekly", 7), ("active_people_monthly", 30)):
            window = [active.get(day - timedelta(days=back), set()) for back in range(days)]
            expected[(metric, "", day)] = len(set().union(*window))
        signups = {e["user_id"] for e in events if e["type"] == "signup"}
        expected[("signups", "", day)] = len(signups)
        for after in (1, 7, 30):  # rolling this day up measures the cohort that signed up `after` days before
            cohort_day = day - timedelta(days=after)
            cohort = {e["user_id"] for e in by_day.get(cohort_day, []) if e["type"] == "signup"}
            back = {u for u in cohort if f"u:{u}" in active[day]}
            expected[(f"retention_d{after}", "", cohort_day)] = ratio(len(back), len(cohort))

        steps: dict[str, set[str]] = defaultdict(set)
        for e in events:
            kind = "plan" if e["type"] in ("plan", "plan_created") else e["type"]
            if (p := _person(e)) is not None:
                steps[kind].add(p)
        shown = steps["impression"]
        clicked = shown & steps["click"]
        saved = clicked & steps["save"]
        planned = saved & steps["plan"]
        expected[("funnel_click_rate", "", day)] = ratio(len(clicked), len(shown))
        expected[("funnel_save_rate", "", day)] = ratio(len(saved), len(clicked))
        expected[("funnel_plan_rate", "", day)] = ratio(len(planned), len(saved))

        variant_of = {
            e["context"]["request_id"]: e["context"]["variant"] or "(none)"
            for e in by_day[day] + by_day.get(day - timedelta(days=1), [])
            if e["type"] == "impression"
        }
        impressions: dict[str, int] = defaultdict(int)
        for e in events:
            if e["type"] == "impression":
                impressions[e["context"]["variant"] or "(none)"] += 1
        clicks: dict[str, int] = defaultdict(int)
        for request_id, _ in {(e["context"]["request_id"], e["object_id"]) for e in events if e["type"] == "click"
                              and "request_id" in e["context"]}:  # fmt: skip
            clicks[variant_of[request_id]] += 1
        expected[("recommendation_ctr", "", day)] = ratio(sum(clicks.values()), sum(impressions.values()))
        for variant in impressions:
            expected[("recommendation_ctr", variant, day)] = ratio(clicks[variant], impressions[variant])

        synced = [e["context"] for e in events if e["type"] == "source_synced"]
        expected[("events_synced", "", day)] = sum(c["fetched"] for c in synced)
        expected[("sync_failures", "", day)] = sum(c["outcome"] == "failed" for c in synced)
        for source_id, name in seeded.sources.items():
            mine = [c for c in synced if c["source_id"] == source_id]
            expected[("events_synced", name, day)] = sum(c["fetched"] for c in mine)
            expected[("sync_failures", name, day)] = sum(c["outcome"] == "failed" for c in mine)

        for name in ("LCP", "INP", "CLS"):
            metric = f"web_vital_{name.lower()}_p75"
            values = [e["context"] for e in events if e["type"] == "web_vital" and e["context"]["name"] == name]
            expected[(metric, "", day)] = float(np.percentile([v["value"] for v in values], 75)) if values else None
            for page in {v["page"] for v in values}:
                on_page = [v["value"] for v in values if v["page"] == page]
                expected[(metric, page, day)] = float(np.percentile(on_page, 75))
    return expected


def _stored() -> dict[tuple[str, str, date], float | None]:
    return {(row.metric, row.segment, row.day): row.value for row in DailyMetric.objects.all()}


def test_the_rollup_of_each_day_equals_a_direct_count_on_the_raw_events() -> None:
    seeded = _seed(random.Random(20261205))
    _store(seeded)

    results = rollup.rollup_days(start=FIRST, end=FIRST + timedelta(days=DAYS - 1))

    assert [result.day for result in results] == [FIRST + timedelta(days=n) for n in range(DAYS)]
    assert sum(result.events for result in results) == len(seeded.events)
    expected = _direct(seeded)
    stored = _stored()
    assert stored.keys() == expected.keys()
    for key, value in expected.items():
        assert stored[key] == pytest.approx(value), key
    assert RollupRun.objects.count() == DAYS


def test_rolling_a_day_up_again_changes_nothing() -> None:
    _store(_seed(random.Random(7)))
    last = FIRST + timedelta(days=DAYS - 1)
    rollup.rollup_days(start=FIRST, end=last)
    before = sorted(DailyMetric.objects.values_list("metric", "segment", "day", "value", "numerator", "denominator"))
    people = DailyActivePerson.objects.count()

    middle = FIRST + timedelta(days=10)
    rollup.rollup_day(day=middle)
    call_command("analytics_rollup", "--date", middle.isoformat(), "--date", last.isoformat())

    after = sorted(DailyMetric.objects.values_list("metric", "segment", "day", "value", "numerator", "denominator"))
    assert after == before
    assert DailyActivePerson.objects.count() == people


def test_a_day_without_events_rolls_up_to_zeros_and_empty_rates() -> None:
    day = date(2026, 3, 1)
    rollup.rollup_day(day=day)
    stored = _stored()
    assert stored[("active_people_daily", "", day)] == 0
    assert stored[("signups", "", day)] == 0
    assert stored[("funnel_click_rate", "", day)] is None
    assert stored[("web_vital_lcp_p75", "", day)] is None
    assert stored[("retention_d7", "", day - timedelta(days=7))] is None


def test_erasing_a_person_removes_them_from_the_days_they_were_active() -> None:
    from apps.analytics import services

    day = date(2026, 3, 2)
    partitions.ensure({partitions.month_of(day)})
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    TrackedEvent.objects.bulk_create(
        [
            TrackedEvent(client_id=uuid.uuid4(), type="page_view", at=at, user_id=41, anonymous_id="browser-41"),
            TrackedEvent(client_id=uuid.uuid4(), type="page_view", at=at, anonymous_id="browser-41"),
            TrackedEvent(client_id=uuid.uuid4(), type="page_view", at=at, user_id=42),
        ]
    )
    rollup.rollup_day(day=day)
    assert set(DailyActivePerson.objects.values_list("person", flat=True)) == {"u:41", "a:browser-41", "u:42"}

    services.tracking_data_erase(user_id=41)

    assert set(DailyActivePerson.objects.values_list("person", flat=True)) == {"u:42"}


def test_a_web_vital_reported_again_under_its_id_counts_once_with_its_last_value() -> None:
    day = date(2026, 3, 3)
    partitions.ensure({partitions.month_of(day)})

    def vital(hour: int, value: float, report_id: str) -> TrackedEvent:
        context = {"name": "CLS", "value": value, "page": "/", "id": report_id}
        at = datetime(2026, 3, 3, hour, tzinfo=UTC)
        return TrackedEvent(client_id=uuid.uuid4(), type="web_vital", at=at, anonymous_id="b", context=context)

    # v5-1 reported twice (0.9 first, then 0.1 after a restore): the samples are 0.1, 0.2 and 0.3.
    TrackedEvent.objects.bulk_create(
        [vital(8, 0.9, "v5-1"), vital(9, 0.1, "v5-1"), vital(9, 0.2, "v5-2"), vital(10, 0.3, "v5-3")]
    )
    rollup.rollup_day(day=day)
    row = DailyMetric.objects.get(metric="web_vital_cls_p75", segment="", day=day)
    assert row.denominator == 3
    assert row.value == pytest.approx(float(np.percentile([0.1, 0.2, 0.3], 75)))
