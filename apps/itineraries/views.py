"""Plan my weekend, the page: one click plans the weekend; the plan shows as a timeline per day with travel legs,
prices and reasons beside a drawing of each day's route; stops can be pinned, swapped for an alternative or
removed, and the plan accepted onto the calendar. Every action is a plain form post that comes back to the page
(it works without JavaScript). "Plan my weekend" is offered on My weekend and the home page (apps.core.panels)."""

import json
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone
from django.views.decorators.http import require_GET, require_POST

from apps.core.panels import PanelPlace
from apps.core.privacy import asks_not_to_be_tracked
from apps.core.time import weekend_window
from apps.events import display
from apps.events.models import Event
from apps.itineraries import drawing, selectors, services
from apps.itineraries.ask import PACES
from apps.itineraries.models import Itinerary, Stop
from apps.users import selectors as user_selectors
from apps.users.auth import request_user
from apps.users.models import User

MODE_PHRASES = {"walk": "on foot", "bike": "by bike", "transit": "by public transport", "drive": "by car"}


@dataclass(frozen=True)
class StopView:
    stop: Stop
    time: str  # "19:00–21:00"
    leg: str  # "25 min by bike from home"
    venue: str | None
    price: str


@dataclass(frozen=True)
class DayView:
    day: date
    label: str  # "Saturday 6 June"
    stops: list[StopView]
    back_home: str | None  # "18 min back home"
    route: drawing.Route
    map_points: str  # JSON [[lat, lon, label], ...]: the start point, then the stops (for the tiled map)


def _weekend(value: str | None) -> str:
    return "next" if value == "next" else "this"


def render_plan_panel(request: HttpRequest, place: PanelPlace) -> str | None:
    """The "Plan my weekend" call to action on My weekend and the home page (apps.core.panels)."""
    if not isinstance(request.user, User) or place.page not in ("weekend", "home"):
        return None
    start, end = weekend_window(
        place.weekend, user_selectors.profile_for(user=request.user).timezone, now=timezone.now()
    )
    latest = selectors.latest_itinerary(owner=request.user, start=start, end=end)
    context = {"place": place, "latest": latest, "paces": list(PACES)}
    return render_to_string("itineraries/_plan_panel.html", context, request=request)


@require_GET
@login_required
def plan_start(request: HttpRequest) -> HttpResponse:
    """The form (for this or next weekend), or the newest plan for that weekend when there is one."""
    which = _weekend(request.GET.get("weekend"))
    owner = request_user(request)
    profile = user_selectors.profile_for(user=owner)
    start, end = weekend_window(which, profile.timezone, now=timezone.now())  # type: ignore[arg-type]
    latest = selectors.latest_itinerary(owner=owner, start=start, end=end)
    if latest is not None and request.GET.get("new") != "1":
        return redirect("itinerary", itinerary_id=latest.pk)
    context = {"which": which, "paces": list(PACES), "has_home": profile.home_lat is not None, "profile": profile}
    return render(request, "itineraries/plan_start.html", context)


@require_POST
@login_required
def plan_create(request: HttpRequest) -> HttpResponse:
    owner, now = request_user(request), timezone.now()
    values: dict[str, Any] = {"weekend": _weekend(request.POST.get("weekend"))}
    if request.POST.get("pace") in PACES:
        values["pace"] = request.POST["pace"]
    try:
        ask = selectors.ask_for(user=owner, values=values, now=now)
    except selectors.NoStartLocation:
        messages.warning(request, "Set your home in your profile first: plans start and end there.")
        return redirect("profile")
    except selectors.NothingLeft:
        messages.warning(request, "Nothing is left of this weekend's day hours: plan next weekend instead.")
        return redirect(reverse("plan-my-weekend") + "?weekend=next&new=1")
    itinerary = services.itinerary_create(owner=owner, ask=ask, now=now, track=not asks_not_to_be_tracked(request))
    return redirect("itinerary", itinerary_id=itinerary.pk)


@require_GET
@login_required
def itinerary_page(request: HttpRequest, itinerary_id: int) -> HttpResponse:
    owner = request_user(request)
    itinerary = selectors.itinerary_of(owner=owner, itinerary_id=itinerary_id)
    context: dict[str, Any] = {
        "itinerary": itinerary,
        "days": _days(itinerary),
        "left_out": _left_out(itinerary),
        "map_tiles_url": settings.MAP_TILES_URL,
        "map_tiles_attribution": settings.MAP_TILES_ATTRIBUTION,
    }
    swap_id = request.GET.get("swap", "")
    if swap_id.isdigit():
        stop = selectors.stop_of(itinerary=itinerary, stop_id=int(swap_id))
        problem, _ = selectors.swap_problem(stop=stop, now=timezone.now())
        zone = zoneinfo.ZoneInfo(itinerary.timezone)
        context["swap"] = stop
        context["alternatives"] = [
            {
                "event": a.event,
                "time": _span(a.start, a.end, zone),
                "reasons": a.reasons,
                "price": display.price_text(a.event),
            }
            for a in selectors.alternatives(problem, day=stop.day)
        ]
    return render(request, "itineraries/itinerary.html", context)


@require_POST
@login_required
def stop_action(request: HttpRequest, itinerary_id: int, stop_id: int, action: str) -> HttpResponse:
    """pin, unpin, remove, or swap (with event_id from the alternatives)."""
    itinerary = selectors.itinerary_of(owner=request_user(request), itinerary_id=itinerary_id)
    stop = selectors.stop_of(itinerary=itinerary, stop_id=stop_id)
    title = stop.event.title
    if action in ("pin", "unpin"):
        services.stop_pin(stop=stop, pinned=action == "pin")
        messages.success(
            request, f"Pinned “{title}”: a replan keeps it." if action == "pin" else f"Unpinned “{title}”."
        )
    elif action == "remove":
        services.stop_remove(stop=stop)
        messages.success(request, f"Removed “{title}”.")
    elif action == "swap" and request.POST.get("event_id", "").isdigit():
        try:
            services.stop_swap(
                stop=stop, event_id=int(request.POST["event_id"]), track=not asks_not_to_be_tracked(request)
            )
        except services.StopUnavailable as exc:
            messages.warning(request, str(exc))
        else:
            messages.success(request, f"Swapped “{title}”.")
    else:
        messages.warning(request, "That change is not possible.")
    return redirect("itinerary", itinerary_id=itinerary.pk)


@require_POST
@login_required
def itinerary_replan(request: HttpRequest, itinerary_id: int) -> HttpResponse:
    itinerary = selectors.itinerary_of(owner=request_user(request), itinerary_id=itinerary_id)
    services.itinerary_replan(itinerary=itinerary)
    messages.success(request, "Planned again around the stops you kept.")
    return redirect("itinerary", itinerary_id=itinerary.pk)


@require_POST
@login_required
def itinerary_accept(request: HttpRequest, itinerary_id: int) -> HttpResponse:
    itinerary = selectors.itinerary_of(owner=request_user(request), itinerary_id=itinerary_id)
    try:
        services.itinerary_accept(itinerary=itinerary, track=not asks_not_to_be_tracked(request))
    except services.AcceptConflict as exc:
        clashes = "; ".join(f"{c.first.title} and {c.second.title}: {c.second.reason}" for c in exc.conflicts[:3])
        messages.error(request, f"Nothing was added: your calendar changed since this plan was made ({clashes}). "
                                "Replan to fit around it.")  # fmt: skip
        return redirect("itinerary", itinerary_id=itinerary.pk)
    messages.success(request, "Added to your weekend.")
    return redirect(reverse("my-weekend") + ("?weekend=next" if _is_next(itinerary) else ""))


# --- Shaping an itinerary into words ----------------------------------------------------------------------------


def _is_next(itinerary: Itinerary) -> bool:
    """Whether the itinerary is for a weekend after the one My weekend shows first (the coming one, or the one under
    way). Counting days instead sent a Sunday's plan for next weekend to this weekend's page, without its stops."""
    start = datetime.fromisoformat(itinerary.request["start"])
    _, this_weekend_ends = weekend_window("this", itinerary.timezone, now=timezone.now())
    return start >= this_weekend_ends


def _span(start: datetime, end: datetime, zone: zoneinfo.ZoneInfo) -> str:
    return f"{dateformat.format(start.astimezone(zone), 'H:i')}–{dateformat.format(end.astimezone(zone), 'H:i')}"


def _days(itinerary: Itinerary) -> list[DayView]:
    zone = zoneinfo.ZoneInfo(itinerary.timezone)
    mode = MODE_PHRASES.get(itinerary.request.get("travel_mode", ""), "")
    origin = itinerary.request.get("origin") or [0.0, 0.0]
    from_where = "home" if itinerary.request.get("origin_is_home") else "the start"
    stops = list(itinerary.stops.all())
    dates = sorted({stop.day for stop in stops} | {date.fromisoformat(d) for d in itinerary.back_home})
    days = []
    for day in dates:
        views = []
        for index, stop in enumerate(s for s in stops if s.day == day):
            event: Event = stop.event
            views.append(
                StopView(
                    stop=stop,
                    time=_span(stop.start, stop.end, zone),
                    leg=_leg(stop.travel_minutes, mode, f" from {from_where}" if index == 0 else ""),
                    venue=event.venue.name if event.venue else None,
                    price=display.price_text(event),
                )
            )
        minutes = itinerary.back_home.get(day.isoformat())
        days.append(
            DayView(
                day=day,
                label=dateformat.format(day, "l j F"),
                stops=views,
                back_home=_leg(minutes, mode, f" back to {from_where}") if minutes is not None else None,
                route=drawing.route(origin, [(v.stop.event.lat, v.stop.event.lon) for v in views]),
                map_points=json.dumps(
                    [[origin[0], origin[1], from_where.capitalize()]]
                    + [[v.stop.event.lat, v.stop.event.lon, v.stop.event.title] for v in views]
                ),
            )
        )
    return days


def _leg(minutes: int, mode: str, where: str) -> str:
    return f"{minutes} min {mode}{where}" if minutes else f"A few steps{where}"


def _left_out(itinerary: Itinerary) -> list[dict[str, Any]]:
    titles = dict(Event.objects.filter(pk__in=[i["event_id"] for i in itinerary.left_out]).values_list("pk", "title"))
    return [{**item, "title": titles.get(item["event_id"], f"Event {item['event_id']}")} for item in itinerary.left_out]
