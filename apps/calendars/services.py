"""Writes to calendars and plans: the only place their state changes."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction

from apps.calendars import recurrence, selectors
from apps.calendars.ical import PlanData, parse_calendar
from apps.calendars.models import Calendar, Plan, PlanOrigin, PlanOverride, PlanStatus, new_feed_token
from apps.core.time import FIRST_YEAR, LAST_YEAR
from apps.events.models import Event, EventStatus
from apps.users import selectors as user_selectors
from apps.users.models import User

DEFAULT_CALENDAR_NAME = "My weekend"
UID_DOMAIN = "weekendplanner.app"


class PlanInputError(ValueError):
    """Input a plan cannot be made from; `field` names what was wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


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


def _series(data: PlanData) -> recurrence.Series:
    return recurrence.Series(
        timezone=data.timezone,
        all_day=data.all_day,
        start_local=data.start_local,
        end_local=data.end_local,
        start_date=data.start_date,
        end_date=data.end_date,
        rrule=data.rrule,
        rdates=tuple(data.rdates),
        exdates=tuple(data.exdates),
        overrides={},
    )


def _apply(plan: Plan, data: PlanData) -> Plan:
    """Copies plan data onto the row and derives what is stored for queries (UTC bounds, series end)."""
    zone = ZoneInfo(data.timezone)
    plan.title, plan.notes, plan.timezone, plan.all_day = data.title, data.notes, data.timezone, data.all_day
    # The rule as it is exported: UNTIL in UTC (or a date when all-day), parts in a fixed order.
    plan.rrule = (
        recurrence.validate_rrule(data.rrule, timezone=data.timezone, all_day=data.all_day) if data.rrule else ""
    )
    plan.rdates, plan.exdates = list(data.rdates), list(data.exdates)
    plan.location, plan.lat, plan.lon, plan.status = data.location, data.lat, data.lon, data.status
    if data.all_day:
        assert data.start_date is not None
        assert data.end_date is not None
        plan.start_date, plan.end_date = data.start_date, data.end_date
        plan.start_local = plan.end_local = None
        plan.start_utc = datetime.combine(data.start_date, datetime.min.time(), tzinfo=zone).astimezone(UTC)
        plan.end_utc = datetime.combine(data.end_date, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    else:
        assert data.start_local is not None
        assert data.end_local is not None
        plan.start_local, plan.end_local = data.start_local, data.end_local
        plan.start_date = plan.end_date = None
        plan.start_utc = data.start_local.replace(tzinfo=zone).astimezone(UTC)
        plan.end_utc = data.end_local.replace(tzinfo=zone).astimezone(UTC)
    plan.series_end_utc = recurrence.series_end_utc(_series(data))
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


@transaction.atomic
def plan_create(
    *, calendar: Calendar, data: PlanData, origin: str = PlanOrigin.MANUAL, event: Event | None = None
) -> Plan:
    _check(data)
    plan = _apply(Plan(calendar=calendar, origin=origin, event=event, ical_uid=data.uid or new_uid()), data)
    plan.sequence = data.sequence
    plan.full_clean()
    plan.save()
    return plan


@transaction.atomic
def plan_update(*, plan: Plan, data: PlanData) -> Plan:
    _check(data)
    _apply(plan, data)
    plan.sequence += 1
    plan.attention = ""
    plan.full_clean()
    plan.save()
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


def _event_plan_data(event: Event, *, uid: str) -> PlanData:
    zone = ZoneInfo(event.timezone)
    start = event.start_utc.astimezone(zone).replace(tzinfo=None)
    end_utc = event.end_utc or event.start_utc + timedelta(hours=2)
    end = end_utc.astimezone(zone).replace(tzinfo=None)
    venue = event.venue
    return PlanData(
        uid=uid,
        title=event.title,
        notes=event.url,
        timezone=event.timezone,
        all_day=False,
        start_local=start,
        end_local=end,
        location=", ".join(part for part in (venue.name, venue.address) if part) if venue else "",
        lat=event.lat,
        lon=event.lon,
        status=PlanStatus.CANCELLED if event.status == EventStatus.CANCELLED else PlanStatus.CONFIRMED,
    )


@transaction.atomic
def plan_from_event(*, calendar: Calendar, event: Event) -> Plan:
    """Saves a catalogue event into a calendar; saving it twice gives the same plan."""
    uid = f"event-{event.pk}@{UID_DOMAIN}"
    existing = Plan.objects.filter(calendar=calendar, ical_uid=uid).first()
    if existing is not None:
        return existing
    return plan_create(
        calendar=calendar, data=_event_plan_data(event, uid=uid), origin=PlanOrigin.CATALOGUE, event=event
    )


def plans_follow_events(*, event_ids: list[int]) -> int:
    """A later sync moved, re-placed or cancelled events: the plans saved from them follow, and say so."""
    changed = 0
    plans = Plan.objects.filter(event_id__in=event_ids, origin=PlanOrigin.CATALOGUE).select_related("event__venue")
    for plan in plans:
        event = plan.event
        assert event is not None
        data = _event_plan_data(event, uid=plan.ical_uid)
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
