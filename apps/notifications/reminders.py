"""Reminders before each plan occurrence, at the lead time each person chose (Preferences.reminder_minutes).

Expanding every plan every minute cannot scale, so the reminders owed in a rolling horizon are materialised as
`Reminder` rows: `refresh_users` rewrites a person's rows when a plan, an override or their preferences change
(receivers.py) and the hourly task extends the horizon for everyone; the minute `tick` reads only the rows due
(`done = false AND remind_at <= now`, a partial index), stores their Notification (key per person, plan,
occurrence and start) and queues the sends. Every step is idempotent: a tick run twice, or killed half-way
(each batch commits alone), stores each Notification once, and a done row is never re-created.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone as dj_timezone

from apps.calendars import selectors as calendar_selectors
from apps.calendars.models import Calendar, PlanStatus
from apps.notifications import services
from apps.notifications.models import DEFAULT_REMINDER_MINUTES, Kind, Preferences, Reminder
from apps.users.models import User

logger = structlog.get_logger(__name__)

HORIZON = timedelta(hours=48)  # rows exist for reminders due before now + HORIZON; the hourly refresh extends it
TICK_BATCH = 500
REFRESH_CHUNK = 200
# What the tick reads of each due row and its relations (rows are many; their other columns are not needed).
TICK_FIELDS = (
    "user_id",
    "plan_id",
    "recurrence_id",
    "occurrence_start",
    "occurrence_end",
    "title",
    "remind_at",
    "user__email",
    "user__profile__timezone",
    "plan__location",
)  # people whose occurrences are expanded in one read


def key_of(reminder: Reminder) -> str:
    """The Notification's idempotency key. The occurrence's start is part of it: a moved occurrence is reminded
    again at its new time, while the same occurrence at the same time is reminded once whatever happens."""
    return (
        f"reminder:{reminder.user_id}:{reminder.plan_id}:{reminder.recurrence_id}:"
        f"{reminder.occurrence_start.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    )


def _lead_minutes(user_ids: Iterable[int]) -> dict[int, int | None]:
    """Each person's lead time; a person without Preferences has the default."""
    leads: dict[int, int | None] = dict.fromkeys(user_ids, DEFAULT_REMINDER_MINUTES)
    for user_id, minutes in Preferences.objects.filter(user_id__in=leads).values_list("user_id", "reminder_minutes"):
        leads[user_id] = minutes
    return leads


def _desired(user_ids: list[int], now: datetime) -> dict[int, list[Reminder]]:
    """The reminders each person is owed with remind_at before now + HORIZON, for occurrences not started yet:
    timed occurrences that are neither cancelled nor of a cancelled plan (all-day ones have no time to remind
    before)."""
    leads = {user_id: minutes for user_id, minutes in _lead_minutes(user_ids).items() if minutes is not None}
    wanted: dict[int, list[Reminder]] = defaultdict(list)
    if not leads:
        return wanted
    calendars = dict(Calendar.objects.filter(owner_id__in=leads).values_list("pk", "owner_id"))
    if not calendars:
        return wanted
    longest = timedelta(minutes=max(leads.values()))
    found = calendar_selectors.occurrences(calendar_ids=list(calendars), start=now, end=now + HORIZON + longest)
    for item in found:
        occurrence = item.occurrence
        if occurrence.all_day or item.status == PlanStatus.CANCELLED or occurrence.start_utc <= now:
            continue
        user_id = calendars[item.plan.calendar_id]
        remind_at = occurrence.start_utc - timedelta(minutes=leads[user_id])
        if remind_at >= now + HORIZON:
            continue
        wanted[user_id].append(
            Reminder(
                user_id=user_id,
                plan_id=item.plan.pk,
                recurrence_id=occurrence.recurrence_id or "",
                occurrence_start=occurrence.start_utc,
                occurrence_end=occurrence.end_utc,
                title=item.title[:500],
                remind_at=remind_at,
            )
        )
    return wanted


IDENTITY = ("plan_id", "recurrence_id", "occurrence_start", "occurrence_end", "title", "remind_at")


def _identity(reminder: Reminder) -> tuple[object, ...]:
    """What makes a pending row right as it is: any difference replaces the row."""
    return tuple(getattr(reminder, name) for name in IDENTITY)


def refresh_users(user_ids: Iterable[int], *, now: datetime | None = None) -> int:
    """Rewrites the pending (not done, not started) reminders of these people to what their plans owe now:
    rows no longer owed (plan moved, cancelled, deleted, lead time changed or turned off) go, new ones come.
    A row already done is never re-created (the unique constraint; its Notification's key as well)."""
    now = now or dj_timezone.now()
    ids = sorted(set(user_ids))
    changed = 0
    for offset in range(0, len(ids), REFRESH_CHUNK):
        chunk = ids[offset : offset + REFRESH_CHUNK]
        wanted = _desired(chunk, now)
        with transaction.atomic():
            upcoming = Reminder.objects.filter(user_id__in=chunk, occurrence_start__gt=now)
            existing = {
                (user_id, tuple(identity)): pk
                for pk, user_id, *identity in upcoming.filter(done=False).values_list("pk", "user_id", *IDENTITY)
            }
            # An occurrence whose reminder is done keeps its row and gets no other (also by the unique key).
            done = set(
                upcoming.filter(done=True).values_list("user_id", "plan_id", "recurrence_id", "occurrence_start")
            )
            desired = {
                (row.user_id, _identity(row)): row
                for rows in wanted.values()
                for row in rows
                if (row.user_id, row.plan_id, row.recurrence_id, row.occurrence_start) not in done
            }
            stale = [pk for identity, pk in existing.items() if identity not in desired]
            new = [row for identity, row in desired.items() if identity not in existing]
            if stale:
                Reminder.objects.filter(pk__in=stale).delete()
            Reminder.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
            changed += len(stale) + len(new)
    return changed


def refresh_all(*, now: datetime | None = None) -> int:
    """The hourly pass: every person with a calendar, so the horizon moves on and anything a receiver missed is
    put right. Reads occurrences REFRESH_CHUNK people at a time."""
    now = now or dj_timezone.now()
    owners = Calendar.objects.values_list("owner_id", flat=True).distinct().order_by("owner_id")
    return refresh_users(list(owners), now=now)


def purge(*, now: datetime | None = None, keep: timedelta = timedelta(days=2)) -> int:
    """Done rows of occurrences long past are no use (their Notification keys stay unique in the outbox)."""
    now = now or dj_timezone.now()
    deleted, _ = Reminder.objects.filter(occurrence_start__lt=now - keep).delete()
    return deleted


def _context(reminder: Reminder, user: User, lead: int, url: str) -> dict[str, object]:
    profile = getattr(user, "profile", None)
    return {
        "title": reminder.title,
        "start": reminder.occurrence_start.isoformat(),
        "end": reminder.occurrence_end.isoformat(),
        "timezone": getattr(profile, "timezone", "") or settings.TIME_ZONE,
        "location": reminder.plan.location,
        "minutes": lead,
        "url": url,
    }


def tick(*, now: datetime | None = None, batch: int = TICK_BATCH) -> int:
    """Stores the Notification of every reminder due at `now` (remind_at <= now < occurrence start) and queues
    its send on commit; a due row whose occurrence already started is closed without email. Batches commit one
    by one, and rows another tick is handling are skipped (SKIP LOCKED), so ticks may overlap. Returns the number
    of reminders stored."""
    now = now or dj_timezone.now()
    stored = 0
    while True:
        with transaction.atomic():
            rows = list(
                Reminder.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(done=False, remind_at__lte=now)
                .select_related("user__profile", "plan")
                .only(*TICK_FIELDS)
                .order_by("remind_at")[:batch]
            )
            if not rows:
                return stored
            on_time = [row for row in rows if row.occurrence_start > now]
            leads = _lead_minutes({row.user_id for row in on_time})
            url = settings.SITE_URL + reverse("my-weekend")
            requests = [
                services.NotifyRequest(
                    key=key_of(row), user=row.user, context=_context(row, row.user, leads[row.user_id] or 0, url)
                )
                for row in on_time
            ]
            services.notify_many(kind=Kind.REMINDER, requests=requests, now=now)
            Reminder.objects.filter(pk__in=[row.pk for row in rows]).update(done=True)
            stored += len(on_time)
        if len(rows) < batch:
            return stored
