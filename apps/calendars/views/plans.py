"""The plan form (new, edit, remove) and "Add to my weekend" from an event page. Saving never blocks on a
clash: the message says at once what the plan clashes with."""

import zoneinfo
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.views.decorators.http import require_http_methods

from apps.calendars import selectors, services
from apps.calendars.forms import SERVICE_FIELDS, PlanForm
from apps.calendars.models import Plan
from apps.core.time import weekend_window
from apps.events import selectors as event_selectors
from apps.users import selectors as user_selectors
from apps.users.auth import request_user
from apps.users.models import User

MAX_REASONS_IN_MESSAGE = 3


def _clashes(owner: User, plan: Plan) -> str:
    """ "It overlaps Brunch." / "It overlaps Brunch (Sat 6 Jun); needs 25 min from Museum, 10 min gap." """
    zone = zoneinfo.ZoneInfo(user_selectors.profile_for(user=owner).timezone)
    recurring = bool(plan.rrule or plan.rdates)
    reasons: list[str] = []
    for conflict in selectors.conflicts_for_plan(owner=owner, plan=plan):
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


def _weekend_url_for(plan: Plan, owner: User) -> str:
    """My weekend, on next weekend's page when the plan's first occurrence falls there."""
    url = reverse("my-weekend")
    tz = user_selectors.profile_for(user=owner).timezone
    if plan.start_utc is not None:
        start, end = weekend_window("next", tz, now=timezone.now())
        if start <= plan.start_utc < end:
            return f"{url}?weekend=next"
    return url


def _plan_form(request: HttpRequest, form: PlanForm, save: Callable[[], Plan], *, done: str) -> HttpResponse:
    """Saves a valid form and goes to My weekend, saying what the plan clashes with; or shows the form again
    with its errors, the services' refusals among them."""
    if request.method == "POST" and form.is_valid():
        try:
            plan = save()
        except services.PlanInputError as exc:
            form.add_error(SERVICE_FIELDS.get(exc.field), str(exc))
        else:
            owner = request_user(request)
            clashes = _clashes(owner, plan)
            if clashes:
                messages.warning(request, f"{done} {clashes}")
            else:
                messages.success(request, f"{done} No clashes.")
            return redirect(_weekend_url_for(plan, owner))
    context = {"form": form, "plan": form.existing}
    return render(request, "calendars/plan_form.html", context, status=400 if form.errors else 200)


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

    def save() -> Plan:
        return services.plan_create(calendar=form.cleaned_data["calendar"], data=form.plan_data())

    return _plan_form(request, form, save, done="Plan added.")


@login_required
@require_http_methods(["GET", "POST"])
def plan_edit(request: HttpRequest, plan_id: int) -> HttpResponse:
    owner = request_user(request)
    plan = selectors.plan_of(owner=owner, plan_id=plan_id)
    form = PlanForm(request.POST or None, calendars=selectors.calendars_of(owner=owner), existing=plan)

    def save() -> Plan:
        data, calendar = form.plan_data(), form.cleaned_data["calendar"]
        return services.plan_update(plan=plan, data=data, calendar=calendar)

    return _plan_form(request, form, save, done="Plan saved.")


@login_required
@require_http_methods(["GET", "POST"])
def plan_remove(request: HttpRequest, plan_id: int) -> HttpResponse:
    """GET asks to confirm (no JavaScript needed); POST removes the plan (the whole series)."""
    plan = selectors.plan_of(owner=request_user(request), plan_id=plan_id)
    if request.method == "POST":
        title = plan.title
        services.plan_delete(plan=plan)
        messages.success(request, f"Removed “{title}”.")
        return redirect("my-weekend")
    return render(request, "calendars/plan_remove.html", {"plan": plan})


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
    already = selectors.is_event_saved(calendar=calendar, event=event)
    plan = services.plan_from_event(calendar=calendar, event=event)
    clashes = _clashes(owner, plan)
    done = "Already in your weekend." if already else "Added to your weekend."
    text = f"{done} {clashes}" if clashes else f"{done[:-1]}, no clashes."
    level = "warning" if clashes else "success"
    if getattr(request, "htmx", False):
        context = {"event": event, "result": text, "result_level": level, "plan": plan}
        return render(request, "calendars/_add_to_weekend.html", context)
    messages.add_message(request, messages.WARNING if clashes else messages.SUCCESS, text)
    return redirect(event_url)
