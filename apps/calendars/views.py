"""HTML pages of calendars: My weekend (a Saturday/Sunday timeline or a list), the plan form, "Add to my
weekend" from an event page, and the Calendars page (create, ICS upload, private feed). Thin: read the
request, call the selectors and services, shape what the templates show. Every plan and calendar is looked
up through its owner, so another person's is a 404.
"""

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from itertools import pairwise
from typing import Literal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.views.decorators.http import require_http_methods, require_POST

from apps.calendars import selectors, services, subscriptions, tasks
from apps.calendars.conflicts import Conflict
from apps.calendars.forms import SERVICE_FIELDS, CalendarForm, ImportForm, PlanForm, SubscribeForm
from apps.calendars.ical import IcsParseError
from apps.calendars.models import Calendar, Plan, PlanStatus
from apps.calendars.selectors import PlanOccurrence
from apps.core.geo import LatLon, cached_travel_time
from apps.core.time import weekend_window
from apps.events import selectors as event_selectors
from apps.users import selectors as user_selectors
from apps.users.auth import request_user
from apps.users.models import User

TRAVEL_MODE_PHRASES = {"walk": "on foot", "bike": "by bike", "transit": "by public transport", "drive": "by car"}
MAX_REASONS_IN_MESSAGE = 3


# --- Shaping plans into words ----------------------------------------------------------------------------


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


def _zone_name(tz: str) -> str:
    """ "Europe/Berlin" -> "Berlin time"; "UTC" stays "UTC"."""
    if "/" not in tz:
        return tz
    return f"{tz.rsplit('/', 1)[1].replace('_', ' ')} time"


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


def _weekend_days(
    *, owner: User, tz: str, travel_mode: str, start: datetime, end: datetime, calendars: list[Calendar]
) -> tuple[list[Day], int]:
    """Saturday and Sunday, each with its all-day entries on top and timed ones in order, travel legs
    between consecutive places; and how many conflicts the weekend has."""
    zone = zoneinfo.ZoneInfo(tz)
    by_id = {calendar.pk: calendar for calendar in calendars}
    # Cancelled occurrences are left out, except where something outside the person's hands cancelled the
    # plan (its event): those stay, flagged, so the person learns of it here.
    items = [
        item
        for item in selectors.occurrences(calendar_ids=list(by_id), start=start, end=end, include_cancelled=True)
        if item.status != PlanStatus.CANCELLED or item.plan.attention
    ]
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
        other = None
        plan_zone = zoneinfo.ZoneInfo(item.plan.timezone)
        there_start = occurrence.start_utc.astimezone(plan_zone)
        if item.plan.timezone != tz and there_start.utcoffset() != local_start.utcoffset():
            there_end = occurrence.end_utc.astimezone(plan_zone)
            other = f"{_span(there_start, there_end, there_start.date())} {_zone_name(item.plan.timezone)}"
        entry = Entry(item, calendar, target.day, _span(local_start, local_end, target.day), other, list(why))
        target.timed.append(entry)
    for day in days:
        _add_legs(day.timed, travel_mode)
    return days, len(found)


def _add_legs(entries: list[Entry], travel_mode: str) -> None:
    """The travel between consecutive placed plans of a day (not when they overlap: that is its own clash)."""
    for previous, current in pairwise(entries):
        before, after = previous.plan, current.plan
        if before.lat is None or before.lon is None or after.lat is None or after.lon is None:
            continue
        gap = (current.item.occurrence.start_utc - previous.item.occurrence.end_utc).total_seconds()
        if gap < 0:
            continue
        origin, destination = LatLon(before.lat, before.lon), LatLon(after.lat, after.lon)
        if round(origin.lat, 4) == round(destination.lat, 4) and round(origin.lon, 4) == round(destination.lon, 4):
            continue
        try:
            travel = cached_travel_time(origin, destination, travel_mode)
        except ValueError:  # a travel mode geo does not know
            continue
        phrase = TRAVEL_MODE_PHRASES.get(travel_mode, "")
        about = "about " if travel.estimated else ""
        current.leg = f"{about}{_duration(travel.seconds)} {phrase}".strip()
        current.leg_short = travel.seconds > gap


def _conflict_sentence(plan: Plan, found: list[Conflict], tz: str) -> str:
    """ "It overlaps Brunch." / "It overlaps Brunch (Sat 6 Jun); needs 25 min from Museum, 10 min gap." """
    zone = zoneinfo.ZoneInfo(tz)
    recurring = bool(plan.rrule or plan.rdates)
    reasons: list[str] = []
    for conflict in found:
        for side in (conflict.first, conflict.second):
            if side.plan_id != plan.pk:
                continue
            text = side.reason
            if recurring:
                text += f" ({dateformat.format(side.start_utc.astimezone(zone), 'D j M')})"
            if text not in reasons:
                reasons.append(text)
    if not reasons:
        return ""
    shown = "; ".join(reasons[:MAX_REASONS_IN_MESSAGE])
    more = len(reasons) - MAX_REASONS_IN_MESSAGE
    if more > 0:
        shown += f"; and {more} more"
    return f"It {shown}."


def _owned_plan(owner: User, plan_id: int) -> Plan:
    plan = Plan.objects.select_related("calendar").filter(calendar__owner=owner, pk=plan_id).first()
    if plan is None:
        raise Http404("No such plan.")
    return plan


def _feed_url(request: HttpRequest, calendar: Calendar) -> str:
    if not calendar.feed_token:
        return ""
    return request.build_absolute_uri(reverse("calendar-feed", kwargs={"token": calendar.feed_token}))


# --- My weekend ------------------------------------------------------------------------------------------


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
        "calendars": [
            {
                "calendar": calendar,
                "ics_url": reverse("api-calendar-ics", kwargs={"calendar_id": calendar.pk}),
                "feed_url": _feed_url(request, calendar),
            }
            for calendar in calendars
        ],
    }
    return render(request, "calendars/weekend.html", context)


# --- The plan form ---------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def plan_new(request: HttpRequest) -> HttpResponse:
    owner = request_user(request)
    calendars = selectors.calendars_of(owner=owner)
    default = calendars.first() or services.calendar_ensure_default(owner=owner)
    initial = {"calendar": default.pk, "repeat": "none"}
    if request.GET.get("date"):
        initial["date"] = request.GET["date"]
    form = PlanForm(request.POST or None, calendars=selectors.calendars_of(owner=owner), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.plan_create(calendar=form.cleaned_data["calendar"], data=form.plan_data())
        except services.PlanInputError as exc:
            form.add_error(SERVICE_FIELDS.get(exc.field), str(exc))
        else:
            _saved_message(request, owner, plan, "Plan added.")
            return redirect(_weekend_url_for(plan, owner))
    return _plan_form_page(request, form, plan=None)


@login_required
@require_http_methods(["GET", "POST"])
def plan_edit(request: HttpRequest, plan_id: int) -> HttpResponse:
    owner = request_user(request)
    plan = _owned_plan(owner, plan_id)
    form = PlanForm(
        request.POST or None, calendars=selectors.calendars_of(owner=owner), initial=PlanForm.initial_for(plan)
    )
    if request.method == "POST" and form.is_valid():
        try:
            data = form.plan_data(existing=plan)
            calendar = form.cleaned_data["calendar"]
            if calendar.pk != plan.calendar_id:
                plan.calendar = calendar
            plan = services.plan_update(plan=plan, data=data)
        except services.PlanInputError as exc:
            form.add_error(SERVICE_FIELDS.get(exc.field), str(exc))
        else:
            _saved_message(request, owner, plan, "Plan saved.")
            return redirect(_weekend_url_for(plan, owner))
    return _plan_form_page(request, form, plan=plan)


def _plan_form_page(request: HttpRequest, form: PlanForm, *, plan: Plan | None) -> HttpResponse:
    return render(
        request,
        "calendars/plan_form.html",
        {"form": form, "plan": plan},
        status=400 if form.errors else 200,
    )


def _saved_message(request: HttpRequest, owner: User, plan: Plan, done: str) -> None:
    """Saving never blocks on a clash; it says at once what the plan clashes with."""
    tz = user_selectors.profile_for(user=owner).timezone
    clashes = _conflict_sentence(plan, selectors.conflicts_for_plan(owner=owner, plan=plan), tz)
    if clashes:
        messages.warning(request, f"{done} {clashes}")
    else:
        messages.success(request, f"{done} No clashes.")


def _weekend_url_for(plan: Plan, owner: User) -> str:
    """My weekend, on next weekend's page when the plan's first occurrence falls there."""
    url = reverse("my-weekend")
    tz = user_selectors.profile_for(user=owner).timezone
    if plan.start_utc is not None:
        start, end = weekend_window("next", tz, now=timezone.now())
        if start <= plan.start_utc < end:
            return f"{url}?weekend=next"
    return url


@login_required
@require_http_methods(["GET", "POST"])
def plan_remove(request: HttpRequest, plan_id: int) -> HttpResponse:
    """GET asks to confirm (no JavaScript needed); POST removes the plan (the whole series)."""
    owner = request_user(request)
    plan = _owned_plan(owner, plan_id)
    if request.method == "POST":
        title = plan.title
        services.plan_delete(plan=plan)
        messages.success(request, f"Removed “{title}”.")
        return redirect("my-weekend")
    return render(request, "calendars/plan_remove.html", {"plan": plan})


# --- Add to my weekend -----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def weekend_add(request: HttpRequest, event_id: int) -> HttpResponse:
    """Saves a catalogue event into the person's default calendar and says at once whether it clashes.
    Anonymous people log in first and come back to the event page; a GET (after log-in) only goes back."""
    event = event_selectors.event_detail(event_id=event_id)
    if event is None:
        raise Http404("There is no such event.")
    event_url = reverse("event-detail", kwargs={"event_id": event.pk})
    if not isinstance(request.user, User):
        return redirect_to_login(event_url)
    if request.method != "POST":
        return redirect(event_url)
    owner = request_user(request)
    calendar = services.calendar_ensure_default(owner=owner)
    already = selectors.plans_of(calendar=calendar).filter(event=event).exists()
    plan = services.plan_from_event(calendar=calendar, event=event)
    tz = user_selectors.profile_for(user=owner).timezone
    clashes = _conflict_sentence(plan, selectors.conflicts_for_plan(owner=owner, plan=plan), tz)
    done = "Already in your weekend." if already else "Added to your weekend."
    text = f"{done} {clashes}" if clashes else f"{done[:-1]}, no clashes."
    level = messages.WARNING if clashes else messages.SUCCESS
    if getattr(request, "htmx", False):
        return render(
            request,
            "calendars/_add_to_weekend.html",
            {"event": event, "result": text, "result_level": "warning" if clashes else "success", "plan": plan},
        )
    messages.add_message(request, level, text)
    return redirect(event_url)


# --- Calendars -------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET"])
def calendars_page(request: HttpRequest) -> HttpResponse:
    return _calendars_page(request)


def _calendars_page(
    request: HttpRequest,
    *,
    create_form: CalendarForm | None = None,
    import_form: ImportForm | None = None,
    import_result: dict[str, object] | None = None,
    subscribe_form: SubscribeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    owner = request_user(request)
    profile = user_selectors.profile_for(user=owner)
    calendars = list(selectors.calendars_of(owner=owner))
    context = {
        "calendars": [
            {
                "calendar": calendar,
                "plan_count": selectors.plans_of(calendar=calendar).count(),
                "ics_url": reverse("api-calendar-ics", kwargs={"calendar_id": calendar.pk}),
                "feed_url": _feed_url(request, calendar),
            }
            for calendar in calendars
        ],
        "create_form": create_form or CalendarForm(initial={"timezone": profile.timezone, "color": "#1d5fd1"}),
        "import_form": import_form or ImportForm(calendars=selectors.calendars_of(owner=owner)),
        "import_result": import_result,
        "subscribe_form": subscribe_form or SubscribeForm(calendars=selectors.calendars_of(owner=owner)),
        "subscriptions": [
            {"calendar": calendar, "subscription": subscription}
            for calendar in calendars
            for subscription in subscriptions.subscriptions_of(calendar=calendar)
        ],
    }
    return render(request, "calendars/calendars.html", context, status=status)


@login_required
@require_POST
def calendar_new(request: HttpRequest) -> HttpResponse:
    owner = request_user(request)
    form = CalendarForm(request.POST)
    if form.is_valid():
        calendar = services.calendar_create(
            owner=owner,
            name=form.cleaned_data["name"],
            timezone=form.cleaned_data["timezone"],
            color=form.cleaned_data["color"].lower(),
        )
        messages.success(request, f"Calendar “{calendar.name}” created.")
        return redirect("calendars")
    return _calendars_page(request, create_form=form, status=400)


@login_required
@require_POST
def calendar_import(request: HttpRequest) -> HttpResponse:
    owner = request_user(request)
    form = ImportForm(request.POST, request.FILES, calendars=selectors.calendars_of(owner=owner))
    if not form.is_valid():
        return _calendars_page(request, import_form=form, status=400)
    calendar: Calendar = form.cleaned_data["calendar"]
    try:
        result = services.plans_import(calendar=calendar, data=form.cleaned_data["file"].read())
    except IcsParseError as exc:
        form.add_error("file", f"This file could not be read as a calendar: {exc}")
        return _calendars_page(request, import_form=form, status=400)
    summary = {
        "calendar": calendar,
        "created": result.created,
        "updated": result.updated,
        "refused": result.refused,
    }
    return _calendars_page(
        request, import_form=ImportForm(calendars=selectors.calendars_of(owner=owner)), import_result=summary
    )


@login_required
@require_POST
def calendar_feed_regenerate(request: HttpRequest, calendar_id: int) -> HttpResponse:
    calendar = selectors.calendar_of(owner=request_user(request), calendar_id=calendar_id)
    services.calendar_feed_regenerate(calendar=calendar)
    messages.success(request, f"New feed address for “{calendar.name}”. The old one no longer works.")
    return redirect(f"{reverse('calendars')}#calendar-{calendar.pk}")


@login_required
@require_POST
def calendar_subscribe(request: HttpRequest) -> HttpResponse:
    owner = request_user(request)
    form = SubscribeForm(request.POST, calendars=selectors.calendars_of(owner=owner))
    if not form.is_valid():
        return _calendars_page(request, subscribe_form=form, status=400)
    try:
        with transaction.atomic():
            subscription = subscriptions.subscription_create(
                calendar=form.cleaned_data["calendar"], url=form.cleaned_data["url"]
            )
            transaction.on_commit(partial(tasks.sync_subscription.delay, subscription.pk), robust=True)
    except subscriptions.SubscriptionError as exc:
        form.add_error("url", str(exc))
        return _calendars_page(request, subscribe_form=form, status=400)
    messages.success(request, "Subscribed. Its events appear after the first refresh, in a minute or two.")
    return redirect(f"{reverse('calendars')}#subscriptions")


@login_required
@require_POST
def calendar_unsubscribe(request: HttpRequest, calendar_id: int, subscription_id: int) -> HttpResponse:
    subscription = subscriptions.subscription_of(
        owner=request_user(request), calendar_id=calendar_id, subscription_id=subscription_id
    )
    subscriptions.subscription_delete(subscription=subscription)
    messages.success(request, "Unsubscribed. Events already imported stay in the calendar.")
    return redirect(f"{reverse('calendars')}#subscriptions")
