"""Celery: the queues and routes declared once, and a real worker running a real task, twice."""

import importlib
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from apps.users.tasks import flush_expired_refresh_tokens
from planner.celery import MAX_COUNTDOWN_SECONDS, QUEUES, app, collect_beat_schedule


def test_queues_and_routes_are_declared_in_one_place():
    assert {queue.name for queue in app.conf.task_queues} == set(QUEUES)
    router = app.amqp.router
    assert router.route({}, "apps.events.tasks.sync_source")["queue"].name == "sync"
    assert router.route({}, "apps.recommendations.tasks.train")["queue"].name == "recommendations"
    assert router.route({}, "apps.analytics.tasks.ingest")["queue"].name == "analytics"
    assert router.route({}, "apps.users.tasks.flush_expired_refresh_tokens")["queue"].name == "default"


def test_beat_runs_what_each_app_declares_in_its_schedules_module():
    from apps.analytics.schedules import BEAT_SCHEDULE as analytics
    from apps.calendars.schedules import BEAT_SCHEDULE as calendars
    from apps.events.schedules import BEAT_SCHEDULE as events
    from apps.itineraries.schedules import BEAT_SCHEDULE as itineraries
    from apps.notifications.schedules import BEAT_SCHEDULE as notifications
    from apps.recommendations.schedules import BEAT_SCHEDULE as recommendations
    from apps.users.schedules import BEAT_SCHEDULE as users

    declared = {**users, **events, **calendars, **analytics, **recommendations, **notifications, **itineraries}
    assert app.conf.beat_schedule == declared
    for entry in app.conf.beat_schedule.values():
        module, _ = entry["task"].rsplit(".", 1)
        importlib.import_module(module)  # registers the app's tasks, as the worker's autodiscovery does
        assert entry["task"] in app.tasks, entry


def test_an_app_without_a_schedules_module_adds_nothing_and_a_name_declared_twice_is_refused():
    assert collect_beat_schedule(["apps.core"]) == {}
    assert set(collect_beat_schedule(["apps.core", "apps.events"])) == {"schedule-due-syncs"}
    with pytest.raises(ValueError, match="schedule-due-syncs"):
        collect_beat_schedule(["apps.events", "apps.events"])


def test_tasks_are_acknowledged_late_and_serialised_as_json():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_time_limit
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit
    assert app.conf.broker_transport_options["visibility_timeout"] > MAX_COUNTDOWN_SECONDS


def test_broker_and_cache_live_in_different_redis_databases():
    assert settings.CACHES["default"]["LOCATION"] != settings.CELERY_BROKER_URL


def _outstanding(user, *, expired: bool, jti: str) -> OutstandingToken:
    expires = timezone.now() + (timedelta(days=-1) if expired else timedelta(days=1))
    return OutstandingToken.objects.create(
        user=user, jti=jti, token="x", created_at=timezone.now() - timedelta(days=2), expires_at=expires
    )


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_flushes_expired_refresh_tokens_and_a_second_run_changes_nothing(user, celery_worker):
    worker = celery_worker("default")
    old = _outstanding(user, expired=True, jti="old")
    BlacklistedToken.objects.create(token=old)
    live = _outstanding(user, expired=False, jti="live")

    first = flush_expired_refresh_tokens.delay()
    assert first.get(timeout=60) == 1
    second = flush_expired_refresh_tokens.delay()
    assert second.get(timeout=60) == 0

    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == [live.jti]
    assert not BlacklistedToken.objects.exists()
    assert worker.poll() is None
