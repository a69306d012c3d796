"""A sync run of one source: page through the provider, upsert each page with its checkpoint, merge duplicates.

Each page and the checkpoint after it commit together, so a run killed at any point resumes after the last
page it stored: nothing lost, nothing doubled. A lock with an expiry keeps two runs of one source apart
without letting a dead worker block the next run for long.
"""

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from apps.core.http import CredentialsRejectedError, RetryLaterError
from apps.core.redaction import redact_text
from apps.events import services
from apps.events.models import Event, Source, SyncOutcome, SyncRun
from apps.events.signals import events_changed
from apps.events.sources import connector_for
from apps.events.sources.base import Connector, SourceConfigError

logger = structlog.get_logger(__name__)

_clock = time.monotonic  # the run's time budget (SYNC_RUN_MAX_SECONDS) is measured on it; the tests replace it
DEFAULT_DAYS_AHEAD = 60
MAX_RESUMES = 3
# events_changed goes out once this many ids are waiting (and at the end): a long run holds no more than that.
ANNOUNCE_BATCH = 10_000


class SyncAlreadyRunning(Exception):
    pass


@contextmanager
def source_lock(source_id: int) -> Iterator[Callable[[], None]]:
    """Keeps two runs of one source apart. The lock expires SYNC_LOCK_SECONDS after its holder last showed it is
    alive: a thread of the run renews it every third of that, whatever the run is doing (a page that takes
    minutes), and after each page. A worker killed mid-run (SIGKILL, a lost node) renews nothing, so its lock is
    gone within SYNC_LOCK_SECONDS and the next run resumes from the last checkpoint."""
    key = f"events:sync-lock:{source_id}"
    token = uuid.uuid4().hex
    ttl = settings.SYNC_LOCK_SECONDS
    if not cache.add(key, token, timeout=ttl):
        raise SyncAlreadyRunning(f"source {source_id} is being synced")

    def keep_alive() -> None:
        cache.touch(key, ttl)

    finished = threading.Event()

    def renew() -> None:
        while not finished.wait(ttl / 3):
            with contextlib.suppress(Exception):  # Redis away for a moment: the next renewal tries again
                keep_alive()

    renewer = threading.Thread(target=renew, name=f"sync-lock-{source_id}", daemon=True)
    renewer.start()
    try:
        yield keep_alive
    finally:
        finished.set()
        renewer.join()
        if cache.get(key) == token:
            cache.delete(key)


def _unfinished_run(source: Source) -> SyncRun | None:
    """The latest run if it did not complete and left a checkpoint: the new run resumes from it.

    A checkpoint that failed MAX_RESUMES times in a row is given up (a page the provider always breaks on
    must not stall the source for good): the next run starts afresh, and upserts keep it idempotent.
    """
    recent = list(SyncRun.objects.filter(source=source).order_by("-started_at", "-pk")[:MAX_RESUMES])
    last = recent[0] if recent else None
    if last is None or last.outcome == SyncOutcome.COMPLETED or not last.checkpoint:
        return None
    if len(recent) == MAX_RESUMES and all(
        run.outcome == SyncOutcome.FAILED and run.checkpoint == last.checkpoint for run in recent
    ):
        logger.warning("sync_checkpoint_abandoned", source=source.name, checkpoint=last.checkpoint)
        return None
    if last.outcome == SyncOutcome.RUNNING:
        # We hold the lock, so whoever ran it is gone (worker killed or lock expired): record that.
        services.sync_run_abandon(run=last)
    return last


def _window(source: Source, now: datetime) -> tuple[datetime, datetime]:
    days = int(source.options.get("days_ahead", DEFAULT_DAYS_AHEAD))
    start = now.replace(minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=days)


def sync_source(*, source_id: int, connector: Connector | None = None, now: datetime | None = None) -> SyncRun:
    source = Source.objects.get(pk=source_id)
    with source_lock(source.pk) as keep_lock:
        resumed = _unfinished_run(source)
        run = services.sync_run_start(source=source, resumed=resumed)
        log = logger.bind(source=source.name, sync_run_id=run.pk, resumed_from=resumed.pk if resumed else None)
        touched: list[int] = []  # created or changed, not yet announced

        def announce(*, at_least: int = 1) -> None:
            if len(touched) >= at_least:
                events_changed.send(sender=SyncRun, event_ids=sorted(set(touched)))
                touched.clear()

        # A run that dies without an exception (the worker killed) stays RUNNING; the next run records it.
        outcome, error = SyncOutcome.RUNNING, ""
        try:
            # Before any page: the previous release's rows for this source must be found as its items.
            services.source_legacy_records_adopt(source_id=source.pk)
            connector = connector or connector_for(source)
            window_start, window_end = _window(source, now or timezone.now())
            started, budget = _clock(), settings.SYNC_RUN_MAX_SECONDS
            ending = SyncOutcome.COMPLETED
            for page in connector.pages(window_start=window_start, window_end=window_end, checkpoint=run.checkpoint):
                result = services.sync_run_store_page(run=run, page=page)
                touched.extend(result.touched_event_ids)
                announce(at_least=ANNOUNCE_BATCH)
                for bad in page.invalid:
                    log.warning("sync_item_refused", provider_id=bad.provider_id, reason=bad.reason)
                keep_lock()
                elapsed = _clock() - started
                if page.checkpoint is not None and elapsed >= budget:
                    ending = SyncOutcome.INTERRUPTED
                    error = f"Stopped after {elapsed:.0f} s (SYNC_RUN_MAX_SECONDS); the next run resumes from here."
                    break
            outcome = ending
        except RetryLaterError as exc:
            outcome = SyncOutcome.INTERRUPTED
            error = f"The provider asked us to wait {exc.retry_after_seconds:.0f} s; the next run resumes from here."
        except (CredentialsRejectedError, SourceConfigError) as exc:
            outcome = SyncOutcome.FAILED
            error = redact_text(str(exc) or type(exc).__name__)
        except Exception as exc:  # a provider outage must be recorded, then the run ends
            outcome = SyncOutcome.FAILED
            # Shown in the admin and by sync_events: an exception's text may repeat a URL carrying the key.
            error = redact_text(f"{type(exc).__name__}: {exc}")[:2000]
            log.exception("sync_failed")
        finally:
            resumed_ids: list[int] = []
            if resumed is not None:
                # The pages stored by the run we resumed may not have been announced, or (stored by an older
                # version) checked for duplicates.
                resumed_ids = list(
                    Event.objects.filter(source=source, updated_at__gte=resumed.started_at).values_list("id", flat=True)
                )
            services.sync_run_finish(run=run, outcome=outcome, error=error, event_ids=resumed_ids)
            touched.extend(resumed_ids)
            announce()
            log.info("sync_finished", outcome=run.outcome, **run.counts())
    return run
