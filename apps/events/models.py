"""The catalogue: sources we sync from, venues, events (each with the source item it came from), and every sync
run."""

from django.db import models
from django.db.models import Q

from apps.core.taxonomy import CATEGORY_CHOICES
from apps.core.validators import validate_latitude, validate_longitude, validate_timezone


class Provider(models.TextChoices):
    TICKETMASTER = "ticketmaster", "Ticketmaster"
    EVENTBRITE = "eventbrite", "Eventbrite"
    MEETUP = "meetup", "Meetup"
    ICS = "ics", "iCalendar feed"
    DEMO = "demo", "Demo data"


class Source(models.Model):
    """One provider over one area (or one organisation, venue or feed), synced on a schedule."""

    name = models.SlugField(max_length=100, unique=True)
    provider = models.CharField(max_length=20, choices=Provider.choices)
    center_lat = models.FloatField(null=True, blank=True, validators=[validate_latitude])
    center_lon = models.FloatField(null=True, blank=True, validators=[validate_longitude])
    radius_km = models.FloatField(null=True, blank=True)
    options = models.JSONField(default=dict, blank=True, help_text="organization_id, venue_id, url, ...")
    enabled = models.BooleanField(default=True)
    interval_minutes = models.PositiveIntegerField(default=360)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(radius_km__isnull=True) | Q(radius_km__gt=0), name="source_radius_positive"
            ),
            models.CheckConstraint(condition=Q(interval_minutes__gte=5), name="source_interval_at_least_5_min"),
        ]

    def __str__(self) -> str:
        return self.name


class Venue(models.Model):
    """A place events happen. `key` identifies it across sources: provider venue id, or name + rounded point."""

    key = models.CharField(max_length=200, unique=True)
    name = models.CharField(max_length=300)
    address = models.CharField(max_length=500, blank=True)
    lat = models.FloatField(null=True, blank=True, validators=[validate_latitude])
    lon = models.FloatField(null=True, blank=True, validators=[validate_longitude])
    timezone = models.CharField(max_length=64, blank=True, validators=[validate_timezone])

    def __str__(self) -> str:
        return self.name


class EventStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CANCELLED = "cancelled", "Cancelled"
    POSTPONED = "postponed", "Postponed"
    RESCHEDULED = "rescheduled", "Rescheduled"


class Event(models.Model):
    title = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    start_utc = models.DateTimeField()
    end_utc = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    all_day = models.BooleanField(default=False)
    time_tba = models.BooleanField(default=False)
    category = models.CharField(max_length=30, choices=CATEGORY_CHOICES, blank=True)
    tags = models.JSONField(default=list, blank=True)
    price_min = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    price_max = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    is_free = models.BooleanField(default=False)
    url = models.URLField(max_length=1000, blank=True)
    image_url = models.URLField(max_length=1000, blank=True)
    status = models.CharField(max_length=12, choices=EventStatus.choices, default=EventStatus.SCHEDULED)
    # Indexed with start_utc below (event_venue_start_idx), which serves the foreign key's lookups too.
    venue = models.ForeignKey(
        Venue, null=True, blank=True, on_delete=models.SET_NULL, related_name="events", db_index=False
    )
    # The venue's point, copied here so the common search (a window around a point) reads one table.
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    # A duplicate of another source's listing points at the canonical event; search shows canonical ones.
    canonical = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates", db_index=False
    )
    # The source item it was stored from: (source, provider id) is the key of every sync's idempotent upsert,
    # and the content hash what the item said when last stored (an unchanged item is not written again). One row
    # per item, the event itself: a separate record row for each cost a first sync a tenth of its time
    # (docs/benchmarks.md). Empty on events no source lists; a deleted source leaves its events without one.
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="events", db_index=False
    )
    provider_id = models.CharField(max_length=300, blank=True, default="", db_default="")
    content_hash = models.CharField(max_length=64, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # Search: canonical, not cancelled, in a time window, near a point.
            models.Index(
                fields=["start_utc", "lat", "lon"],
                name="event_search_idx",
                condition=Q(canonical__isnull=True) & ~Q(status="cancelled"),
            ),
            # Search in one category (the common filter): only that category's events in the window are read,
            # not every event of the window (a tenth of the heap pages at 100,000 events; docs/benchmarks.md).
            models.Index(
                fields=["category", "start_utc", "lat", "lon"],
                name="event_category_search_idx",
                condition=Q(canonical__isnull=True) & ~Q(status="cancelled"),
            ),
            # The duplicate probe (bulk.duplicate_candidates): events starting within minutes of one another,
            # at the same venue or within a margin of latitude, found in the indexes without reading the rows
            # that are neither (a page's probe read 24 rows for each event it was given; docs/benchmarks.md).
            models.Index(fields=["start_utc", "lat"], name="event_start_lat_idx"),
            models.Index(fields=["venue", "start_utc"], name="event_venue_start_idx"),
            # Only duplicates point at a canonical event: the canonical events (nearly all) are not indexed.
            models.Index(fields=["canonical"], name="event_canonical_idx", condition=Q(canonical__isnull=False)),
            # The catalogue's version (its latest change): in-memory copies of it check this before each use.
            models.Index(fields=["updated_at"], name="event_updated_idx"),
        ]
        constraints = [
            # Also the index of the source's foreign key (it leads) and of a sync's lookups by provider id.
            models.UniqueConstraint(fields=["source", "provider_id"], name="event_unique_source_item"),
            models.CheckConstraint(
                condition=Q(end_utc__isnull=True) | Q(end_utc__gte=models.F("start_utc")), name="event_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(price_min__isnull=True) | Q(price_min__gte=0), name="event_price_min_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(price_min__isnull=True)
                | Q(price_max__isnull=True)
                | Q(price_max__gte=models.F("price_min")),
                name="event_price_range_ordered",
            ),
            models.CheckConstraint(condition=~Q(canonical=models.F("id")), name="event_not_its_own_canonical"),
        ]

    def __str__(self) -> str:
        return self.title


class SyncOutcome(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    INTERRUPTED = "interrupted", "Interrupted (resumes from checkpoint)"
    FAILED = "failed", "Failed"


class SyncRun(models.Model):
    # Not indexed alone: syncrun_source_recent_idx leads with it.
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="runs", db_index=False)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=12, choices=SyncOutcome.choices, default=SyncOutcome.RUNNING)
    fetched = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    merged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # Where the next run resumes when this one did not complete: provider-specific (page, cursor, window).
    checkpoint = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["source", "-started_at"], name="syncrun_source_recent_idx")]

    def __str__(self) -> str:
        return f"{self.source.name} {self.started_at:%Y-%m-%d %H:%M} {self.outcome}"

    COUNTS = ("fetched", "created", "updated", "unchanged", "merged", "failed", "pages")

    def counts(self) -> dict[str, int]:
        """What the run did, by name: for its log line and for the apps that hear it finished."""
        return {name: getattr(self, name) for name in self.COUNTS}
