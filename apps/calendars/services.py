"""Writes to calendars, plans and subscriptions: the only place their state changes."""

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import structlog
from django.db import IntegrityError, transaction
from django.db.models.fields import CharField

from apps.calendars import fetch, plan_fields, recurrence, selectors
from apps.calendars.conflicts import Conflict
from apps.calendars.ical import IcsParseError, PlanData, parse_calendar
from apps.calendars.models import Calendar, Plan, PlanOrigin, PlanOverride, Subscription, new_feed_token
from apps.core.http import ProviderError
from apps.core.redaction import redact_text
from apps.core.time import FIRST_YEAR, LAST_YEAR
from apps.events.models import Event, EventStatus
from apps.users import selectors as user_selectors
from apps.users.models import User

logger = structlog.get_logger(__name__)

DEFAULT_CALENDAR_NAME = "My weekend"
UID_DOMAIN = "weekendplanner.app"
MAX_SUBSCRIPTIONS_PER_CALENDAR = 50
MAX_ERROR_LENGTH = 1000


class PlanInputError(ValueError):
    """Input a plan cannot be made from; `field` names what was wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class PlanConflict(Exception):
    """A plan written with reject_conflicts clashes with others: nothing was saved. `conflicts` are the
    clashes it would have caused."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        super().__init__("The plan clashes with others; nothing was saved.")
        self.conflicts = conflicts


# --- Calendars -----------------------------------------------------------------------------------------


@transaction.atomic
def calendar_create(
    *, owner: User, name: str, timezone: str | None = None, color: str | None = None, is_default: bool = False
) -> Calendar:
    if is_default:
        Calendar.objects.filter(owner=owner, is_default=True).update(is_default=False)
    calendar = Calendar(
        owner=owner,
        name=name,
        timezone=timezone or user_selectors.profile_for(user=owner).timezone,
        is_default=is_default or not Calendar.objects.filter(owner=owner).exists(),
    )
    if color:
        calendar.color = color
    calendar.full_clean()
    calendar.save()
    return calendar


def calendar_ensure_default(*, owner: User) -> Calendar:
    """Every person has a default calendar from sign-up on."""
    existing = Calendar.objects.filter(owner=owner, is_default=True).first()
    return existing or calendar_create(owner=owner, name=DEFAULT_CALENDAR_NAME, is_default=True)


@transaction.atomic
def calendar_update(*, calendar: Calendar, data: dict[str, Any]) -> Calendar:
    if data.get("is_default") and not calendar.is_default:
        Calendar.objects.filter(owner=calendar.owner, is_default=True).update(is_default=False)
    elif data.get("is_default") is False and calendar.is_default:
        data = {**data, "is_default": True}  # a person always has one default; choose another to move it
    for name in ("name", "timezone", "color", "is_default"):
        if name in data:
            setattr(calendar, name, data[name])
    calendar.full_clean()
    calendar.save()
    return calendar


@transaction.atomic
def calendar_delete(*, calendar: Calendar) -> None:
    owner, was_default = calendar.owner, calendar.is_default
    calendar.delete()
    if was_default:
        successor = Calendar.objects.filter(owner=owner).order_by("created_at", "pk").first()
        if successor is not None:
            successor.is_default = True
            successor.save(update_fields=["is_default", "updated_at"])


def calendar_feed_regenerate(*, calendar: Calendar) -> Calendar:
    calendar.feed_token = new_feed_token()
    calendar.save(update_fields=["feed_token", "updated_at"])
    return calendar


def calendar_feed_revoke(*, calendar: Calendar) -> Calendar:
    calendar.feed_token = None
    calendar.save(update_fields=["feed_token", "updated_at"])
    return calendar


# --- Plans -------------------------------------------------------------------------------------------------


def new_uid() -> str:
    return f"{uuid.uuid4()}@{UID_DOMAIN}"


def _apply(plan: Plan, data: PlanData) -> Plan:
    """Copies plan data onto the row and derives what is stored for queries (UTC bounds, series end)."""
    zone = ZoneInfo(data.timezone)
    for name, value in plan_fields.shared(data).items():
        setattr(plan, name, value)
    # The rule as it is exported: UNTIL in UTC (or a date when all-day), parts in a fixed order.
    plan.rrule = (
        recurrence.validate_rrule(data.rrule, timezone=data.timezone, all_day=data.all_day) if data.rrule else ""
    )
    if data.all_day:
        assert data.start_date is not None
        assert data.end_date is not None
        plan.start_local = plan.end_local = None
        plan.start_utc = datetime.combine(data.start_date, datetime.min.time(), tzinfo=zone).astimezone(UTC)
        plan.end_utc = datetime.combine(data.end_date, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    else:
        assert data.start_local is not None
        assert data.end_local is not None
        plan.start_date = plan.end_date = None
        plan.start_utc = data.start_local.replace(tzinfo=zone).astimezone(UTC)
        plan.end_utc = data.end_local.replace(tzinfo=zone).astimezone(UTC)
    # The series as written: an occurrence moved by an override does not extend it.
    plan.series_end_utc = recurrence.series_end_utc(dataclasses.replace(data, overrides=[]).series())
    return plan


def _check(data: PlanData) -> None:
    """Refuses, naming the field, what would fail later: when the plan is saved, expanded or exported."""
    if data.all_day:
        if data.start_date is None or data.end_date is None or data.end_date <= data.start_date:
            raise PlanInputError("end", "An all-day plan ends on a later date than it starts (the end is exclusive).")
        bounds = (("start", data.start_date), ("end", data.end_date))
    elif data.start_local is None or data.end_local is None or data.end_local < data.start_local:
        raise PlanInputError("end", "A plan cannot end before it starts.")
    else:
        bounds = (("start", data.start_local), ("end", data.end_local))
    for name, moment in bounds:
        if not FIRST_YEAR <= moment.year <= LAST_YEAR:
            raise PlanInputError(name, f"Plans fall within the years {FIRST_YEAR} to {LAST_YEAR}.")
    if data.rrule:
        try:
            recurrence.validate_rrule(data.rrule)
        except recurrence.RecurrenceError as exc:
            raise PlanInputError("rrule", str(exc)) from exc
    for name, values in (("rdates", data.rdates), ("exdates", data.exdates)):
        try:
            recurrence.validate_dates(
                values,
                timezone=data.timezone,
                all_day=data.all_day,
                periods=name == "rdates",
                first_year=FIRST_YEAR,
                last_year=LAST_YEAR,
            )
        except recurrence.RecurrenceError as exc:
            raise PlanInputError(name, str(exc)) from exc
    try:  # the whole series, its changed occurrences included, as the expansion will read it
        recurrence.series_end_utc(data.series())
    except (recurrence.RecurrenceError, OverflowError) as exc:
        raise PlanInputError("rrule" if data.rrule else "end", f"The series cannot be evaluated: {exc}") from exc


def _refuse_conflicts(plan: Plan) -> None:
    """Raises PlanConflict when the saved plan clashes with its owner's others; the caller's atomic block
    then rolls the save back."""
    found = selectors.conflicts_for_plan(owner=plan.calendar.owner, plan=plan)
    if found:
        raise PlanConflict(found)


@transaction.atomic
def plan_create(
    *,
    calendar: Calendar,
    data: PlanData,
    origin: str = PlanOrigin.MANUAL,
    event: Event | None = None,
    reject_conflicts: bool = False,
) -> Plan:
    """Saves a new plan. Raises PlanInputError naming the field at fault, and with `reject_conflicts`
    PlanConflict when it clashes with the owner's other plans; either way nothing is stored."""
    _check(data)
    plan = _apply(Plan(calendar=calendar, origin=origin, event=event, ical_uid=data.uid or new_uid()), data)
    plan.sequence = data.sequence
    plan.full_clean()
    plan.save()
    if reject_conflicts:
        _refuse_conflicts(plan)
    return plan


def plan_update(
    *, plan: Plan, data: PlanData, calendar: Calendar | None = None, reject_conflicts: bool = False
) -> Plan:
    """Rewrites a plan from `data` (its UID stays), moving it into `calendar` when given. Raises as
    plan_create does; then neither the stored plan nor the `plan` passed in has changed."""
    try:
        with transaction.atomic():
            _check(data)
            if calendar is not None and calendar.pk != plan.calendar_id:
                if calendar.owner_id != plan.calendar.owner_id:
                    raise PlanInputError("calendar", "A plan moves only between its owner's calendars.")
                plan.calendar = calendar
            _apply(plan, data)
            plan.sequence += 1
            plan.attention = ""
            plan.full_clean()
            plan.save()
            if reject_conflicts:
                _refuse_conflicts(plan)
    except Exception:
        plan.refresh_from_db()
        raise
    return plan


def plan_delete(*, plan: Plan) -> None:
    plan.delete()


@transaction.atomic
def occurrence_change(
    *, plan: Plan, recurrence_id: str, cancelled: bool = False, changes: dict[str, Any] | None = None
) -> PlanOverride:
    """Moves, retitles or cancels one occurrence of a series, keyed by its original start."""
    override, _ = PlanOverride.objects.get_or_create(plan=plan, recurrence_id=recurrence_id)
    override.cancelled = cancelled
    for name, value in (changes or {}).items():
        setattr(override, name, value)
    override.save()
    try:  # the series as every later expansion reads it, this change included (an end before its start is not)
        # Read afresh: a plan from a selector carries its overrides prefetched, without this one.
        recurrence.series_end_utc(selectors.plan_data_of(Plan.objects.get(pk=plan.pk)).series())
    except (recurrence.RecurrenceError, OverflowError) as exc:
        field = "end" if {"end_local", "end_date"} & set(changes or {}) else "start"
        raise PlanInputError(field, str(exc)) from exc
    plan.sequence += 1
    plan.save(update_fields=["sequence", "updated_at"])
    return override


# --- From the catalogue ------------------------------------------------------------------------------------


@transaction.atomic
def plan_from_event(*, calendar: Calendar, event: Event) -> Plan:
    """Saves a catalogue event into a calendar; saving it twice gives the same plan."""
    uid = f"event-{event.pk}@{UID_DOMAIN}"
    existing = Plan.objects.filter(calendar=calendar, ical_uid=uid).first()
    if existing is not None:
        return existing
    return plan_create(
        calendar=calendar, data=plan_fields.event_plan_data(event, uid=uid), origin=PlanOrigin.CATALOGUE, event=event
    )


def plans_follow_events(*, event_ids: list[int]) -> int:
    """A later sync moved, re-placed or cancelled events: the plans saved from them follow, and say so."""
    changed = 0
    plans = Plan.objects.filter(event_id__in=event_ids, origin=PlanOrigin.CATALOGUE).select_related("event__venue")
    for plan in plans:
        event = plan.event
        assert event is not None
        data = plan_fields.event_plan_data(event, uid=plan.ical_uid)
        before = (plan.start_utc, plan.end_utc, plan.location, plan.lat, plan.lon, plan.status)
        with transaction.atomic():
            _apply(plan, data)
            after = (plan.start_utc, plan.end_utc, plan.location, plan.lat, plan.lon, plan.status)
            if after == before:
                continue
            plan.sequence += 1
            plan.attention = (
                "The event was cancelled."
                if event.status == EventStatus.CANCELLED
                else "The event's time or place changed."
            )
            plan.save()
            changed += 1
    return changed


# --- Import --------------------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    refused: list[dict[str, str | None]] = field(default_factory=list)
    skipped: int = 0


def _overrides(plan: Plan, data: PlanData) -> None:
    plan.overrides.all().delete()
    PlanOverride.objects.bulk_create(
        [
            PlanOverride(
                plan=plan,
                recurrence_id=o.recurrence_id,
                cancelled=o.cancelled,
                title=o.title or "",
                start_local=o.start_local,
                end_local=o.end_local,
                start_date=o.start_date,
                end_date=o.end_date,
                status=o.status or "",
                this_and_future=o.this_and_future,
            )
            for o in data.overrides
        ]
    )


@transaction.atomic
def plans_import(*, calendar: Calendar, data: bytes | str) -> ImportResult:
    """Imports VEVENTs, keyed by UID so importing again updates. A file that does not parse raises
    ical.IcsParseError and stores nothing; an entry that cannot be used alone is refused, the rest go in."""
    parsed = parse_calendar(data, default_timezone=calendar.timezone)
    result = ImportResult(
        refused=[{"uid": r.uid, "reason": r.reason} for r in parsed.refused], skipped=parsed.skipped_components
    )
    existing = {
        plan.ical_uid: plan
        for plan in Plan.objects.filter(calendar=calendar, ical_uid__in=[i.uid for i in parsed.items])
    }
    for item in parsed.items:
        try:
            _check(item)
        except PlanInputError as exc:
            result.refused.append({"uid": item.uid, "reason": str(exc)})
            continue
        plan = existing.get(item.uid)
        with transaction.atomic():
            if plan is None:
                plan = _apply(Plan(calendar=calendar, origin=PlanOrigin.IMPORTED, ical_uid=item.uid), item)
                plan.sequence = item.sequence
                plan.save()
                result.created += 1
            else:
                _apply(plan, item)
                plan.sequence = max(plan.sequence, item.sequence)
                plan.save()
                result.updated += 1
            _overrides(plan, item)
    return result


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

        # If the broker is down, beat picks the subscription up later (never fetched means due).
        transaction.on_commit(partial(tasks.sync_subscription.delay, subscription.pk), robust=True)
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
