"""What keeps a list's request short, with the paths the rest of the suite turns off (planner/test_settings.py):
impressions handed to a real worker on the `analytics` queue, and the catalogue's and the experiment's versions
read at most once per SERVING_CHECK_SECONDS per process, a change made in the process itself seen at once."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.analytics import selectors as analytics_selectors
from apps.analytics import services as analytics_services
from apps.analytics.models import TrackedEvent
from apps.analytics.tests.factories import make_experiment
from apps.core.time import weekend_window
from apps.events.signals import events_changed
from apps.recommendations import catalogue, services
from apps.recommendations.tests.factories import ManualClock, event, person

URL = "/api/v1/recommendations"


@pytest.fixture
def serving_clock(monkeypatch, settings):  # type: ignore[no-untyped-def]
    settings.SERVING_CHECK_SECONDS = 1.0
    clock = ManualClock()
    monkeypatch.setattr(catalogue, "clock", clock)
    monkeypatch.setattr(analytics_selectors, "clock", clock)
    catalogue.forget()
    analytics_selectors.experiment_forget()
    yield clock
    catalogue.forget()
    analytics_selectors.experiment_forget()


def _serve(user):  # type: ignore[no-untyped-def]
    start, end = weekend_window("this", "Europe/Berlin", now=timezone.now())
    return services.recommendations_serve(user=user, start=start, end=end, tz="Europe/Berlin", track=False)


def _reads(queries: CaptureQueriesContext, table: str) -> int:
    return sum(1 for query in queries.captured_queries if f'FROM "{table}"' in query["sql"])


@pytest.mark.django_db
def test_the_catalogue_version_is_read_once_per_interval_and_at_once_after_a_sync_here(serving_clock) -> None:
    someone = person(interests=["music"])
    first = event("Jazz night")
    assert [item.event.pk for item in _serve(someone).results] == [first.pk]

    second = event("Piano recital")  # saved by another process, as far as this one's copy knows
    with CaptureQueriesContext(connection) as queries:
        listed = [item.event.pk for item in _serve(someone).results]
    assert listed == [first.pk]  # within the interval: the copy as it was, and no version query
    assert _reads(queries, "events_event") == 1  # only the listed event's row

    serving_clock.now += 1.5
    assert {item.event.pk for item in _serve(someone).results} == {first.pk, second.pk}

    third = event("Cello evening")
    events_changed.send(sender=None, event_ids=[third.pk])  # what a sync in this process sends
    assert third.pk in {item.event.pk for item in _serve(someone).results}


@pytest.mark.django_db
def test_the_copy_covers_this_weekend_until_its_last_hour() -> None:
    # Sunday 23:30 in Berlin, the weekend the clocks go back (49 hours long): it began 48.5 hours ago. A window the
    # copy does not cover is read from the database, as every list of a Sunday was when the copy reached back a day.
    now = datetime(2026, 10, 25, 22, 30, tzinfo=UTC)
    start, end = weekend_window("this", "Europe/Berlin", now=now)
    assert (end - start, now - start) == (timedelta(hours=49), timedelta(hours=48, minutes=30))
    catalogue.forget()
    try:
        assert catalogue.snapshot(now=now).covers(start, end)
    finally:
        catalogue.forget()


@pytest.mark.django_db
def test_the_ranker_experiment_is_read_once_per_interval_and_at_once_after_a_change_here(
    serving_clock, django_capture_on_commit_callbacks
) -> None:
    someone = person(interests=["music"])
    event("Jazz night")
    assert _serve(someone).variant is None
    with CaptureQueriesContext(connection) as queries:
        assert _serve(someone).variant is None
    assert _reads(queries, "analytics_experiment") == 0  # remembered: no experiment

    with django_capture_on_commit_callbacks(execute=True):
        experiment = make_experiment(
            services.EXPERIMENT_KEY, variants=[{"key": "control", "weight": 50}, {"key": "popularity", "weight": 50}]
        )
        analytics_services.experiment_start(experiment=experiment)
    assert _serve(someone).variant in {"control", "popularity"}  # this process's own change: at once


@pytest.mark.django_db(transaction=True)
def test_a_served_lists_impressions_reach_the_table_through_a_real_worker(settings, client_for, celery_worker) -> None:
    settings.RECOMMENDATIONS_QUEUE_IMPRESSIONS = True
    someone = person(interests=["music"])
    # The real clock (a test that starts a worker): next weekend's Sunday afternoon in Berlin, wholly ahead at any
    # hour, asked for by its bounds. This weekend's (factories.weekend_moment) is over from Sunday 17:00 Berlin,
    # when the list came back empty and the comparison below held for no impression at all.
    start, end = weekend_window("next", "Europe/Berlin", now=timezone.now())
    sunday_afternoon = start + timedelta(days=1, hours=14)
    listed = [event("Jazz night", start=sunday_afternoon), event("Film", start=sunday_afternoon, category="film")]
    worker = celery_worker("analytics")

    window = {"start": start.isoformat(), "end": end.isoformat()}
    body = client_for(someone).get(URL, window).json()
    assert sorted(item["event"]["id"] for item in body["results"]) == sorted(e.pk for e in listed), body

    deadline = datetime.now(UTC) + timedelta(seconds=60)
    impressions = TrackedEvent.objects.filter(type="impression", user_id=someone.pk)
    while datetime.now(UTC) < deadline and impressions.count() < len(listed):
        worker.poll()
        assert worker.returncode is None, "the worker died"
        time.sleep(0.3)
    assert sorted((row.object_id, row.context["rank"], row.context["request_id"]) for row in impressions) == sorted(
        (str(item["event"]["id"]), item["rank"], body["request_id"]) for item in body["results"]
    )
