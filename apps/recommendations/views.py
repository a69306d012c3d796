"""HTML of recommendations: the "For you" list that the home page and Discover show for a signed-in person (through
apps.core.panels, registered in apps.py), its refresh for htmx, and the feedback buttons ("Not for me", "More like
this", "Less like this"): htmx swaps the refreshed list in place; without JavaScript the form posts and comes back.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from apps.core.panels import PanelPlace
from apps.core.privacy import asks_not_to_be_tracked
from apps.core.time import weekend_window
from apps.events import display
from apps.events.models import Event, EventStatus
from apps.recommendations import services
from apps.recommendations.models import FeedbackAction
from apps.users import selectors as user_selectors
from apps.users.models import User

LIST_SIZE = 10
ACTIONS: dict[str, tuple[str, str]] = {
    # URL word: (feedback action, what the status line says)
    "dismiss": (FeedbackAction.DISMISS, "Removed “{title}”. It will not come back."),
    "more": (FeedbackAction.MORE_LIKE_THIS, "Got it: more like “{title}”. The list below is updated."),
    "less": (FeedbackAction.LESS_LIKE_THIS, "Got it: less like “{title}”. The list below is updated."),
}


@dataclass(frozen=True)
class ForYouItem:
    """One recommended event, already in words."""

    event: Event
    rank: int
    reasons: list[str]
    day: str  # "Sat 20 Jun"
    time: str  # "19:00–21:00", "All day", "Time to be announced"
    zone: str | None  # "Berlin time" when the event's zone is not the person's
    venue: str | None
    distance: str | None  # "1.2 km from home"
    price: str
    status: str | None  # "Postponed", ... (never for scheduled events)


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _weekend(value: str | None) -> Literal["this", "next"]:
    return "next" if value == "next" else "this"


def _page(value: str | None) -> Literal["home", "discover"]:
    return "discover" if value == "discover" else "home"


def for_you_context(request: HttpRequest, place: PanelPlace, *, status: str | None = None) -> dict[str, Any]:
    """Serves the person's list for the place's weekend (its impressions are logged by the service, so the page
    sends none) and shapes it for templates/recommendations/_for_you.html."""
    user = request.user
    assert isinstance(user, User)
    profile = user_selectors.profile_for(user=user)
    now = timezone.now()
    served = _serve(request, user, place.weekend, profile.timezone, now=now)
    if not served.results and place.page == "home" and place.weekend == "this":
        # Late on Sunday nothing is left of this weekend: the home page looks ahead (Discover keeps its choice).
        ahead = _serve(request, user, "next", profile.timezone, now=now)
        if ahead.results:
            place, served = PanelPlace(page=place.page, weekend="next"), ahead
    has_home = profile.home_lat is not None and profile.home_lon is not None
    items = [_item(r.event, r.rank, r.reasons, viewer_tz=profile.timezone, has_home=has_home) for r in served.results]
    return {
        "place": place,
        "served": served,
        "items": items,
        "status": status,
        "profile_hint": _profile_hint(has_home=has_home, has_interests=bool(profile.interests)),
        "weekend_label": "this weekend" if place.weekend == "this" else "next weekend",
        # Where the forms come back to without JavaScript: the page as it is (Discover's filters too).
        "back": request.get_full_path() if request.method == "GET" and not _is_htmx(request) else _page_url(place),
    }


def _serve(
    request: HttpRequest, user: User, weekend: Literal["this", "next"], tz: str, *, now: datetime
) -> services.RecommendationList:
    start, end = weekend_window(weekend, tz, now=now)
    track = not asks_not_to_be_tracked(request)
    return services.recommendations_serve(user=user, start=start, end=end, tz=tz, limit=LIST_SIZE, track=track, now=now)


def _profile_hint(*, has_home: bool, has_interests: bool) -> str | None:
    """What to tell us for better picks: the link's words, or None when both are there."""
    if not has_home and not has_interests:
        return "Set your home and interests"
    if not has_home:
        return "Set your home"
    if not has_interests:
        return "Pick a few interests"
    return None


def render_for_you(request: HttpRequest, place: PanelPlace) -> str | None:
    """The panel's renderer (apps.core.panels): the "For you" section for a signed-in person."""
    if not isinstance(request.user, User) or place.page == "weekend":
        return None
    return render_to_string("recommendations/_for_you.html", for_you_context(request, place), request=request)


@require_GET
@vary_on_headers("HX-Request")
@login_required
def for_you(request: HttpRequest) -> HttpResponse:
    """The section alone, for htmx (Discover refreshes it when its weekend changes); a plain GET goes to the page."""
    place = PanelPlace(page=_page(request.GET.get("page")), weekend=_weekend(request.GET.get("weekend")))
    if not _is_htmx(request):
        return redirect(_page_url(place))
    return HttpResponse(render_for_you(request, place) or "")


@require_POST
@login_required
def feedback(request: HttpRequest, event_id: int, action: str) -> HttpResponse:
    """Records the person's word on an event. htmx gets the refreshed section (a dismissed event is gone from it);
    a plain form post goes back where it came from with the same message."""
    if action not in ACTIONS:
        raise Http404("No such action.")
    user = request.user
    assert isinstance(user, User)
    kind, said = ACTIONS[action]
    try:
        given, _ = services.feedback_record(
            user=user, event_id=event_id, action=kind, track=not asks_not_to_be_tracked(request)
        )
    except services.NoSuchEvent:
        raise Http404("There is no such event.") from None
    status = said.format(title=given.event.title)
    place = PanelPlace(page=_page(request.POST.get("page")), weekend=_weekend(request.POST.get("weekend")))
    if _is_htmx(request):
        context = for_you_context(request, place, status=status)
        return HttpResponse(render_to_string("recommendations/_for_you.html", context, request=request))
    messages.success(request, status)
    return _back(request, place)


def _page_url(place: PanelPlace) -> str:
    if place.page == "discover":
        return reverse("discover") + ("?weekend=next" if place.weekend == "next" else "")
    return reverse("home")


def _back(request: HttpRequest, place: PanelPlace) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = _page_url(place)
    return HttpResponseRedirect(f"{target}#for-you")


# --- Shaping events into words (as Discover's cards say them) -------------------------------------------------


def _item(event: Event, rank: int, reasons: list[str], *, viewer_tz: str, has_home: bool) -> ForYouItem:
    zone = zoneinfo.ZoneInfo(event.timezone)
    start = event.start_utc.astimezone(zone)
    km = getattr(event, "distance_km", None)
    distance = None
    if km is not None:
        where = "home" if has_home else "the city centre"
        distance = f"{display.km_text(km)} from {where}"
    return ForYouItem(
        event=event,
        rank=rank,
        reasons=reasons,
        day=dateformat.format(start, "D j M"),
        time=display.time_text(event, zone),
        zone=None if event.timezone == viewer_tz else display.zone_name(event.timezone),
        venue=event.venue.name if event.venue else None,
        distance=distance,
        price=display.price_text(event),
        status=None if event.status == EventStatus.SCHEDULED else str(EventStatus(event.status).label),
    )
