"""Reads of the catalogue: search, one event, and which sources are due for a sync."""

import math
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Case, F, FloatField, Func, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import ExtractHour
from django.utils import timezone

from apps.events.models import Event, EventStatus, Provider, Source, SyncOutcome, SyncRun

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE_LAT = 111.2
# Hours of the day (0-23, in the event's own zone) that each part of the day covers.
TIME_OF_DAY_HOURS: dict[str, tuple[int, ...]] = {
    "morning": tuple(range(5, 12)),
    "afternoon": tuple(range(12, 17)),
    "evening": tuple(range(17, 22)),
    "night": (22, 23, 0, 1, 2, 3, 4),
}
# An event without an end time counts as going on this long after it started.
STARTED_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class EventSearch:
    """One search of the catalogue; Discover and GET /api/v1/events both build one, so they answer alike."""

    near: tuple[float, float] | None = None
    radius_km: float = 25.0
    starts_after: datetime | None = None
    starts_before: datetime | None = None
    categories: tuple[str, ...] = ()
    q: str = ""
    price_max: Decimal | None = None
    free: bool | None = None
    sort: str = "start"  # or "distance" (needs near)
    include_cancelled: bool = False
    not_over_at: datetime | None = None  # leave out what has ended by then
    times_of_day: tuple[str, ...] = ()  # keys of TIME_OF_DAY_HOURS: starting in one of these parts of the day


class GreatCircleKm(Func):
    """Great-circle distance from (lat, lon) to the event's point, in km, as one SQL expression (PostgreSQL and
    SQLite alike). Built from Django's Radians/Sin/Power/... it was a tree of some thirty expressions, and compiling
    that tree cost more than PostgreSQL took to run the search (docs/benchmarks.md)."""

    output_field = FloatField()

    def __init__(self, lat: float, lon: float) -> None:
        super().__init__(F("lat"), F("lon"))
        self.origin = (lat, lon)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        lat_sql, lat_params = compiler.compile(self.source_expressions[0])
        lon_sql, lon_params = compiler.compile(self.source_expressions[1])
        least = "MIN" if connection.vendor == "sqlite" else "LEAST"  # SQLite's two-argument MIN is LEAST
        sql = (
            f"(2 * %s * ASIN({least}(SQRT(POWER(SIN((RADIANS({lat_sql}) - %s) / 2), 2) + %s * COS(RADIANS({lat_sql}))"
            f" * POWER(SIN((RADIANS({lon_sql}) - %s) / 2), 2)), 1.0)))"
        )
        lat_radians, cos_lat, lon_radians = great_circle_terms(*self.origin)
        params = [EARTH_RADIUS_KM, *lat_params, lat_radians, cos_lat, *lat_params, *lon_params, lon_radians]
        return sql, params


def great_circle_terms(lat: float, lon: float) -> tuple[float, float, float]:
    """The origin's values GreatCircleKm passes as parameters: its latitude in radians, that latitude's cosine and
    its longitude in radians."""
    return math.radians(lat), math.cos(math.radians(lat)), math.radians(lon)


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float | None, float | None]:
    """lat_min, lat_max, lon_min, lon_max of a box around the circle (no longitude bounds near the poles)."""
    dlat = radius_km / KM_PER_DEGREE_LAT
    dlon = radius_km / max(KM_PER_DEGREE_LAT * math.cos(math.radians(lat)), 1e-6)
    if dlon < 180:
        return lat - dlat, lat + dlat, lon - dlon, lon + dlon
    return lat - dlat, lat + dlat, None, None


def events_search(search: EventSearch) -> QuerySet[Event]:
    events = Event.objects.filter(canonical__isnull=True).select_related("venue")
    if not search.include_cancelled:
        events = events.exclude(status=EventStatus.CANCELLED)
    if search.starts_after is not None:
        events = events.filter(start_utc__gte=search.starts_after)
    if search.starts_before is not None:
        events = events.filter(start_utc__lt=search.starts_before)
    if search.categories:
        events = events.filter(category__in=search.categories)
    if search.q:
        events = events.filter(Q(title__icontains=search.q) | Q(description__icontains=search.q))
    if search.free is True:
        events = events.filter(is_free=True)
    elif search.free is False:
        events = events.filter(is_free=False)
    if search.price_max is not None:
        events = events.filter(Q(is_free=True) | Q(price_min__lte=search.price_max))
    if search.near is not None:
        lat, lon = search.near
        # A bounding box the index can use first, then the exact distance.
        lat_min, lat_max, lon_min, lon_max = bounding_box(lat, lon, search.radius_km)
        events = events.filter(lat__gte=lat_min, lat__lte=lat_max)
        if lon_min is not None:
            events = events.filter(lon__gte=lon_min, lon__lte=lon_max)
        events = events.annotate(distance_km=GreatCircleKm(lat, lon)).filter(distance_km__lte=search.radius_km)
    else:
        events = events.annotate(distance_km=Value(None, output_field=FloatField()))
    if search.not_over_at is not None:
        events = _not_over(events, now=search.not_over_at)
    if search.times_of_day:
        events = _starting_in(events, search.times_of_day)
    return events


# What a list of events shows (the API's EventOut), as plain rows: a page of 50 built as model instances and then
# serialized field by field cost most of a search request.
LIST_FIELDS = (
    "id", "title", "start_utc", "end_utc", "timezone", "all_day", "time_tba", "category", "price_min", "price_max",
    "currency", "is_free", "status", "url", "image_url", "distance_km", "venue_id", "venue__name", "venue__address",
    "venue__lat", "venue__lon",
)  # fmt: skip


def events_search_rows(search: EventSearch) -> QuerySet[Event, dict[str, Any]]:
    """events_search as rows of LIST_FIELDS (order them, then slice)."""
    rows: QuerySet[Event, dict[str, Any]] = events_search(search).values(*LIST_FIELDS)
    return rows


def _not_over(events: QuerySet[Event], *, now: datetime) -> QuerySet[Event]:
    """Drop what has already ended (late on a Sunday, this weekend's morning events are no use)."""
    over = Q(end_utc__lte=now) | Q(
        end_utc__isnull=True, all_day=False, time_tba=False, start_utc__lte=now - STARTED_GRACE
    )
    return events.exclude(over)


def _starting_in(events: QuerySet[Event], times_of_day: tuple[str, ...]) -> QuerySet[Event]:
    """Events starting in one of the parts of the day, by the clock of the event's own zone. All-day events
    count for the daytime parts; events whose time is not announced match none."""
    hours = sorted({hour for part in times_of_day for hour in TIME_OF_DAY_HOURS[part]})
    cases = []
    for tz in events.order_by().values_list("timezone", flat=True).distinct():
        try:
            zone = zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue
        cases.append(When(timezone=tz, then=ExtractHour("start_utc", tzinfo=zone)))
    if not cases:
        return events.none()
    keep = Q(local_hour__in=hours, all_day=False, time_tba=False)
    if set(times_of_day) - {"night"}:
        keep |= Q(all_day=True)
    return events.annotate(local_hour=Case(*cases, output_field=IntegerField())).filter(keep)


def catalogue_version() -> tuple[datetime | None, int | None]:
    """The latest change to the catalogue (an index lookup each): a copy of it made at this version is current."""
    version = Event.objects.aggregate(latest=Max("updated_at"), last_id=Max("id"))  # PostgreSQL reads both indexes
    return version["latest"], version["last_id"]


def upcoming_rows(*, start: datetime, end: datetime) -> QuerySet[Event, tuple[Any, ...]]:
    """Canonical, not-cancelled events starting in [start, end), as rows of UPCOMING_FIELDS."""
    return (
        Event.objects.filter(canonical__isnull=True, start_utc__gte=start, start_utc__lt=end)
        .exclude(status=EventStatus.CANCELLED)
        .order_by("start_utc", "id")
        .values_list(*UPCOMING_FIELDS)
    )


UPCOMING_FIELDS = (
    "id", "category", "venue_id", "tags", "start_utc", "end_utc", "all_day", "time_tba", "lat", "lon", "price_min",
    "is_free", "created_at", "timezone",
)  # fmt: skip


def event_detail(*, event_id: int) -> Event | None:
    """The event, or the canonical event when it is a merged duplicate; None when there is none."""
    event = Event.objects.select_related("venue", "canonical").filter(pk=event_id).first()
    if event is None:
        return None
    if event.canonical_id is not None:
        event = Event.objects.select_related("venue").get(pk=event.canonical_id)
    return event


def event_listings(*, event: Event) -> list[dict[str, str]]:
    """Every source that lists the event, its duplicates included: provider, source name and link."""
    rows = (
        Event.objects.filter(Q(pk=event.pk) | Q(canonical_id=event.pk), source__isnull=False)
        .values("source__provider", "source__name", "url")
        .order_by("source__name")
    )
    return [{"provider": row["source__provider"], "name": row["source__name"], "url": row["url"]} for row in rows]


def sources_due(*, now: datetime | None = None) -> list[int]:
    """Enabled sources whose interval has passed since their last run started. One still running is
    included: its task finds the lock taken and does nothing, or resumes it when its worker died."""
    now = now or timezone.now()
    last_started = SyncRun.objects.filter(source=OuterRef("pk")).order_by("-started_at").values("started_at")[:1]
    sources = (
        Source.objects.filter(enabled=True)
        .exclude(provider=Provider.DEMO)
        .annotate(last_started=Subquery(last_started))
        .values_list("pk", "interval_minutes", "last_started")
    )
    return [pk for pk, interval, last in sources if last is None or last + timedelta(minutes=interval) <= now]


def sources_enabled() -> list[Source]:
    return list(Source.objects.filter(enabled=True).exclude(provider=Provider.DEMO).order_by("name"))


def source_by_name(*, name: str) -> Source | None:
    return Source.objects.filter(name=name).first()


def catalogue_has_events() -> bool:
    return Event.objects.exists()


@dataclass(frozen=True)
class SourceSyncStatus:
    name: str
    interval_seconds: int
    last_synced: datetime | None
    created_at: datetime


def sources_sync_status() -> list[SourceSyncStatus]:
    """Each scheduled source (enabled, not demo data) with the end of its last completed run, in one query.

    Interrupted and failed runs do not count: a source whose runs keep failing is not being synced."""
    last_completed = (
        SyncRun.objects.filter(source=OuterRef("pk"), outcome=SyncOutcome.COMPLETED)
        .order_by("-started_at")
        .values("finished_at")[:1]
    )
    rows = (
        Source.objects.filter(enabled=True)
        .exclude(provider=Provider.DEMO)
        .annotate(last_synced=Subquery(last_completed))
        .order_by("name")
        .values_list("name", "interval_minutes", "last_synced", "created_at")
    )
    return [
        SourceSyncStatus(name=name, interval_seconds=interval * 60, last_synced=last, created_at=created)
        for name, interval, last, created in rows
    ]
