"""Sending one outbox row: claim it, talk to SMTP, record the outcome.

The claim (status PENDING -> SENDING, committed) happens right before the backend is called, so a redelivered
task, the minute tick and a retry can never send one row twice. The price is an at-most-once window: a worker
killed between the claim and recording the outcome leaves the row SENDING, and it is not sent again (the mail
server may or may not have it). Temporary failures put the row back to PENDING with a backoff; a permanent one
(5xx) marks it FAILED and the person's address bounced.
"""

import hashlib
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import structlog
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone as dj_timezone

from apps.notifications import metrics, rendering, services
from apps.notifications.models import Notification, Preferences, Status

logger = structlog.get_logger(__name__)

MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 60  # 1, 2, 4, 8 minutes between the attempts


@dataclass(frozen=True)
class Outcome:
    status: str  # "sent", "retry", "failed", "bounced", "suppressed", "skipped" (not ours to send now)
    retry_in: int | None = None


def backoff(attempts: int) -> int:
    return int(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0))


def message_id(key: str) -> str:
    """The same key gives the same Message-ID, so a mail server or client can tell a resend from a new email."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    domain = urlsplit(settings.SITE_URL).hostname or "weekendplanner.invalid"
    return f"<{digest}@{domain}>"


def _claim(notification_id: int, now: datetime) -> Notification | Outcome:
    """Reads the row (its person and their preferences in the same statement) and takes it with a compare-and-set:
    the write only happens if the row is still as read, so of two workers claiming at once exactly one wins, with
    two statements and no transaction held open (this runs once per email: a lock, a preferences read and a commit
    of their own cost about as much as rendering the email)."""
    row = Notification.objects.select_related("user__notification_prefs").filter(pk=notification_id).first()
    if row is None or row.status != Status.PENDING:
        return Outcome("skipped")  # sent, being sent, given up or suppressed: nothing to do, ever
    if row.not_before is not None and row.not_before > now:
        return Outcome("skipped")  # quiet hours or a backoff: the minute tick sends it when due
    as_read = Notification.objects.filter(
        pk=row.pk, status=Status.PENDING, attempts=row.attempts, not_before=row.not_before
    )
    reason = services.suppression_reason(kind=row.kind, user=row.user, address=row.to_address)
    if reason:
        if not as_read.update(status=Status.SUPPRESSED, last_error=reason):
            return Outcome("skipped")  # another worker took it meanwhile
        metrics.count(row.kind, "suppressed")
        return Outcome("suppressed")
    if not as_read.update(status=Status.SENDING, attempts=row.attempts + 1):
        return Outcome("skipped")
    row.status, row.attempts = Status.SENDING, row.attempts + 1
    return row


def _email(row: Notification) -> EmailMultiAlternatives:
    rendered = rendering.render(row)
    email = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.to_address],
        headers={**rendered.headers, "Message-ID": message_id(row.idempotency_key)},
    )
    email.attach_alternative(rendered.html, "text/html")
    for attachment in rendered.attachments:
        email.attach(attachment.filename, attachment.content, attachment.mimetype)
    return email


def _permanent(error: Exception) -> str | None:
    """The server's 5xx answer as text when `error` is a permanent refusal of the recipient or the message."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = list(error.recipients.values())
        if answers and all(500 <= code < 600 for code, _ in answers):
            code, text = answers[0]
            return f"{code} {_text(text)}"
        return None
    if isinstance(error, smtplib.SMTPResponseException) and 500 <= error.smtp_code < 600:
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return None


def _text(answer: bytes | str) -> str:
    return answer.decode(errors="replace") if isinstance(answer, bytes) else answer


def deliver(notification_id: int, *, now: datetime | None = None) -> Outcome:
    """Sends the row if it is PENDING and due. Safe to call any number of times, concurrently."""
    now = now or dj_timezone.now()
    claimed = _claim(notification_id, now)
    if isinstance(claimed, Outcome):
        return claimed
    row = claimed
    try:
        _email(row).send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as error:  # OSError covers refused connections and timeouts
        return _failed(row, error, now)
    except Exception as error:  # a renderer's bug: record it rather than leave the row SENDING forever
        _record(row, status=Status.FAILED, last_error=f"{type(error).__name__}: {error}")
        metrics.count(row.kind, "failed")
        logger.exception("notification_render_failed", notification=row.pk, kind=row.kind)
        return Outcome("failed")
    _record(row, status=Status.SENT, last_error="", sent_at=dj_timezone.now())
    metrics.count(row.kind, "sent")
    logger.info("notification_sent", notification=row.pk, kind=row.kind, attempts=row.attempts)
    return Outcome("sent")


def _record(row: Notification, **fields: object) -> None:
    Notification.objects.filter(pk=row.pk).update(**fields)


def _failed(row: Notification, error: Exception, now: datetime) -> Outcome:
    permanent = _permanent(error)
    if permanent is not None:
        with transaction.atomic():
            _record(row, status=Status.FAILED, last_error=permanent[:2000])
            if row.user_id is not None:
                preferences = services.preferences_for(user=row.user)  # type: ignore[arg-type]
                Preferences.objects.filter(pk=preferences.pk).update(bounced_at=now, bounce_reason=permanent[:500])
        metrics.count(row.kind, "bounced")
        logger.warning("notification_bounced", notification=row.pk, kind=row.kind, error=permanent)
        return Outcome("bounced")
    message = f"{type(error).__name__}: {error}"[:2000]
    if row.attempts >= MAX_ATTEMPTS:
        _record(row, status=Status.FAILED, last_error=message)
        metrics.count(row.kind, "failed")
        logger.warning("notification_failed", notification=row.pk, kind=row.kind, attempts=row.attempts)
        return Outcome("failed")
    wait = backoff(row.attempts)
    # Back to PENDING with not_before: the task's retry sends it then, or the minute tick if that retry is lost.
    _record(row, status=Status.PENDING, last_error=message, not_before=now + timedelta(seconds=wait))
    metrics.count(row.kind, "retried")
    logger.info("notification_retry", notification=row.pk, kind=row.kind, attempts=row.attempts, wait=wait)
    return Outcome("retry", retry_in=wait)


LOST_AFTER = timedelta(minutes=10)


def due_ids(*, now: datetime, limit: int = 1000) -> list[int]:
    """PENDING rows the minute tick should send: deferred ones now due (quiet hours, backoffs, lost publications),
    and rows whose send task has not run for LOST_AFTER (its publication or its worker was lost before the claim).
    Both read the partial index on PENDING/SENDING rows, which stays small."""
    pending = Notification.objects.filter(status=Status.PENDING)
    deferred = pending.filter(not_before__lte=now)
    stale = pending.filter(not_before__isnull=True, created_at__lte=now - LOST_AFTER)
    ids = list(deferred.order_by("not_before").values_list("pk", flat=True)[:limit])
    ids += list(stale.order_by("created_at").values_list("pk", flat=True)[: max(limit - len(ids), 0)])
    return ids
