"""The Calendars page: each calendar with its export and private feed, a new calendar, an ICS upload, and the
subscriptions (subscribe, unsubscribe)."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from apps.calendars import selectors, services
from apps.calendars.fetch import SubscriptionError
from apps.calendars.forms import CalendarForm, ImportForm, SubscribeForm
from apps.calendars.ical import IcsParseError
from apps.calendars.models import Calendar
from apps.users import selectors as user_selectors
from apps.users.auth import request_user


def calendar_links(request: HttpRequest, calendar: Calendar) -> dict[str, Any]:
    """The calendar with its ICS export and (when it has one) its private feed address."""
    feed_url = ""
    if calendar.feed_token:
        feed_url = request.build_absolute_uri(reverse("calendar-feed", kwargs={"token": calendar.feed_token}))
    ics_url = reverse("api-calendar-ics", kwargs={"calendar_id": calendar.pk})
    return {"calendar": calendar, "ics_url": ics_url, "feed_url": feed_url}


def _page(
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
    calendars = list(selectors.calendars_with_plan_counts(owner=owner))
    context = {
        "calendars": [
            {**calendar_links(request, calendar), "plan_count": calendar.plan_count}  # type: ignore[attr-defined]
            for calendar in calendars
        ],
        "create_form": create_form or CalendarForm(initial={"timezone": profile.timezone, "color": "#1d5fd1"}),
        "import_form": import_form or ImportForm(calendars=selectors.calendars_of(owner=owner)),
        "import_result": import_result,
        "subscribe_form": subscribe_form or SubscribeForm(calendars=selectors.calendars_of(owner=owner)),
        "subscriptions": [
            {"calendar": subscription.calendar, "subscription": subscription}
            for subscription in selectors.subscriptions_of_owner(owner=owner)
        ],
    }
    return render(request, "calendars/calendars.html", context, status=status)


@login_required
@require_http_methods(["GET"])
def calendars_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def calendar_new(request: HttpRequest) -> HttpResponse:
    form = CalendarForm(request.POST)
    if not form.is_valid():
        return _page(request, create_form=form, status=400)
    values = form.cleaned_data
    calendar = services.calendar_create(
        owner=request_user(request), name=values["name"], timezone=values["timezone"], color=values["color"].lower()
    )
    messages.success(request, f"Calendar “{calendar.name}” created.")
    return redirect("calendars")


@login_required
@require_POST
def calendar_import(request: HttpRequest) -> HttpResponse:
    owner = request_user(request)
    form = ImportForm(request.POST, request.FILES, calendars=selectors.calendars_of(owner=owner))
    if not form.is_valid():
        return _page(request, import_form=form, status=400)
    calendar: Calendar = form.cleaned_data["calendar"]
    try:
        result = services.plans_import(calendar=calendar, data=form.cleaned_data["file"].read())
    except IcsParseError as exc:
        form.add_error("file", f"This file could not be read as a calendar: {exc}")
        return _page(request, import_form=form, status=400)
    summary = {"calendar": calendar, "created": result.created, "updated": result.updated, "refused": result.refused}
    return _page(request, import_form=ImportForm(calendars=selectors.calendars_of(owner=owner)), import_result=summary)


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
    form = SubscribeForm(request.POST, calendars=selectors.calendars_of(owner=request_user(request)))
    if not form.is_valid():
        return _page(request, subscribe_form=form, status=400)
    try:
        services.subscription_create(
            calendar=form.cleaned_data["calendar"], url=form.cleaned_data["url"], refresh_on_commit=True
        )
    except SubscriptionError as exc:
        form.add_error("url", str(exc))
        return _page(request, subscribe_form=form, status=400)
    messages.success(request, "Subscribed. Its events appear after the first refresh, in a minute or two.")
    return redirect(f"{reverse('calendars')}#subscriptions")


@login_required
@require_POST
def calendar_unsubscribe(request: HttpRequest, calendar_id: int, subscription_id: int) -> HttpResponse:
    subscription = selectors.subscription_of(
        owner=request_user(request), calendar_id=calendar_id, subscription_id=subscription_id
    )
    services.subscription_delete(subscription=subscription)
    messages.success(request, "Unsubscribed. Events already imported stay in the calendar.")
    return redirect(f"{reverse('calendars')}#subscriptions")
