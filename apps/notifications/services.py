"""Asking for an email (`notify`) and the person's preferences. The one way to send email: every message is an
outbox row first (models.Notification), stored once per idempotency key, then sent by a task after commit."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone as dj_timezone

from apps.notifications import metrics, quiet_hours
from apps.notifications.models import Kind, Notification, Preferences, Status
from apps.users.models import User

logger = structlog.get_logger(__name__)

# The Preferences flag that turns each kind off; reminders are off with reminder_minutes None, and an address
# confirmation is never turned off (it is how a bounced address comes back).
OPT_OUT_FLAG = {
    Kind.DIGEST: "weekly_digest",
    Kind.GROUP_INVITATION: "group_invitations",
    Kind.POLL_OPENED: "poll_updates",
    Kind.POLL_CLOSED: "poll_updates",
    Kind.GROUP_PLAN_CHANGED: "group_plan_updates",
}
# Sent whatever the hour: a reminder is due at its time, and a confirmation was just asked for by the person.
QUIET_HOURS_EXEMPT = frozenset({Kind.REMINDER, Kind.ADDRESS_CONFIRMATION})
SEND_FANOUT = 100


def preferences_for(*, user: User) -> Preferences:
    preferences, _ = Preferences.objects.get_or_create(user=user)
    return preferences


def preferences_of(user: User) -> Preferences | None:
    """The person's preferences (None: never saved): those `user` was read with (select_related, as delivery's
    claim does, so they are as fresh as the row), else read now. Nothing else caches them on a user instance."""
    if User.notification_prefs.is_cached(user):
        # A reverse one-to-one read as missing raises an AttributeError subclass on access: None here.
        return getattr(user, "notification_prefs", None)
    return Preferences.objects.filter(user=user).first()


def suppression_reason(*, kind: str, user: User | None, address: str) -> str:
    """Why an email of `kind` must not go out now ("" when it may): the person turned the kind off, or their
    address bounced and is not confirmed again. Checked when the row is stored and again right before sending."""
    if kind == Kind.ADDRESS_CONFIRMATION:
        return ""
    if user is not None:
        return _reason(kind, preferences_of(user))
    # Only an address (an invitation to someone without an account yet): it may be a member's bounced address.
    bounced = Preferences.objects.filter(user__email__iexact=address, bounced_at__isnull=False).exists()
    return "address bounced" if bounced else ""


def _reason(kind: str, preferences: Preferences | None) -> str:
    if kind == Kind.ADDRESS_CONFIRMATION or preferences is None:
        return ""
    if preferences.bounced_at is not None:
        return "address bounced"
    flag = OPT_OUT_FLAG.get(Kind(kind))
    if flag is not None and not getattr(preferences, flag):
        return "opted out"
    if kind == Kind.REMINDER and preferences.reminder_minutes is None:
        return "opted out"
    return ""


def _timezone_of(user: User | None) -> str:
    if user is None:
        return settings.TIME_ZONE  # a bare address: we do not know where its owner lives
    profile = getattr(user, "profile", None)
    return getattr(profile, "timezone", "") or settings.TIME_ZONE


def notify(
    *,
    kind: str,
    key: str,
    context: dict[str, object],
    user: User | None = None,
    to_address: str = "",
    now: datetime | None = None,
) -> Notification:
    """Stores the email `kind` for `user` (or a bare `to_address`) once per idempotency `key` — a second call
    returns the row the first stored, whatever its status — and queues its send when the transaction commits.

    The row is SUPPRESSED when the person opted out of the kind or their address bounced; it gets `not_before`
    (the next 08:00 in their zone, sent by the minute tick) when asked during quiet hours, except reminders and
    address confirmations."""
    existing = Notification.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    if kind not in Kind.values:
        raise ValueError(f"Unknown notification kind {kind!r}")
    address = to_address or (user.email if user is not None else "")
    if not address:
        raise ValueError("A notification needs a user with an email address or a to_address")
    now = now or dj_timezone.now()
    reason = suppression_reason(kind=kind, user=user, address=address)
    not_before = None if reason or kind in QUIET_HOURS_EXEMPT else quiet_hours.send_after(now, _timezone_of(user))
    row = Notification(
        kind=kind,
        user=user,
        to_address=address,
        idempotency_key=key,
        context=context,
        status=Status.SUPPRESSED if reason else Status.PENDING,
        last_error=reason,
        not_before=not_before,
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        # Another request stored the same key between our read and our insert: theirs is the one.
        return Notification.objects.get(idempotency_key=key)
    if reason:
        metrics.count(kind, "suppressed")
        logger.info("notification_suppressed", notification=row.pk, kind=kind, reason=reason)
    elif not_before is not None:
        metrics.count(kind, "deferred")
    else:
        transaction.on_commit(lambda: queue_send(row.pk))
    return row


def queue_send(notification_id: int) -> None:
    """Publishes the send. When the broker cannot take it, the row is given `not_before` = now so that the minute
    tick (which sends due deferred rows) sends it instead: a lost publication delays an email, never loses it."""
    from apps.notifications import tasks  # tasks import this module

    if not tasks.publish_send(notification_id):
        Notification.objects.filter(pk=notification_id, status=Status.PENDING, not_before__isnull=True).update(
            not_before=dj_timezone.now()
        )


@dataclass(frozen=True)
class NotifyRequest:
    key: str
    user: User
    context: dict[str, object]


def notify_many(*, kind: str, requests: Sequence[NotifyRequest], now: datetime | None = None) -> dict[str, int]:
    """`notify` for many people at once in a constant number of queries (the reminder tick stores hundreds a
    minute): the same rules, the same once-per-key guarantee (the unique key, ignore_conflicts), sends queued on
    commit. Returns the id of every key's row, whoever stored it."""
    if kind not in Kind.values:
        raise ValueError(f"Unknown notification kind {kind!r}")
    now = now or dj_timezone.now()
    keys = [request.key for request in requests]
    known = set(Notification.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))
    preferences = {p.user_id: p for p in Preferences.objects.filter(user__in=[r.user.pk for r in requests])}
    rows = []
    for request in requests:
        if request.key in known:
            continue
        reason = _reason(kind, preferences.get(request.user.pk))
        quiet = reason or kind in QUIET_HOURS_EXEMPT
        rows.append(
            Notification(
                kind=kind,
                user=request.user,
                to_address=request.user.email,
                idempotency_key=request.key,
                context=request.context,
                status=Status.SUPPRESSED if reason else Status.PENDING,
                last_error=reason,
                not_before=None if quiet else quiet_hours.send_after(now, _timezone_of(request.user)),
            )
        )
        if reason or rows[-1].not_before is not None:
            metrics.count(kind, "suppressed" if reason else "deferred")
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    stored = dict(Notification.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", "pk"))
    # Queued: the rows this call meant to send now (one another process stored meanwhile is queued twice at
    # worst, which the claim makes harmless).
    to_send = [
        stored[row.idempotency_key]
        for row in rows
        if row.status == Status.PENDING and row.not_before is None and row.idempotency_key in stored
    ]
    if to_send:
        transaction.on_commit(lambda: queue_sends(to_send))
    return stored


def queue_sends(ids: list[int]) -> None:
    """Publishes the sends of many rows as a few fan-out messages (one per SEND_FANOUT rows; the worker splits
    them into one send task each), so that storing hundreds of emails costs a few broker round trips. Rows whose
    fan-out the broker did not take get not_before = now, for the minute tick."""
    from apps.notifications import tasks

    for offset in range(0, len(ids), SEND_FANOUT):
        chunk = ids[offset : offset + SEND_FANOUT]
        if not tasks.publish_sends(chunk):
            Notification.objects.filter(pk__in=chunk, status=Status.PENDING, not_before__isnull=True).update(
                not_before=dj_timezone.now()
            )
