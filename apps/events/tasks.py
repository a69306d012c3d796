from celery import shared_task

from apps.core.queueing import enqueue
from apps.events import selectors, sync


@shared_task(name="apps.events.tasks.sync_source", max_retries=0)
def sync_source(source_id: int) -> int | None:
    """One run of one source. A second copy while the first runs does nothing; a rerun resumes."""
    try:
        run = sync.sync_source(source_id=source_id)
    except sync.SyncAlreadyRunning:
        return None
    return run.pk


@shared_task(name="apps.events.tasks.schedule_due_syncs")
def schedule_due_syncs() -> list[int]:
    """Run by beat every minute: enqueues each enabled source whose interval has passed, and returns those the
    broker took (one it could not take is still due at the next tick)."""
    return [source_id for source_id in selectors.sources_due() if enqueue(sync_source, source_id)]
