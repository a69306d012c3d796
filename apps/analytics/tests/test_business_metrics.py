"""The business gauges on the web /metrics page: read from the database at the scrape, the rollup lag +Inf before
any rollup and the time since the latest after."""

import math
import uuid
from datetime import UTC, timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from apps.analytics import partitions, rollup
from apps.analytics.models import RollupRun, TrackedEvent
from apps.core.metrics import render_web_page
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _gauges() -> dict[str, float]:
    page = render_web_page().decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
        if sample.name.startswith("planner_analytics_")
    }


def test_the_business_gauges_read_the_database(clock) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    assert _gauges()["planner_analytics_rollup_lag_seconds"] == math.inf

    UserFactory.create_batch(2)  # each sign-up also tracks a server event
    yesterday = now - timedelta(days=1)
    partitions.ensure({partitions.month_of(now), partitions.month_of(yesterday)})
    TrackedEvent.objects.bulk_create(
        [TrackedEvent(client_id=uuid.uuid4(), type="page_view", at=now, anonymous_id=f"b{n}") for n in range(3)]
        + [TrackedEvent(client_id=uuid.uuid4(), type="page_view", at=yesterday, anonymous_id="old")]
    )
    rollup.rollup_day(day=now.astimezone(UTC).date(), now=now)
    RollupRun.objects.update(finished_at=now - timedelta(minutes=20))

    gauges = _gauges()
    assert gauges["planner_analytics_signups_today"] == 2
    assert gauges["planner_analytics_tracked_events_today"] == 5  # three page views and two sign-ups
    assert gauges["planner_analytics_active_people_today"] == 5
    assert gauges["planner_analytics_rollup_lag_seconds"] == pytest.approx(20 * 60, abs=30)
