"""Writes to plans: create, update, move one occurrence, save from the catalogue, import iCalendar."""

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from django.db import transaction

from apps.calendars import plan_fields, recurrence, selectors
from apps.calendars.conflicts import Conflict
from apps.calendars.ical import PlanData, parse_calendar
from apps.calendars.models import Calendar, Plan, PlanOrigin, PlanOverride
from apps.core.queries import id_in
from apps.core.time import FIRST_YEAR, LAST_YEAR
from apps.events.models import Event, EventStatus

logger = structlog.get_logger(__name__)

UID_DOMAIN = "weekendplanner.app"


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
    # The series as written; _store_bounds widens these by the occurrences its stored overrides move.
    series = dataclasses.replace(data, overrides=[]).series()
    plan.series_start_utc = recurrence.series_start_utc(series)
    plan.series_end_utc = recurrence.series_end_utc(series)
    return plan


def _store_bounds(plan: Plan) -> None:
    """Stores the series' earliest start and latest end as saved, its override rows included, so a window
    query finds an occurrence moved before the first start or past the last end."""
    series = selectors.series_of(Plan.objects.prefetch_related("overrides").get(pk=plan.pk))
    plan.series_start_utc = recurrence.series_start_utc(series)
    plan.series_end_utc = recurrence.series_end_utc(series)
    Plan.objects.filter(pk=plan.pk).update(series_start_utc=plan.series_start_utc, series_end_utc=plan.series_end_utc)


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
            _store_bounds(plan)
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
    """Moves, retitles or cancels one occurrence of a series, keyed by its original start. What `changes` does
    not name stays as the occurrence is now, also when a THISANDFUTURE override has moved or renamed it."""
    override, created = PlanOverride.objects.get_or_create(plan=plan, recurrence_id=recurrence_id)
    if created:
        changes = {**_as_now(plan, recurrence_id), **(changes or {})}
    override.cancelled = cancelled
    for name, value in (changes or {}).items():
        setattr(override, name, value)
    override.save()
    try:  # the series as every later expansion reads it, this change included (an end before its start is not)
        _store_bounds(plan)
    except (recurrence.RecurrenceError, OverflowError) as exc:
        field = "end" if {"end_local", "end_date"} & set(changes or {}) else "start"
        raise PlanInputError(field, str(exc)) from exc
    plan.sequence += 1
    plan.save(update_fields=["sequence", "updated_at"])
    return override


def _as_now(plan: Plan, recurrence_id: str) -> dict[str, Any]:
    """Override fields that keep an occurrence where a THISANDFUTURE override before it placed it: an empty
    field means "as the series has it", which would undo that move. Nothing when no such override applies."""
    series = selectors.series_of(plan)
    try:
        now = recurrence.occurrence_at(series, recurrence_id)
        as_written = recurrence.occurrence_at(dataclasses.replace(series, overrides={}), recurrence_id)
    except recurrence.RecurrenceError:
        return {}
    kept: dict[str, Any] = {}
    if (now.start_utc, now.end_utc, now.all_day) != (as_written.start_utc, as_written.end_utc, as_written.all_day):
        if now.all_day:
            kept.update(start_date=now.start_date, end_date=now.end_date)
        else:
            assert now.start_local is not None
            assert now.end_local is not None
            kept.update(start_local=now.start_local.replace(tzinfo=None), end_local=now.end_local.replace(tzinfo=None))
    kept.update({name: value for name in ("title", "status") if (value := getattr(now, name))})
    return kept


# --- From the catalogue ------------------------------------------------------------------------------------


@transaction.atomic
def plan_from_event(*, calendar: Calendar, event: Event, visit: tuple[datetime, datetime] | None = None) -> Plan:
    """Saves a catalogue event into a calendar (only the `visit` part of it, when given); saving it twice gives the
    same plan."""
    uid = f"event-{event.pk}@{UID_DOMAIN}"
    existing = Plan.objects.filter(calendar=calendar, ical_uid=uid).first()
    if existing is not None:
        return existing
    data = plan_fields.event_plan_data(event, uid=uid, visit=visit)
    return plan_create(calendar=calendar, data=data, origin=PlanOrigin.CATALOGUE, event=event)


def plans_follow_events(*, event_ids: list[int]) -> int:
    """A later sync moved, re-placed or cancelled events: the plans saved from them follow, and say so."""
    changed = 0
    plans = Plan.objects.filter(id_in("event_id", event_ids), origin=PlanOrigin.CATALOGUE).select_related(
        "event__venue"
    )
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
            _store_bounds(plan)
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
            _store_bounds(plan)
    return result
