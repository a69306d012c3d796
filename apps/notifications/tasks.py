"""Notification tasks, on the `notifications` queue (planner/celery.py routes by module); beat runs what
schedules.py declares. Every task takes ids and is safe to run twice (delivery claims a row before sending)."""

from datetime import date

from celery import Task, shared_task
from django.utils import timezone as dj_timezone

from apps.core.queueing import enqueue
from apps.notifications import delivery, digest, reminders


@shared_task(bind=True, name="apps.notifications.tasks.send_notification", max_retries=delivery.MAX_ATTEMPTS)
def send_notification(self: Task, notification_id: int) -> str:  # type: ignore[type-arg]
    """Sends one outbox row. A temporary failure retries with exponential backoff (the row records attempts and
    the error); the row's own state, not Celery's retry count, decides when to give up."""
    outcome = delivery.deliver(notification_id)
    if outcome.retry_in is not None and not self.request.is_eager:
        # One second past the row's not_before, so the retry never arrives before it is due.
        raise self.retry(countdown=outcome.retry_in + 1, max_retries=None)
    return outcome.status


def publish_send(notification_id: int) -> bool:
    return enqueue(send_notification, notification_id)


@shared_task(name="apps.notifications.tasks.send_many")
def send_many(notification_ids: list[int]) -> int:
    """Fans a batch out into one send task per row, so that each retries on its own and a worker killed in a
    batch loses at most the send in flight (the others wait in the queue for the next worker)."""
    return sum(1 for pk in notification_ids if publish_send(pk))


def publish_sends(notification_ids: list[int]) -> bool:
    return enqueue(send_many, notification_ids)


@shared_task(name="apps.notifications.tasks.send_due")
def send_due() -> int:
    """Run by beat every minute: queues the rows whose quiet hours or backoff are over, and those whose send
    task was lost. Queueing one twice is harmless (the claim)."""
    ids = delivery.due_ids(now=dj_timezone.now())
    return sum(1 for pk in ids if publish_send(pk))


@shared_task(name="apps.notifications.tasks.remind_due")
def remind_due() -> int:
    """Run by beat every minute: stores the reminders now due and queues their sends (reminders.tick)."""
    return reminders.tick()


@shared_task(name="apps.notifications.tasks.refresh_reminders")
def refresh_reminders() -> int:
    """Run by beat every hour: moves the reminders' horizon on and puts right what no signal announced."""
    reminders.purge()
    return reminders.refresh_all()


# --- The weekly digest (apps/notifications/digest.py) ------------------------------------------------------------


@shared_task(name="apps.notifications.tasks.digest_send_batch")
def digest_send_batch(user_ids: list[int], saturday: str) -> int:
    """Builds and stores the digests of one batch of people (one zone); their sends are queued as each is stored.
    Safe to run twice: a person with a digest for that weekend is skipped."""
    return digest.send_batch(user_ids=user_ids, saturday=date.fromisoformat(saturday))


@shared_task(name="apps.notifications.tasks.digest_tick")
def digest_tick() -> int:
    """Run by beat every 5 minutes: hands the people whose Thursday 18:00 has come, in batches, to
    digest_send_batch."""
    return digest.dispatch(publish=lambda user_ids, saturday: enqueue(digest_send_batch, user_ids, saturday))
