from datetime import date, datetime, timedelta
from typing import Any

from celery import shared_task
from django.utils import timezone

from apps.analytics import rollup, services


@shared_task(name="apps.analytics.tasks.tracking_partitions_ensure")
def tracking_partitions_ensure() -> list[str]:
    return [month.isoformat() for month in services.tracking_partitions_ensure()]


# No result: storing one (and the Redis backend's subscription to it at every call) would cost the caller more than the
# message itself.
@shared_task(name="apps.analytics.tasks.tracking_store_server_events", ignore_result=True)
def tracking_store_server_events(events: list[dict[str, Any]], at: str) -> None:
    """Stores events a request handed over (services.tracking_server_events_later); their client ids make a second
    run store nothing."""
    services.tracking_server_events(
        events=[services.ServerEvent.from_data(event) for event in events],
        now=datetime.fromisoformat(at),
        wait_for_disk=False,  # what the request would have done; a crash may lose a few, never corrupt them
    )


@shared_task(name="apps.analytics.tasks.analytics_rollup_recent")
def analytics_rollup_recent() -> list[str]:
    """Run by beat every hour: yesterday again (events that arrived late: beacons sent when a page closed, queued
    server events), then today so far. Each day is replaced whole, so running it twice changes nothing."""
    today = timezone.now().date()
    days = [today - timedelta(days=1), today]
    return [rollup.rollup_day(day=day).day.isoformat() for day in days]


@shared_task(name="apps.analytics.tasks.analytics_rollup_day")
def analytics_rollup_day(day: str) -> int:
    """One day (YYYY-MM-DD), for an operator backfilling from a shell; returns the raw events it read."""
    return rollup.rollup_day(day=date.fromisoformat(day)).events
