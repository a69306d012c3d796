"""My weekend: the person's Saturday and Sunday as a timeline or a list, in their own zone, with each clash
and the travel between places put in words."""

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Literal

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import dateformat, timezone
from django.views.decorators.http import require_http_methods

from apps.calendars import selectors
from apps.calendars.conflicts import Conflict
from apps.calendars.models import Calendar, Plan
from apps.calendars.selectors import PlanOccurrence
from apps.calendars.views.calendars import calendar_links
from apps.core.panels import PanelPlace, render_personal_lists
from apps.core.time import weekend_window
from apps.events import display
from apps.users import selectors as user_selectors
from apps.users.auth import request_user
from apps.users.models import User

TRAVEL_MODE_PHRASES = {"walk": "on foot", "bike": "by bike", "transit": "by public transport", "drive": "by car"}


@dataclass
class Entry:
    """One occurrence on the weekend page, already in words."""

    item: PlanOccurrence
    calendar: Calendar
    day: date
    time: str  # "10:00–12:00", "All day", "Fri 22:00–01:00"
    other_zone: str | None  # "10:00–12:00 London time" when the plan keeps another zone's clock
    reasons: list[str] = field(default_factory=list)  # "overlaps Brunch", ...
    leg: str | None = None  # the travel from the previous place: "about 25 min by bike"
    leg_short: bool = False  # the gap before this plan is shorter than that travel

    @property
    def plan(self) -> Plan:
        return self.item.plan

    @property
    def title(self) -> str:
        return self.item.title

    @property
    def all_day(self) -> bool:
        return self.item.occurrence.all_day


@dataclass
class Day:
    day: date
    label: str  # "Saturday 6 June"
    all_day: list[Entry]
    timed: list[Entry]

    @property
    def entries(self) -> list[Entry]:
        return [*self.all_day, *self.timed]


def _clock(moment: datetime, day: date) -> str:
    return dateformat.format(moment, "H:i" if moment.date() == day else "D H:i")


def _span(start: datetime, end: datetime, day: date) -> str:
    if end == start:
        return _clock(start, day)
    return f"{_clock(start, day)}–{_clock(end, day)}"


def _duration(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def _conflict_key(item: PlanOccurrence) -> tuple[int, str | None]:
    plan = item.plan
    return plan.pk, item.occurrence.recurrence_id if plan.rrule or plan.rdates else None


def _reasons_by_occurrence(found: list[Conflict]) -> dict[tuple[int | None, str | None], list[str]]:
    reasons: dict[tuple[int | None, str | None], list[str]] = {}
    for conflict in found:
        for side in (conflict.first, conflict.second):
            bucket = reasons.setdefault((side.plan_id, side.recurrence_id), [])
            if side.reason not in bucket:
                bucket.append(side.reason)
    return reasons


def _other_zone(item: PlanOccurrence, local_start: datetime, tz: str) -> str | None:
    """The plan's own clock, when it keeps another zone's that differs from the person's."""
    occurrence, plan_zone = item.occurrence, zoneinfo.ZoneInfo(item.plan.timezone)
    there_start = occurrence.start_utc.astimezone(plan_zone)
    if item.plan.timezone == tz or there_start.utcoffset() == local_start.utcoffset():
        return None
    there_end = occurrence.end_utc.astimezone(plan_zone)
    return f"{_span(there_start, there_end, there_start.date())} {display.zone_name(item.plan.timezone)}"


def _weekend_days(
    *, owner: User, tz: str, travel_mode: str, start: datetime, end: datetime, calendars: list[Calendar]
) -> tuple[list[Day], int]:
    """Saturday and Sunday, each with its all-day entries on top and timed ones in order, travel legs
    between consecutive places; and how many conflicts the weekend has."""
    zone = zoneinfo.ZoneInfo(tz)
    by_id = {calendar.pk: calendar for calendar in calendars}
    items = selectors.weekend_occurrences(calendar_ids=list(by_id), start=start, end=end)
    found = selectors.conflicts_of(owner=owner, start=start, end=end)
    reasons = _reasons_by_occurrence(found)
    saturday = start.astimezone(zone).date()
    days = [Day(day=saturday + timedelta(days=offset), label="", all_day=[], timed=[]) for offset in range(2)]
    for day in days:
        day.label = dateformat.format(day.day, "l j F")
    for item in items:
        occurrence = item.occurrence
        calendar = by_id[item.plan.calendar_id]
        why = reasons.get(_conflict_key(item), [])
        if occurrence.all_day:
            first, last = occurrence.start_date, occurrence.end_date
            for day in days:
                if first is not None and last is not None and first <= day.day < last:
                    day.all_day.append(Entry(item, calendar, day.day, "All day", None, list(why)))
            continue
        local_start, local_end = occurrence.start_utc.astimezone(zone), occurrence.end_utc.astimezone(zone)
        target = days[0] if local_start.date() <= days[0].day else days[1]
        time = _span(local_start, local_end, target.day)
        target.timed.append(Entry(item, calendar, target.day, time, _other_zone(item, local_start, tz), list(why)))
    for day in days:
        _add_legs(day.timed, travel_mode)
    return days, len(found)


def _add_legs(entries: list[Entry], travel_mode: str) -> None:
    """The travel between consecutive placed plans of a day, in words."""
    for previous, current in pairwise(entries):
        travel = selectors.travel_between(before=previous.item, after=current.item, travel_mode=travel_mode)
        if travel is None:
            continue
        gap = (current.item.occurrence.start_utc - previous.item.occurrence.end_utc).total_seconds()
        phrase = TRAVEL_MODE_PHRASES.get(travel_mode, "")
        about = "about " if travel.estimated else ""
        current.leg = f"{about}{_duration(travel.seconds)} {phrase}".strip()
        current.leg_short = travel.seconds > gap


@login_required
@require_http_methods(["GET"])
def my_weekend(request: HttpRequest) -> HttpResponse:
    owner = request_user(request)
    profile = user_selectors.profile_for(user=owner)
    which: Literal["this", "next"] = "next" if request.GET.get("weekend") == "next" else "this"
    view = "list" if request.GET.get("view") == "list" else "timeline"
    start, end = weekend_window(which, profile.timezone, now=timezone.now())
    calendars = list(selectors.calendars_of(owner=owner))
    days, conflict_count = _weekend_days(
        owner=owner,
        tz=profile.timezone,
        travel_mode=profile.travel_mode,
        start=start,
        end=end,
        calendars=calendars,
    )
    saturday, sunday = days[0].day, days[1].day
    context = {
        "which": which,
        "view": view,
        "days": days,
        "entry_count": sum(len(day.entries) for day in days),
        "conflict_count": conflict_count,
        "range_label": f"{dateformat.format(saturday, 'D j')}–{dateformat.format(sunday, 'D j F')}",
        "timezone_name": profile.timezone,
        "calendars": [calendar_links(request, calendar) for calendar in calendars],
        "personal_lists": render_personal_lists(request, PanelPlace(page="weekend", weekend=which)),
    }
    return render(request, "calendars/weekend.html", context)
