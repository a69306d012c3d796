"""The weekly digest "Your weekend": on Thursday from 18:00 in each person's zone, their own plans for the coming
Saturday and Sunday, the clashes among them to fix, and a few recommendations with their reasons.

Beat runs `dispatch` every few minutes. It finds the zones where it is now Thursday 18:00 or later (or Friday: a
tick missed for a while still sends before the weekend), and in each the people who want the digest, whose address
has not bounced and who have no digest for that weekend yet (key `digest:<user id>:<saturday>`), and hands them
to `send_batch` tasks in batches of one zone. A batch builds each person's context and stores them all through
`services.notify_many`; the outbox's key makes a second tick, or a batch run twice, send nothing more.

Recommendations are served with `track=False`: an email someone may never open is not an impression, and counting
it would skew the experiments' click-through (the click from the email lands on the event page, which counts).
The catalogue the rankers read is one in-memory copy per worker process, shared by every person of every batch.
"""

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone as dj_timezone

from apps.calendars import selectors as calendar_selectors
from apps.calendars.selectors import PlanOccurrence
from apps.core.time import local_midnight_utc
from apps.notifications import selectors, services
from apps.notifications.models import Kind, Notification
from apps.recommendations import services as recommendation_services
from apps.users.models import User

logger = structlog.get_logger(__name__)

THURSDAY, FRIDAY, SATURDAY = 3, 4, 5
DIGEST_HOUR = 18
BATCH_SIZE = 200
RECOMMENDATIONS = 5
HANDED_MEMORY_SECONDS = 3600
HANDED_KEY_SECONDS = 3 * 24 * 3600  # the marks outlive the weekend's digests, then go


def digest_saturday(tz: str, now: datetime) -> date | None:
    """The Saturday whose digest is due in zone `tz` at `now` (Thursday from 18:00 until Friday ends); else None,
    also for a zone this machine does not know (a profile saved around validation must not stop everyone's tick)."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("digest_unknown_timezone", timezone=tz)
        return None
    local = now.astimezone(zone)
    weekday = local.weekday()
    if (weekday == THURSDAY and local.hour >= DIGEST_HOUR) or weekday == FRIDAY:
        return local.date() + timedelta(days=SATURDAY - weekday)
    return None


def digest_key(user_id: int, saturday: date) -> str:
    return f"digest:{user_id}:{saturday.isoformat()}"


@dataclass(frozen=True)
class Batch:
    timezone: str
    saturday: date
    user_ids: list[int]


def due_batches(*, now: datetime, batch_size: int = BATCH_SIZE, resume: bool = False) -> Iterator[Batch]:
    """Every batch of people whose digest is due at `now` and not stored yet, one zone per batch. With `resume`,
    a zone starts after the last person a recent tick already handed over (see `dispatch`)."""
    for tz in selectors.digest_timezones():
        saturday = digest_saturday(tz, now)
        if saturday is None:
            continue
        after = _handed_until(tz, saturday, now) if resume else 0
        while True:
            ids = selectors.digest_recipients(timezone=tz, saturday=saturday, after_id=after, limit=batch_size)
            if not ids:
                break
            yield Batch(tz, saturday, ids)
            after = ids[-1]


def _handed_key(tz: str, saturday: date) -> str:
    return f"notifications:digest-handed:{tz}:{saturday.isoformat()}"


def _handed_until(tz: str, saturday: date, now: datetime) -> int:
    """The last person a tick handed over in the zone less than HANDED_MEMORY_SECONDS before `now` (0: none). The
    moment is kept in the value, not left to the cache's expiry, so it follows the `now` the tick is given."""
    remembered = cache.get(_handed_key(tz, saturday))
    if not remembered:
        return 0
    last_id, handed_at = remembered
    return int(last_id) if now.timestamp() - float(handed_at) < HANDED_MEMORY_SECONDS else 0


def dispatch(*, now: datetime | None = None, publish: Callable[[list[int], str], bool]) -> int:
    """Hands each due batch to `publish(user_ids, saturday ISO)` (the task's enqueue); the number of people.

    Batches still waiting in the queue have no digest yet, so the next tick would find their people again and
    build everything twice (no second email: the key; but twice the work, when the queue is longest). The tick
    therefore remembers, per zone and weekend, the last person it handed over, and the next ticks start after
    them; after HANDED_MEMORY_SECONDS without handing anyone over in that zone, a tick looks at everyone still
    without a digest again (a batch that failed, someone who moved into the zone)."""
    now = now or dj_timezone.now()
    handed = 0
    for batch in due_batches(now=now, resume=True):
        if not publish(batch.user_ids, batch.saturday.isoformat()):
            break  # the broker is away: the next tick starts again from here
        handed += len(batch.user_ids)
        remembered = (batch.user_ids[-1], now.timestamp())
        cache.set(_handed_key(batch.timezone, batch.saturday), remembered, timeout=HANDED_KEY_SECONDS)
    logger.info("digest_dispatched", people=handed)
    return handed


def send_batch(*, user_ids: list[int], saturday: date, now: datetime | None = None) -> int:
    """Stores (and so queues) the digest of each person of the batch who has none for `saturday` yet; the number
    stored. A person whose digest cannot be built is logged and left for the next tick."""
    now = now or dj_timezone.now()
    keys = {digest_key(pk, saturday): pk for pk in user_ids}
    done = set(Notification.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))
    people = list(
        User.objects.filter(pk__in=[pk for key, pk in keys.items() if key not in done])
        .select_related("profile")
        .order_by("pk")
    )
    requests = [
        services.NotifyRequest(key=digest_key(user.pk, saturday), user=user, context=context)
        for user, context in _contexts(people, saturday, now)
    ]
    # The whole batch's rows in a few statements, their sends published as fan-out messages after commit.
    services.notify_many(kind=Kind.DIGEST, requests=requests, now=now)
    return len(requests)


def _contexts(people: list[User], saturday: date, now: datetime) -> Iterator[tuple[User, dict[str, Any]]]:
    """Each person's digest context, the batch's reads shared: per zone, everyone's weekend plans, clashes and
    recommendations in a few queries (the same as digest_context gives each alone). Should the shared path
    fail, each person is built alone, so that one person's broken data holds back nobody else's digest."""
    by_zone: dict[str, list[User]] = defaultdict(list)
    for user in people:
        by_zone[user.profile.timezone].append(user)
    for tz, users in by_zone.items():
        try:
            built = _zone_contexts(users, saturday, tz, now)
        except Exception:
            logger.exception("digest_batch_failed", timezone=tz, saturday=saturday.isoformat(), people=len(users))
            built = None
        for user in users:
            if built is not None:
                yield user, built[user.pk]
                continue
            try:
                yield user, digest_context(user=user, saturday=saturday, now=now)
            except Exception:  # one person's broken data must not hold back everyone else's digest
                logger.exception("digest_failed", user_id=user.pk, saturday=saturday.isoformat())


def _zone_contexts(users: list[User], saturday: date, tz: str, now: datetime) -> dict[int, dict[str, Any]]:
    start, end = _window(saturday, tz)
    plans = calendar_selectors.weekend_occurrences_of(owner_ids=[user.pk for user in users], start=start, end=end)
    clashes = calendar_selectors.conflicts_of_many(owners=users, start=start, end=end)
    busy = {pk: calendar_selectors.freebusy_from(items, start, end) for pk, items in plans.items()}
    served = recommendation_services.recommendations_serve_many(
        users=users, start=start, end=end, tz=tz, limit=RECOMMENDATIONS, now=now, busy=busy
    )
    return {user.pk: _context(saturday, tz, plans[user.pk], clashes[user.pk], served[user.pk]) for user in users}


def _window(saturday: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    return local_midnight_utc(saturday, zone), local_midnight_utc(saturday + timedelta(days=2), zone)


def _iso(value: datetime) -> str:
    return value.astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z")


def digest_context(
    *, user: User, saturday: date, now: datetime, occurrences: list[PlanOccurrence] | None = None
) -> dict[str, Any]:
    """Everything the email shows, as JSON: the person's own plans and clashes for the weekend, and the
    recommendations with their reasons. Nothing of anyone else. `occurrences`: the person's weekend, when the
    batch read it already."""
    tz = user.profile.timezone
    start, end = _window(saturday, tz)
    if occurrences is None:
        calendar_ids = list(calendar_selectors.calendars_of(owner=user).values_list("pk", flat=True))
        occurrences = calendar_selectors.weekend_occurrences(calendar_ids=calendar_ids, start=start, end=end)
    clashes = calendar_selectors.conflicts_of(owner=user, start=start, end=end)
    served = recommendation_services.recommendations_serve(
        user=user, start=start, end=end, tz=tz, limit=RECOMMENDATIONS, track=False, now=now
    )
    return _context(saturday, tz, occurrences, clashes, served)


def _context(
    saturday: date,
    tz: str,
    occurrences: list[PlanOccurrence],
    clashes: list[calendar_selectors.Conflict],
    served: recommendation_services.RecommendationList,
) -> dict[str, Any]:
    plans = [
        {
            "title": item.title,
            "start": _iso(item.occurrence.start_utc),
            "end": _iso(item.occurrence.end_utc),
            "all_day": item.occurrence.all_day,
            "location": item.plan.location,
            "cancelled": item.status == "cancelled",
        }
        for item in occurrences
    ]
    clash_items = [
        {"first": clash.first.title, "second": clash.second.title, "reason": clash.second.reason, "kind": clash.kind}
        for clash in clashes
    ]
    recommendations = [
        {
            "title": item.event.title,
            "start": _iso(item.event.start_utc),
            "all_day": item.event.all_day,
            "venue": item.event.venue.name if item.event.venue else "",
            "url": settings.SITE_URL + reverse("event-detail", kwargs={"event_id": item.event.pk}),
            "reasons": list(item.reasons),
        }
        for item in served.results
    ]
    return {
        "saturday": saturday.isoformat(),
        "timezone": tz,
        "plans": plans,
        "clashes": clash_items,
        "recommendations": recommendations,
        "weekend_url": settings.SITE_URL + reverse("my-weekend"),
        "plan_url": settings.SITE_URL + reverse("plan-my-weekend"),
    }
