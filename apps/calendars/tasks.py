"""Calendar tasks, on the `sync` queue (planner/celery.py routes by module); beat runs what schedules.py declares."""

from celery import shared_task

from apps.calendars import selectors, services
from apps.core.queueing import enqueue


@shared_task(name="apps.calendars.tasks.sync_subscription", max_retries=0)
def sync_subscription(subscription_id: int) -> str:
    """Refreshes one subscription. Safe to run twice: a refresh is conditional and imports keyed by UID; the
    outcome (or the error) is recorded on the subscription, and the next interval tries again."""
    return services.subscription_refresh(subscription_id=subscription_id).status


@shared_task(name="apps.calendars.tasks.sync_due_subscriptions")
def sync_due_subscriptions() -> list[int]:
    """Run by beat: enqueues each subscription never fetched or whose interval has passed, and returns those the
    broker took (one it could not take is still due at the next tick)."""
    return [pk for pk in selectors.subscriptions_due() if enqueue(sync_subscription, pk)]
