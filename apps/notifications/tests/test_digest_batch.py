"""The digest batch shares its reads (everyone's plans, clashes and recommendations at once): each person of a
batch must get exactly the digest they would get built alone."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.calendars import selectors as calendar_selectors
from apps.calendars import services as calendar_services
from apps.calendars.tests.factories import PlanFactory
from apps.notifications import digest
from apps.notifications.models import Kind, Notification
from apps.recommendations import catalogue
from apps.recommendations import selectors as recommendation_selectors
from apps.recommendations import services as recommendation_services
from apps.recommendations.tests.factories import event, person, place, track
from apps.users.models import User

pytestmark = pytest.mark.django_db

SATURDAY = date(2026, 6, 20)  # the people below are made on Wednesday 17 June 2026
WEDNESDAY_NOON = datetime(2026, 6, 17, 10, 0, tzinfo=UTC)
THURSDAY_EVENING = datetime(2026, 6, 18, 16, 5, tzinfo=UTC)  # 18:05 in Berlin


@pytest.fixture(autouse=True)
def _fresh_catalogue() -> Iterator[None]:
    recommendation_selectors.popularity_forget()
    catalogue.forget()
    yield
    recommendation_selectors.popularity_forget()
    catalogue.forget()


def _people(clock) -> list[User]:  # type: ignore[no-untyped-def]
    """Four people who differ in everything the digest reads: interests, home, history, feedback, saved and
    dismissed events, clashing, cancelled and recurring plans; and a weekend catalogue to choose from. Made on the
    Wednesday of that weekend's week, whatever TEST_NOW says: tracked events are dated by when they arrive."""
    clock.move_to(WEDNESDAY_NOON)
    halls = [place(f"hall-{n}", lat=52.50 + n * 0.01, lon=13.40 + n * 0.01) for n in range(4)]
    categories = ["music", "art", "food", "sports", "theatre", "music"]
    events = [
        event(
            f"Event {n}",
            start=datetime(2026, 6, 20, 8 + n, 0, tzinfo=UTC) + timedelta(days=n % 2),
            venue=halls[n % 4],
            category=categories[n % len(categories)],
            price_min=Decimal(5 * (n % 5)),
            is_free=n % 7 == 0,
            tags=["jazz"] if n % 3 == 0 else [],
        )
        for n in range(14)
    ]
    music = person(interests=["music"], budget=40)
    art = person(interests=["art", "food"], travel_mode="walk")
    nobody = person(home_lat=None, home_lon=None)
    busy = person(interests=["sports"], travel_mode="drive")
    for user in (music, art, nobody, busy):
        calendar_services.calendar_ensure_default(owner=user)

    for target in events[:6]:  # enough history for `learned` (which, with no model, falls back)
        track(music, "click", target, at=datetime(2026, 6, 16, 10, 0, tzinfo=UTC))
    track(art, "save", events[1])
    music_calendar = calendar_services.calendar_ensure_default(owner=music)
    PlanFactory(calendar=music_calendar, title="Brunch", start=datetime(2026, 6, 20, 11, 0))
    PlanFactory(calendar=music_calendar, title="Market", start=datetime(2026, 6, 20, 11, 30), minutes=90)

    recommendation_services.feedback_record(user=art, event_id=events[2].pk, action="more_like_this", track=False)
    recommendation_services.feedback_record(user=art, event_id=events[4].pk, action="dismiss", track=False)
    recommendation_services.feedback_record(user=busy, event_id=events[3].pk, action="less_like_this", track=False)
    art_calendar = calendar_services.calendar_ensure_default(owner=art)
    calendar_services.plan_from_event(calendar=art_calendar, event=events[7])

    busy_calendar = calendar_services.calendar_ensure_default(owner=busy)
    PlanFactory(calendar=busy_calendar, title="Run", start=datetime(2026, 6, 13, 9, 0), rrule="FREQ=WEEKLY;COUNT=4")
    PlanFactory(calendar=busy_calendar, title="Climbing", start=datetime(2026, 6, 20, 9, 30), minutes=120)
    cancelled = PlanFactory(calendar=busy_calendar, title="Picnic", start=datetime(2026, 6, 21, 12, 0))
    cancelled.status = "cancelled"
    cancelled.save(update_fields=["status"])
    PlanFactory(calendar=PlanFactory().calendar, title="Someone else's", start=datetime(2026, 6, 20, 11, 0))
    clock.move_to(THURSDAY_EVENING)
    return list(
        User.objects.filter(pk__in=[u.pk for u in (music, art, nobody, busy)]).select_related("profile").order_by("pk")
    )


def test_a_batch_gives_each_person_what_they_would_get_alone(clock):
    people = _people(clock)
    now = THURSDAY_EVENING

    together = {user.pk: context for user, context in digest._contexts(people, SATURDAY, now)}
    alone = {user.pk: digest.digest_context(user=user, saturday=SATURDAY, now=now) for user in people}

    assert set(together) == {user.pk for user in people}
    for user in people:
        assert together[user.pk] == alone[user.pk], user.email
    # The comparison is about something: plans, a clash, recommendations with reasons, and people who differ.
    music, art, _, busy = people
    assert [clash["first"] for clash in together[music.pk]["clashes"]] == ["Brunch"]
    assert [plan["title"] for plan in together[busy.pk]["plans"]] == ["Run", "Climbing"]
    assert all(len(context["recommendations"]) == digest.RECOMMENDATIONS for context in together.values())
    with_home = [together[user.pk] for user in (music, art, busy)]  # a distance at least is always a reason
    assert all(item["reasons"] for context in with_home for item in context["recommendations"])
    titles = {pk: [item["title"] for item in context["recommendations"]] for pk, context in together.items()}
    assert len({tuple(value) for value in titles.values()}) > 1
    assert "Event 7" not in titles[art.pk]  # saved
    assert "Event 4" not in titles[art.pk]  # dismissed


def test_served_together_equals_served_alone(clock):
    people = _people(clock)
    now = THURSDAY_EVENING
    start, end = datetime(2026, 6, 19, 22, 0, tzinfo=UTC), datetime(2026, 6, 21, 22, 0, tzinfo=UTC)

    together = recommendation_services.recommendations_serve_many(
        users=people, start=start, end=end, tz="Europe/Berlin", limit=8, now=now
    )
    for user in people:
        alone = recommendation_services.recommendations_serve(
            user=user, start=start, end=end, tz="Europe/Berlin", limit=8, track=False, now=now
        )
        mine = together[user.pk]
        assert (mine.ranker, mine.variant, mine.model_version) == (alone.ranker, alone.variant, alone.model_version)
        assert [(r.rank, r.score, r.reasons, r.event.pk) for r in mine.results] == [
            (r.rank, r.score, r.reasons, r.event.pk) for r in alone.results
        ]
        assert [r.event.distance_km for r in mine.results] == [r.event.distance_km for r in alone.results]


def test_histories_and_freebusy_read_together_equal_each_read_alone(clock):
    people = _people(clock)
    ids = [user.pk for user in people]
    now = THURSDAY_EVENING
    start, end = datetime(2026, 6, 19, 22, 0, tzinfo=UTC), datetime(2026, 6, 21, 22, 0, tzinfo=UTC)

    histories = recommendation_selectors.histories_of(user_ids=ids, until=now, limit=3)  # the newest 3 of 6
    busy = calendar_selectors.freebusy_of(owner_ids=ids, start=start, end=end)

    for user in people:
        assert histories[user.pk] == recommendation_selectors.history_of(user_id=user.pk, until=now, limit=3)
        assert busy[user.pk] == calendar_selectors.freebusy(owner=user, start=start, end=end)
    assert len(histories[people[0].pk]) == 3
    # The run (9:00-10:00 Berlin) and the climbing (9:30-11:30) merged; the cancelled picnic is free time.
    assert busy[people[3].pk] == [(datetime(2026, 6, 20, 7, 0, tzinfo=UTC), datetime(2026, 6, 20, 9, 30, tzinfo=UTC))]


def test_a_batch_reads_in_as_many_statements_for_four_people_as_for_one(clock, settings):
    # As in production, the catalogue's version and the experiment are asked at most once a second per process
    # (the test settings ask on every list).
    settings.SERVING_CHECK_SECONDS = 60.0
    people = _people(clock)
    now = THURSDAY_EVENING
    list(digest._contexts(people, SATURDAY, now))  # the catalogue copy and popularity, built once per process

    def statements(batch: list[User]) -> int:
        with CaptureQueriesContext(connection) as captured:
            list(digest._contexts(batch, SATURDAY, now))
        return len(captured.captured_queries)

    assert statements(people) == statements(people[:1]) <= 12


def test_when_the_shared_path_fails_each_person_is_built_alone(clock, monkeypatch):
    people = _people(clock)
    now = THURSDAY_EVENING
    alone = {user.pk: digest.digest_context(user=user, saturday=SATURDAY, now=now) for user in people}
    serve_alone = recommendation_services.recommendations_serve

    def broken_batch(**kwargs: object) -> None:
        raise RuntimeError("a shared read failed")

    def broken_for_one(**kwargs: Any) -> recommendation_services.RecommendationList:
        if kwargs["user"].pk == people[1].pk:
            raise RuntimeError("this person's data is broken")
        return serve_alone(**kwargs)

    monkeypatch.setattr(recommendation_services, "recommendations_serve_many", broken_batch)
    monkeypatch.setattr(recommendation_services, "recommendations_serve", broken_for_one)

    stored = digest.send_batch(user_ids=[user.pk for user in people], saturday=SATURDAY, now=now)

    assert stored == 3
    contexts = {row.user_id: row.context for row in Notification.objects.filter(kind=Kind.DIGEST)}
    assert set(contexts) == {people[0].pk, people[2].pk, people[3].pk}
    for pk, context in contexts.items():
        assert context == alone[pk]
