"""Writes to subscriptions: subscribe, unsubscribe, and refresh one into its calendar."""

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
import structlog
from django.db import IntegrityError, transaction
from django.db.models.fields import CharField

from apps.calendars import fetch
from apps.calendars.ical import IcsParseError
from apps.calendars.models import Calendar, Subscription
from apps.calendars.services.plans import plans_import
from apps.core.http import ProviderError
from apps.core.queueing import enqueue
from apps.core.redaction import redact_text

logger = structlog.get_logger(__name__)

MAX_SUBSCRIPTIONS_PER_CALENDAR = 50
MAX_ERROR_LENGTH = 1000


# --- Subscriptions -----------------------------------------------------------------------------------------------
# An iCalendar URL that a Celery task (tasks.sync_subscription, `sync` queue) refreshes into a calendar. Entries
# removed from the feed stay in the calendar: plans do not record which subscription brought them.


class SubscriptionConflict(fetch.SubscriptionError):
    """The calendar already subscribes to the URL, or has as many subscriptions as it may."""


def subscription_create(*, calendar: Calendar, url: str, refresh_on_commit: bool = False) -> Subscription:
    """Subscribes a calendar to a URL after the address guard passed it; with `refresh_on_commit`, the first
    refresh is enqueued once the row is visible to the worker. Raises fetch.SubscriptionError (the guard, a URL
    that is not one) or SubscriptionConflict."""
    text = str(fetch.subscribable_url(url))
    url_hash = Subscription.hash_url(text)
    if Subscription.objects.filter(calendar=calendar, url_hash=url_hash).exists():
        raise SubscriptionConflict("This calendar already subscribes to that URL.")
    if Subscription.objects.filter(calendar=calendar).count() >= MAX_SUBSCRIPTIONS_PER_CALENDAR:
        raise SubscriptionConflict(f"A calendar has at most {MAX_SUBSCRIPTIONS_PER_CALENDAR} subscriptions.")
    try:
        with transaction.atomic():
            subscription = Subscription.objects.create(calendar=calendar, url=text)
    except IntegrityError as exc:  # the same URL subscribed concurrently
        raise SubscriptionConflict("This calendar already subscribes to that URL.") from exc
    if refresh_on_commit:
        from apps.calendars import tasks  # the tasks module imports this one

        # If the broker cannot take it, enqueue reports it and beat picks the subscription up later (never fetched
        # means due).
        transaction.on_commit(partial(enqueue, tasks.sync_subscription, subscription.pk), robust=True)
    return subscription


def subscription_delete(*, subscription: Subscription) -> None:
    subscription.delete()


@dataclass(frozen=True)
class RefreshResult:
    """`status`: "imported", "not_modified", "failed" (see `error`) or "gone" (the subscription was deleted)."""

    status: str
    created: int = 0
    updated: int = 0
    refused: int = 0
    error: str = ""


def _fits(value: str, field_name: str) -> str:
    """A validator too long to store is dropped rather than cut: a cut ETag would never match."""
    column = Subscription._meta.get_field(field_name)
    assert isinstance(column, CharField)
    return value if len(value) <= (column.max_length or 0) else ""


def _refresh_failed(subscription_id: int, message: str, *, url: str) -> RefreshResult:
    # The URL of a private calendar is its secret: an error that repeats it (a server's error page, an
    # exception naming the request) must not store or log it, since last_error is shown in the admin.
    message = redact_text(message, also=[url])[:MAX_ERROR_LENGTH]
    Subscription.objects.filter(pk=subscription_id).update(last_error=message, last_fetched_at=datetime.now(UTC))
    logger.info("subscription_refresh_failed", subscription_id=subscription_id, error=message)
    return RefreshResult(status="failed", error=message)


def subscription_refresh(*, subscription_id: int, **fetch_options: Any) -> RefreshResult:
    """Fetches the subscription's URL (conditionally, `fetch_options` passed to fetch.fetch) and imports it into
    its calendar, keyed by UID. Never raises for what the feed did: the outcome is recorded on the subscription
    (`last_fetched_at` is the last attempt, so a failing feed waits its interval like any other; `last_error`
    says why it failed, or is empty) and returned. Safe to run twice, or at once."""
    subscription = Subscription.objects.filter(pk=subscription_id).first()
    if subscription is None:
        return RefreshResult(status="gone")
    try:
        url = fetch.normalize_url(subscription.url)
        fetched = fetch.fetch(url, etag=subscription.etag, last_modified=subscription.last_modified, **fetch_options)
    except (fetch.SubscriptionError, ProviderError, httpx.HTTPError, httpx.InvalidURL) as exc:
        return _refresh_failed(subscription_id, str(exc) or type(exc).__name__, url=subscription.url)

    now = datetime.now(UTC)
    if fetched.not_modified:
        changes: dict[str, object] = {"last_fetched_at": now, "last_error": ""}
        if fetched.etag:
            changes["etag"] = _fits(fetched.etag, "etag")
        if fetched.last_modified:
            changes["last_modified"] = _fits(fetched.last_modified, "last_modified")
        if not Subscription.objects.filter(pk=subscription_id).update(**changes):
            return RefreshResult(status="gone")
        logger.info("subscription_not_modified", subscription_id=subscription_id)
        return RefreshResult(status="not_modified")

    try:
        with transaction.atomic():
            # Concurrent refreshes of one subscription import one after the other, so UIDs never collide.
            locked = (
                Subscription.objects.select_for_update(of=("self",))
                .select_related("calendar")
                .filter(pk=subscription_id)
                .first()
            )
            if locked is None:
                return RefreshResult(status="gone")
            imported = plans_import(calendar=locked.calendar, data=fetched.body)
            Subscription.objects.filter(pk=subscription_id).update(
                etag=_fits(fetched.etag, "etag"),
                last_modified=_fits(fetched.last_modified, "last_modified"),
                last_fetched_at=now,
                last_error="",
            )
    except IcsParseError as exc:
        return _refresh_failed(subscription_id, f"Not a readable iCalendar file: {exc}", url=subscription.url)
    logger.info(
        "subscription_imported",
        subscription_id=subscription_id,
        created=imported.created,
        updated=imported.updated,
        refused=len(imported.refused),
    )
    return RefreshResult(
        status="imported", created=imported.created, updated=imported.updated, refused=len(imported.refused)
    )
