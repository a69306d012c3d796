"""HTML pages of the catalogue: Discover (this or next weekend near home, filtered in place with htmx) and
the event page. Thin: read the request, call the selectors, shape what the templates show."""

import zoneinfo
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.utils import dateformat, timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import push_url
from django_htmx.middleware import HtmxDetails

from apps.core.db_router import replica_reads
from apps.core.geo import LatLon, cached_travel_time, haversine_km
from apps.core.http_cache import Validators, mark_private, serve_public
from apps.core.panels import PanelPlace, render_personal_lists
from apps.core.taxonomy import CATEGORIES
from apps.core.time import weekend_window
from apps.events import display, public_cache, selectors
from apps.events.forms import DiscoverFilters, DiscoverForm
from apps.events.models import Event, EventStatus, Provider
from apps.users import selectors as user_selectors
from apps.users.models import User

# Where Discover looks for people without a home point: the demo city's centre (Berlin) and its zone.
DEFAULT_CITY = "Berlin"
DEFAULT_CENTER = LatLon(52.52, 13.405)
DEFAULT_TIMEZONE = "Europe/Berlin"
DEFAULT_RADIUS_KM = 25
PAGE_SIZE = 30

TRAVEL_MODE_PHRASES = {"walk": "on foot", "bike": "by bike", "transit": "by public transport", "drive": "by car"}


@dataclass(frozen=True)
class Viewer:
    """Who is looking, and from where: a signed-in person's profile, or the demo city for everyone else."""

    signed_in: bool
    home: LatLon | None
    timezone: str
    travel_mode: str
    radius_km: int

    @property
    def origin(self) -> LatLon:
        return self.home or DEFAULT_CENTER


@dataclass(frozen=True)
class EventCard:
    """What a card (and the event page) shows about one event, already in words."""

    event: Event
    day: str  # "Sat 7 Jun"
    time: str  # "19:00–21:00", "All day", "Time to be announced"
    zone: str | None  # "Berlin time" when the event's zone differs from the viewer's
    distance: str | None  # "2.3 km from home"
    travel: str | None  # "about 12 min by bike"
    price: str
    category: str
    status: str | None  # "Postponed", ... (never for scheduled events)


def _viewer(request: HttpRequest) -> Viewer:
    user = request.user
    if isinstance(user, User):
        profile = user_selectors.profile_for(user=user)
        home = None
        if profile.home_lat is not None and profile.home_lon is not None:
            home = LatLon(profile.home_lat, profile.home_lon)
        return Viewer(
            signed_in=True,
            home=home,
            timezone=profile.timezone,
            travel_mode=profile.travel_mode,
            radius_km=profile.max_distance_km,
        )
    return Viewer(
        signed_in=False, home=None, timezone=DEFAULT_TIMEZONE, travel_mode="transit", radius_km=DEFAULT_RADIUS_KM
    )


# What a page depends on besides the URL: the session cookie makes the caller signed in.
PAGE_VARY = ("Cookie",)


def _public(request: HttpRequest, viewer: Viewer) -> bool:
    """The same page for every anonymous caller: not signed in, and no message waiting to be shown to this one
    (messages live in the session or a cookie; rendering them is personal)."""
    return not viewer.signed_in and not len(messages.get_messages(request))


# --- Discover --------------------------------------------------------------------------------------------


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails  # set by django_htmx's middleware


@require_GET
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
@replica_reads()
def discover(request: HtmxHttpRequest) -> HttpResponseBase:
    viewer = _viewer(request)
    if not _public(request, viewer):
        return mark_private(_discover(request, viewer, now=timezone.now()), vary=PAGE_VARY)
    # The anonymous page is computed at the start of the clock step, so it can be cached and revalidated that long.
    now = public_cache.clock_step(timezone.now())
    partial = bool(request.htmx and not request.htmx.history_restore_request)
    state = public_cache.catalogue_state()
    validators = Validators.of(
        "discover",
        state.version,
        public_cache.code_generation(),
        sorted(request.GET.lists()),
        partial,
        now,
        last_modified=max(state.last_modified, now),
    )
    return serve_public(
        request,
        validators,
        lambda: _discover(request, viewer, now=now),
        max_age=public_cache.max_age(),
        vary=PAGE_VARY,
    )


def _discover(request: HtmxHttpRequest, viewer: Viewer, *, now: datetime) -> HttpResponse:
    data = request.GET.copy()
    data.setdefault("weekend", "this")
    data.setdefault("distance", str(viewer.radius_km))
    form = DiscoverForm(data, default_distance_km=viewer.radius_km)
    filters = form.filters()
    starts_after, starts_before = weekend_window(filters.weekend, viewer.timezone, now=now)
    search = selectors.EventSearch(
        near=(viewer.origin.lat, viewer.origin.lon),
        radius_km=filters.distance_km,
        starts_after=starts_after,
        starts_before=starts_before,
        categories=filters.categories,
        q=filters.q,
        price_max=filters.price_max,
        free=True if filters.free else None,
        not_over_at=now,
        times_of_day=filters.times_of_day,
    )
    events = selectors.events_search(search)
    page = Paginator(events.order_by("start_utc", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
    # An empty weekend under way says "nothing left" only when what the filters chose is over, not when they chose
    # nothing at all (one more query, on an empty page only).
    under_way = filters.weekend == "this" and starts_after <= now
    nothing_left = (
        under_way and not page.paginator.count and selectors.events_search(replace(search, not_over_at=None)).exists()
    )
    context = {
        "form": form,
        "filters": filters,
        "viewer": viewer,
        "default_city": DEFAULT_CITY,
        "page": page,
        "cards": [_card(event, viewer) for event in page],
        "summary": _summary(filters, page.paginator.count, starts_after, starts_before, viewer),
        "nothing_left": nothing_left,
        "public_page": not viewer.signed_in,
    }
    if request.htmx and not request.htmx.history_restore_request:
        # Only the list changes; the address bar shows the filters (without the empty ones).
        response = render(request, "events/_results.html", {**context, "oob_summary": True})
        return push_url(response, f"{request.path}?{_query_without_blanks(request.GET)}".rstrip("?"))
    context["personal_lists"] = render_personal_lists(request, PanelPlace(page="discover", weekend=filters.weekend))
    return render(request, "events/discover.html", context)


def _summary(filters: DiscoverFilters, count: int, start: datetime, end: datetime, viewer: Viewer) -> str:
    zone = zoneinfo.ZoneInfo(viewer.timezone)
    saturday, sunday = start.astimezone(zone), (end - timedelta(days=1)).astimezone(zone)
    days = f"{dateformat.format(saturday, 'D j')}–{dateformat.format(sunday, 'D j M')}"
    where = "home" if viewer.home else "the city centre"
    noun = "event" if count == 1 else "events"
    which = "This weekend" if filters.weekend == "this" else "Next weekend"
    return f"{which} ({days}): {count} {noun} within {filters.distance_km} km of {where}"


def _query_without_blanks(query: QueryDict) -> str:
    return urlencode([(key, value) for key, values in query.lists() for value in values if value.strip()])


# --- The event page --------------------------------------------------------------------------------------


@require_GET
@replica_reads()
def event_detail(request: HttpRequest, event_id: int) -> HttpResponseBase:
    viewer = _viewer(request)
    if not _public(request, viewer):
        return mark_private(_event_page(request, viewer, event_id), vary=PAGE_VARY)
    state = public_cache.catalogue_state()
    validators = Validators.of(
        "event-page", state.version, public_cache.code_generation(), event_id, last_modified=state.last_modified
    )
    return serve_public(
        request,
        validators,
        lambda: _event_page(request, viewer, event_id),
        max_age=public_cache.max_age(),
        vary=PAGE_VARY,
    )


def _event_page(request: HttpRequest, viewer: Viewer, event_id: int) -> HttpResponse:
    event = selectors.event_detail(event_id=event_id)
    if event is None:
        raise Http404("There is no such event.")
    if event.pk != event_id:
        # A merged duplicate: its page is the canonical event's.
        return redirect("event-detail", event_id=event.pk)
    zone = zoneinfo.ZoneInfo(event.timezone)
    listings = [
        {
            "provider": _provider_label(listing.get("provider")),
            "source": listing.get("name") or listing.get("source") or "",
            "url": listing.get("url") or "",
        }
        for listing in selectors.event_listings(event=event)
    ]
    context = {
        "event": event,
        "card": _card(event, viewer),
        "viewer": viewer,
        "when_date": dateformat.format(event.start_utc.astimezone(zone), "l j F Y"),
        "zone_label": f"{event.timezone} ({dateformat.format(event.start_utc.astimezone(zone), 'T')})",
        "viewer_time": _viewer_time(event, viewer),
        "listings": listings,
        "official_url": event.url if event.url and event.url not in {row["url"] for row in listings} else "",
        "map_url": _map_url(event),
        "public_page": not viewer.signed_in,
    }
    return render(request, "events/event_detail.html", context)


def _viewer_time(event: Event, viewer: Viewer) -> str | None:
    """The start in the viewer's own zone, when it is not the event's."""
    if viewer.timezone == event.timezone or event.all_day or event.time_tba:
        return None
    here, there = zoneinfo.ZoneInfo(viewer.timezone), zoneinfo.ZoneInfo(event.timezone)
    local, mine = event.start_utc.astimezone(there), event.start_utc.astimezone(here)
    if local.utcoffset() == mine.utcoffset():
        return None
    return f"{dateformat.format(mine, 'D j M, H:i')} in your time zone ({viewer.timezone})"


def _map_url(event: Event) -> str:
    if event.lat is None or event.lon is None:
        return ""
    lat, lon = f"{event.lat:.5f}", f"{event.lon:.5f}"
    return f"https://www.openstreetmap.org/?{urlencode({'mlat': lat, 'mlon': lon})}#map=17/{lat}/{lon}"


def _provider_label(provider: str | None) -> str:
    try:
        return str(Provider(provider or "").label)
    except ValueError:
        return provider or ""


# --- Shaping events into words ---------------------------------------------------------------------------


def _card(event: Event, viewer: Viewer) -> EventCard:
    zone = zoneinfo.ZoneInfo(event.timezone)
    start = event.start_utc.astimezone(zone)
    distance, travel = _distance_and_travel(event, viewer)
    return EventCard(
        event=event,
        day=dateformat.format(start, "D j M"),
        time=display.time_text(event, zone),
        zone=None if event.timezone == viewer.timezone else display.zone_name(event.timezone),
        distance=distance,
        travel=travel,
        price=display.price_text(event),
        category=CATEGORIES.get(event.category, ""),
        status=None if event.status == EventStatus.SCHEDULED else str(EventStatus(event.status).label),
    )


def _distance_and_travel(event: Event, viewer: Viewer) -> tuple[str | None, str | None]:
    if event.lat is None or event.lon is None:
        return None, None
    destination = LatLon(event.lat, event.lon)
    km = getattr(event, "distance_km", None)
    if km is None:
        km = haversine_km(viewer.origin, destination)
    where = "home" if viewer.home else "the city centre"
    distance = f"{display.km_text(km)} from {where}"
    if viewer.home is None:
        return distance, None
    try:
        travel = cached_travel_time(viewer.home, destination, viewer.travel_mode)
    except ValueError:  # a travel mode geo does not know
        return distance, None
    minutes = max(1, round(travel.seconds / 60))
    duration = f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
    phrase = TRAVEL_MODE_PHRASES.get(viewer.travel_mode, "")
    return distance, f"{'about ' if travel.estimated else ''}{duration} {phrase}".strip()
