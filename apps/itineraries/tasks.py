"""Background work of itineraries: drafts nobody accepted go after a week."""

from celery import shared_task

from apps.itineraries import services


@shared_task(name="apps.itineraries.tasks.itineraries_expire_drafts")
def itineraries_expire_drafts() -> int:
    """Idempotent: deletes what is past its expiry, which a second run finds empty."""
    return services.expire_drafts()
