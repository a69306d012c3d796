"""Reads of calendars and plans, always through their owner: another person's data is never found."""

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404

from apps.calendars import conflicts, plan_fields, recurrence, series_cache, window_slots
from apps.calendars.ical import OverrideData, PlanData, render_calendar
from apps.calendars.models import Calendar, Plan, PlanOverride, PlanStatus, Subscription
from apps.core import geo, queries
from apps.events.models import Event
from apps.users import selectors as user_selectors
from apps.users.models import User

# How far ahead a new or moved plan is checked against the others (a weekly series runs on for a year).
CONFLICT_HORIZON = timedelta(days=365)
NEIGHBOURHOOD = timedelta(days=1)
NO_SUCH_CALENDAR = "No such calendar."


def calendars_of(*, owner: User) -> QuerySet[Calendar]:
    return Calendar.objects.filter(owner=owner).order_by("-is_default", "name", "pk")


def calendar_of(*, owner: User, calendar_id: int) -> Calendar:
    calendar = Calendar.objects.filter(owner=owner, pk=calendar_id).first()
    if calendar is None:
        raise Http404(NO_SUCH_CALENDAR)
    return calendar


def calendar_timezone_of(*, owner: User, calendar_id: int) -> str:
    """The time zone of the person's calendar, or a 404: all a window of its occurrences needs of it. Asked by every
    read of a whole window (a page reads it with its plans: occurrence_pages.first_batch), so on PostgreSQL the SQL
    is compiled once (apps.core.queries.compiled)."""
    if connection.vendor != "postgresql":
        found = list(_calendar_timezone_query(owner.pk, calendar_id))
    else:
        found = queries.rows(_compiled_calendar_timezone(), {"owner": owner.pk, "calendar": calendar_id})
    if not found:
        raise Http404(NO_SUCH_CALENDAR)
    return str(found[0][0])


def _calendar_timezone_query(owner_id: int, calendar_id: int) -> QuerySet[Calendar, tuple[Any, ...]]:
    return Calendar.objects.filter(owner_id=owner_id, pk=calendar_id).values_list("timezone")[:1]


@cache
def _compiled_calendar_timezone() -> tuple[str, tuple[str, ...]]:
    return queries.compiled(
        _calendar_timezone_query(-4_000_001, -4_000_002), {-4_000_001: "owner", -4_000_002: "calendar"}
    )


def calendar_by_feed_token(*, token: str) -> Calendar | None:
    return Calendar.objects.filter(feed_token=token).first() if token else None


def subscriptions_of(*, calendar: Calendar) -> QuerySet[Subscription]:
    return Subscription.objects.filter(calendar=calendar).order_by("created_at", "pk")


def calendars_with_plan_counts(*, owner: User) -> QuerySet[Calendar]:
    """calendars_of, each with `plan_count`: one query, whatever the number of calendars."""
    return calendars_of(owner=owner).annotate(plan_count=Count("plans"))


def subscriptions_of_owner(*, owner: User) -> QuerySet[Subscription]:
    """Every subscription of the person's calendars, with its calendar: one query."""
    return (
        Subscription.objects.filter(calendar__owner=owner)
        .select_related("calendar")
        .order_by("-calendar__is_default", "calendar__name", "calendar_id", "created_at", "pk")
    )


def subscription_of(*, owner: User, calendar_id: int, subscription_id: int) -> Subscription:
    subscription = Subscription.objects.filter(
        calendar__owner=owner, calendar_id=calendar_id, pk=subscription_id
    ).first()
    if subscription is None:
        raise Http404("No such subscription.")
    return subscription


def subscriptions_due(*, now: datetime | None = None) -> list[int]:
    """Subscriptions never fetched, or whose interval has passed since the last attempt.

    One condition per distinct interval (there are few), so the query is the same on PostgreSQL and SQLite.
    """
    now = now or datetime.now(UTC)
    due = Q(last_fetched_at__isnull=True)
    for minutes in Subscription.objects.values_list("interval_minutes", flat=True).distinct().order_by():
        due |= Q(interval_minutes=minutes, last_fetched_at__lte=now - timedelta(minutes=minutes))
    return list(Subscription.objects.filter(due).order_by("last_fetched_at", "pk").values_list("pk", flat=True))


def plans_of(*, calendar: Calendar) -> QuerySet[Plan]:
    return calendar.plans.prefetch_related("overrides").order_by("start_utc", "pk")


def plan_of(*, owner: User, plan_id: int, calendar_id: int | None = None) -> Plan:
    """The owner's plan, in that calendar when one is named (the API's paths name both)."""
    plans = Plan.objects.select_related("calendar").filter(calendar__owner=owner, pk=plan_id)
    plan = (plans if calendar_id is None else plans.filter(calendar_id=calendar_id)).first()
    if plan is None:
        raise Http404("No such plan.")
    return plan


def is_event_saved(*, calendar: Calendar, event: Event) -> bool:
    return calendar.plans.filter(event=event).exists()


def saved_event_ids(*, owner: User) -> set[int]:
    """The catalogue events on any of the person's calendars."""
    return set(
        Plan.objects.filter(calendar__owner=owner, event__isnull=False).values_list("event_id", flat=True).distinct()
    )


def plans_in_window(*, calendar_ids: list[int], start: datetime, end: datetime) -> QuerySet[Plan]:
    """Plans whose series may have an occurrence in [start, end) (window_slots.reaching), with their overrides."""
    return window_slots.reaching(Plan.objects.filter(calendar_id__in=calendar_ids), start, end).prefetch_related(
        Prefetch("overrides", queryset=PlanOverride.objects.order_by("recurrence_id"))
    )


def series_of(plan: Plan) -> recurrence.Series:
    """The plan's recurrence, as the expansion reads it (the same mapping as the ICS export's), compiled once
    per content and kept (series_cache): most requests read series that earlier ones compiled."""
    overrides = [] if plan.pk is None else [series_cache.override_row(o) for o in plan.overrides.all()]
    overrides.sort(key=itemgetter(0))  # the same overrides in any order are the same series
    return series_cache.series(
        timezone=plan.timezone,
        all_day=plan.all_day,
        start_local=plan.start_local,
        end_local=plan.end_local,
        start_date=plan.start_date,
        end_date=plan.end_date,
        rrule=plan.rrule,
        rdates=plan.rdates,
        exdates=plan.exdates,
        overrides=overrides,
    )


@dataclass(frozen=True)
class PlanOccurrence:
    plan: Plan
    occurrence: recurrence.Occurrence

    @property
    def status(self) -> str:
        if self.occurrence.cancelled:
            return PlanStatus.CANCELLED
        return self.occurrence.status or self.plan.status

    @property
    def title(self) -> str:
        return self.occurrence.title or self.plan.title


def occurrences(
    *, calendar_ids: list[int], start: datetime, end: datetime, include_cancelled: bool = False
) -> list[PlanOccurrence]:
    found = []
    for plan in plans_in_window(calendar_ids=calendar_ids, start=start, end=end):
        for occurrence in recurrence.expand(series_of(plan), start, end):
            item = PlanOccurrence(plan=plan, occurrence=occurrence)
            if include_cancelled or item.status != PlanStatus.CANCELLED:
                found.append(item)
    found.sort(key=lambda item: (item.occurrence.start_utc, item.plan.pk))
    return found


def weekend_occurrences(*, calendar_ids: list[int], start: datetime, end: datetime) -> list[PlanOccurrence]:
    """What My weekend shows: the occurrences that are not cancelled, and those whose plan something outside
    the person's hands cancelled (its event), so that they learn of it there."""
    items = occurrences(calendar_ids=calendar_ids, start=start, end=end, include_cancelled=True)
    return [item for item in items if item.status != PlanStatus.CANCELLED or item.plan.attention]


def travel_between(*, before: PlanOccurrence, after: PlanOccurrence, travel_mode: str) -> geo.TravelTime | None:
    """The travel from one placed occurrence to the next, when they do not overlap and are in different
    places; None when there is nothing to travel (or the travel mode is unknown)."""
    first, then = before.plan, after.plan
    if first.lat is None or first.lon is None or then.lat is None or then.lon is None:
        return None
    if after.occurrence.start_utc < before.occurrence.end_utc:  # an overlap is its own clash
        return None
    origin, destination = geo.LatLon(first.lat, first.lon), geo.LatLon(then.lat, then.lon)
    if round(origin.lat, 4) == round(destination.lat, 4) and round(origin.lon, 4) == round(destination.lon, 4):
        return None
    try:
        return geo.cached_travel_time(origin, destination, travel_mode)
    except ValueError:  # a travel mode geo does not know
        return None


def _slots(items: list[PlanOccurrence]) -> list[conflicts.Slot]:
    return [
        conflicts.Slot(
            plan_id=item.plan.pk,
            recurrence_id=item.occurrence.recurrence_id if item.plan.rrule or item.plan.rdates else None,
            title=item.title,
            start_utc=item.occurrence.start_utc,
            end_utc=item.occurrence.end_utc,
            lat=item.plan.lat,
            lon=item.plan.lon,
            all_day=item.occurrence.all_day,
            calendar_id=item.plan.calendar_id,
        )
        for item in items
    ]


def conflicts_of(*, owner: User, start: datetime, end: datetime) -> list[conflicts.Conflict]:
    """Every conflict among the person's occurrences in the window, across all their calendars."""
    slots = window_slots.slots_in_window(owner=owner, start=start, end=end)
    mode = user_selectors.profile_for(user=owner).travel_mode
    return conflicts.find_conflicts(slots, travel_minutes=conflicts.travel_minutes_for(mode))


def conflicts_for_plan(*, owner: User, plan: Plan, horizon_end: datetime | None = None) -> list[conflicts.Conflict]:
    """The conflicts a (saved, unsaved or moved) plan causes with the person's other plans.

    Only the days around the plan's own occurrences are read: a day on either side covers the plan one
    comes from (travel) and anything running across midnight.
    """
    first = plan.start_utc or datetime.now(UTC)
    end = horizon_end or max(first, datetime.now(UTC)) + CONFLICT_HORIZON
    own = [
        PlanOccurrence(plan=plan, occurrence=o)
        for o in recurrence.expand(series_of(plan), first - NEIGHBOURHOOD, end)
        if not o.cancelled
    ]
    if not own:
        return []
    window_start = min(item.occurrence.start_utc for item in own) - NEIGHBOURHOOD
    window_end = max(item.occurrence.end_utc for item in own) + NEIGHBOURHOOD
    others = window_slots.slots_in_window(owner=owner, start=window_start, end=window_end, exclude_plan_id=plan.pk)
    mode = user_selectors.profile_for(user=owner).travel_mode
    return conflicts.conflicts_for_candidate(_slots(own), others, travel_minutes=conflicts.travel_minutes_for(mode))


Conflict = conflicts.Conflict  # what the conflict reads give, named for the apps that read them


def conflicts_of_many(*, owners: list[User], start: datetime, end: datetime) -> dict[int, list[conflicts.Conflict]]:
    """conflicts_of for several people at once (the weekly digest's batch): the same conflicts per person, from
    two queries for everyone."""
    slots = window_slots.slots_in_window_of(owner_ids=[owner.pk for owner in owners], start=start, end=end)
    return {
        owner.pk: conflicts.find_conflicts(
            slots[owner.pk],
            travel_minutes=conflicts.travel_minutes_for(user_selectors.profile_for(user=owner).travel_mode),
        )
        for owner in owners
    }


def saved_event_ids_of(*, owner_ids: list[int]) -> dict[int, set[int]]:
    """saved_event_ids for several people in one query."""
    found: dict[int, set[int]] = {pk: set() for pk in owner_ids}
    rows = Plan.objects.filter(calendar__owner_id__in=owner_ids, event__isnull=False)
    for owner_id, event_id in rows.values_list("calendar__owner_id", "event_id").distinct():
        found[owner_id].add(event_id)
    return found


def freebusy_of(*, owner_ids: list[int], start: datetime, end: datetime) -> dict[int, list[tuple[datetime, datetime]]]:
    """freebusy for several people at once: their occurrences read together (two queries), merged per person."""
    owner_of = dict(Calendar.objects.filter(owner_id__in=owner_ids).values_list("pk", "owner_id"))
    items: dict[int, list[PlanOccurrence]] = {pk: [] for pk in owner_ids}
    for item in occurrences(calendar_ids=list(owner_of), start=start, end=end):
        items[owner_of[item.plan.calendar_id]].append(item)
    return {pk: _merged_busy(found, start, end) for pk, found in items.items()}


def weekend_occurrences_of(*, owner_ids: list[int], start: datetime, end: datetime) -> dict[int, list[PlanOccurrence]]:
    """weekend_occurrences of each person's calendars, for several people in two queries."""
    owner_of = dict(Calendar.objects.filter(owner_id__in=owner_ids).values_list("pk", "owner_id"))
    found: dict[int, list[PlanOccurrence]] = {pk: [] for pk in owner_ids}
    for item in weekend_occurrences(calendar_ids=list(owner_of), start=start, end=end):
        found[owner_of[item.plan.calendar_id]].append(item)
    return found


def freebusy_from(items: list[PlanOccurrence], start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """freebusy from a person's occurrences already read (weekend_occurrences' hold cancelled ones: free)."""
    return _merged_busy([item for item in items if item.status != PlanStatus.CANCELLED], start, end)


def freebusy(*, owner: User, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Busy intervals merged across all the person's calendars (cancelled occurrences are free)."""
    calendar_ids = list(calendars_of(owner=owner).values_list("pk", flat=True))
    return _merged_busy(occurrences(calendar_ids=calendar_ids, start=start, end=end), start, end)


def _merged_busy(items: list[PlanOccurrence], start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    spans = sorted((max(item.occurrence.start_utc, start), min(item.occurrence.end_utc, end)) for item in items)
    merged: list[tuple[datetime, datetime]] = []
    for begin, finish in spans:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    return merged


def _recurrence_start_utc(plan: Plan, recurrence_id: str) -> datetime | None:
    zone = ZoneInfo(plan.timezone)
    try:
        if plan.all_day:
            return datetime.combine(date.fromisoformat(recurrence_id[:10]), time.min, tzinfo=zone).astimezone(UTC)
        return datetime.fromisoformat(recurrence_id).replace(tzinfo=zone).astimezone(UTC)
    except ValueError:
        return None


def is_occurrence_of(*, plan: Plan, recurrence_id: str) -> bool:
    """Whether the series (as written, before any override moved it) has an occurrence with that id."""
    moment = _recurrence_start_utc(plan, recurrence_id)
    if moment is None:
        return False
    series = dataclasses.replace(series_of(plan), overrides={})
    window = recurrence.expand(series, moment - timedelta(days=1), moment + timedelta(days=2))
    return any(o.recurrence_id == recurrence_id for o in window)


def is_cancelled_occurrence(*, plan: Plan, recurrence_id: str) -> bool:
    """Whether that occurrence was cancelled (deleted through the API): it is gone, as far as the API is concerned."""
    return plan.overrides.filter(recurrence_id=recurrence_id, cancelled=True).exists()


def occurrence_changes(*, plan: Plan, validated: dict[str, Any]) -> dict[str, Any]:
    """An occurrence PATCH as override fields: times in the plan's own wall clock (or dates when all-day)."""
    zone = ZoneInfo(plan.timezone)
    changes: dict[str, Any] = {}
    for name in ("start", "end"):
        if name in validated:
            local = validated[name].astimezone(zone)
            if plan.all_day:
                changes[f"{name}_date"] = local.date()
            else:
                changes[f"{name}_local"] = local.replace(tzinfo=None)
    if "title" in validated:
        changes["title"] = validated["title"]
    if "status" in validated:
        changes["status"] = validated["status"]
    return changes


def plan_data_of(plan: Plan) -> PlanData:
    return PlanData(
        uid=plan.ical_uid,
        **plan_fields.shared(plan),
        sequence=plan.sequence,
        updated_at=plan.updated_at,  # DTSTAMP, so an unchanged feed keeps its ETag
        overrides=[]
        if plan.pk is None  # a plan not saved yet (a candidate) has no overrides
        else [
            OverrideData(
                recurrence_id=o.recurrence_id,
                cancelled=o.cancelled,
                title=o.title or None,
                start_local=o.start_local,
                end_local=o.end_local,
                start_date=o.start_date,
                end_date=o.end_date,
                status=o.status or None,
                this_and_future=o.this_and_future,
            )
            for o in plan.overrides.all()
        ],
    )


def calendar_ics(*, calendar: Calendar) -> bytes:
    plans = [plan_data_of(plan) for plan in plans_of(calendar=calendar)]
    return render_calendar(name=calendar.name, timezone=calendar.timezone, plans=plans)
