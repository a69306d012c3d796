"""Experiments: their definition, the exposures they log, and the conversions their results count.

An experiment splits units (a user id or an anonymous id, as the caller chooses) between variants by a hash
(apps.analytics.assignment), logs each unit's first exposure once, and counts a unit as converted when a
`Conversion` of the metric's type exists for the same unit at or after that exposure (docs/experiments.md).

`Conversion` is the seam with tracking: it is all the results read of what people did. Tracking (POST
/api/v1/track) feeds it, or replaces it with its own table of the same three columns (unit_id, type,
occurred_at); apps.analytics.selectors names the table in one place.
"""

import re
import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

KEY_PATTERN = r"\A[a-z0-9][a-z0-9_-]{0,63}\Z"  # an experiment's key: a lowercase slug, used in URLs
VARIANT_KEY_PATTERN = r"\A[a-z0-9][a-z0-9_-]{0,31}\Z"
SLUG_MESSAGE = "A lowercase slug: a-z, 0-9, - and _, starting with a letter or digit."
# Printable ASCII without spaces: user ids, UUIDs and cookie values all fit, and nothing needs trimming.
UNIT_ID_PATTERN = r"\A[!-~]{1,64}\Z"
CONTROL = "control"  # the variant every other one is compared with; every experiment has one
MAX_VARIANTS = 10
MAX_GUARDRAILS = 5


class TrackedEventType(models.TextChoices):
    """What tracking records, and so what a metric can count."""

    PAGE_VIEW = "page_view", "Page view"
    IMPRESSION = "impression", "Impression"
    CLICK = "click", "Click"
    SAVE = "save", "Save"
    PLAN = "plan", "Plan"
    DISMISS = "dismiss", "Dismiss"
    SEARCH = "search", "Search"
    SHARE = "share", "Share"
    WEB_VITAL = "web_vital", "Web vital"
    SIGNUP = "signup", "Sign-up"
    LOGIN = "login", "Log-in"
    PLAN_CREATED = "plan_created", "Plan created"
    SOURCE_SYNCED = "source_synced", "Source synced"
    FEEDBACK = "feedback", "Feedback"  # "more like this" or "less like this" on a listed event


class ExperimentStatus(models.TextChoices):
    # draft → running → stopped, and no other way (apps.analytics.services).
    DRAFT = "draft", "Draft"
    RUNNING = "running", "Running"
    STOPPED = "stopped", "Stopped"


def new_salt() -> str:
    return secrets.token_hex(16)


def is_unit_id(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(UNIT_ID_PATTERN, value) is not None


def validate_variants(value: Any) -> None:
    """[{"key": "control", "weight": 50}, ...]: 2 to 10 variants, unique slug keys one of which is `control`,
    integer weights from 1 to 99 that add up to 100."""
    if not isinstance(value, list) or not 2 <= len(value) <= MAX_VARIANTS:
        raise ValidationError(f"Give 2 to {MAX_VARIANTS} variants.", code="invalid")
    keys: list[str] = []
    for position, variant in enumerate(value):
        if not isinstance(variant, dict) or set(variant) != {"key", "weight"}:
            raise ValidationError(f"Variant {position}: give exactly a key and a weight.", code="invalid")
        key, weight = variant["key"], variant["weight"]
        if not isinstance(key, str) or re.fullmatch(VARIANT_KEY_PATTERN, key) is None:
            raise ValidationError(f"Variant {position}: {SLUG_MESSAGE}", code="invalid")
        if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= 99:
            raise ValidationError(f"Variant {position}: the weight must be a whole number from 1 to 99.")
        keys.append(key)
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValidationError(f"Variant keys must be unique; repeated: {', '.join(duplicates)}.", code="duplicate")
    if CONTROL not in keys:
        raise ValidationError(f"One variant must be keyed {CONTROL!r}: the others are compared with it.")
    total = sum(variant["weight"] for variant in value)
    if total != 100:
        raise ValidationError(f"The weights must add up to 100; they add up to {total}.", code="weights")


def validate_metric(value: Any) -> None:
    """{"event": "<tracked event type>"}."""
    if not isinstance(value, dict) or set(value) != {"event"}:
        raise ValidationError('A metric is {"event": "<tracked event type>"}.', code="invalid")
    if value["event"] not in TrackedEventType.values:
        raise ValidationError(
            f"Unknown event type {value['event']!r}; known: {', '.join(TrackedEventType.values)}.", code="invalid"
        )


def validate_guardrails(value: Any) -> None:
    if not isinstance(value, list) or len(value) > MAX_GUARDRAILS:
        raise ValidationError(f"Give at most {MAX_GUARDRAILS} guardrail metrics.", code="invalid")
    for metric in value:
        validate_metric(metric)
    events = [metric["event"] for metric in value]
    if len(set(events)) != len(events):
        raise ValidationError("Each guardrail metric counts a different event type.", code="duplicate")


class Experiment(models.Model):
    key = models.SlugField(
        max_length=64,
        unique=True,
        validators=[RegexValidator(KEY_PATTERN, SLUG_MESSAGE)],
    )
    description = models.TextField(blank=True)
    variants = models.JSONField(validators=[validate_variants])
    primary_metric = models.JSONField(validators=[validate_metric])
    guardrails = models.JSONField(default=list, blank=True, validators=[validate_guardrails])
    status = models.CharField(max_length=16, choices=ExperimentStatus.choices, default=ExperimentStatus.DRAFT)
    # Part of every unit's hash: a new experiment reshuffles units even under a key used before.
    salt = models.CharField(max_length=64, default=new_salt, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    stopped_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ExperimentStatus.values), name="experiment_status_known"),
            # The times follow the status: started once running, stopped once stopped, never the other way.
            models.CheckConstraint(
                condition=(
                    Q(status=ExperimentStatus.DRAFT, started_at__isnull=True, stopped_at__isnull=True)
                    | Q(status=ExperimentStatus.RUNNING, started_at__isnull=False, stopped_at__isnull=True)
                    | Q(status=ExperimentStatus.STOPPED, started_at__isnull=False, stopped_at__isnull=False)
                ),
                name="experiment_times_follow_status",
            ),
        ]

    def __str__(self) -> str:
        return self.key

    def clean(self) -> None:
        primary = self.primary_metric.get("event") if isinstance(self.primary_metric, dict) else None
        guardrails = self.guardrails if isinstance(self.guardrails, list) else []
        if primary and any(isinstance(m, dict) and m.get("event") == primary for m in guardrails):
            raise ValidationError({"guardrails": ["A guardrail cannot count the primary metric's event type."]})

    @property
    def variant_keys(self) -> list[str]:
        return [variant["key"] for variant in self.variants]

    @property
    def metrics(self) -> list[str]:
        """The event types the results count: the primary metric's, then each guardrail's."""
        return [self.primary_metric["event"], *(metric["event"] for metric in self.guardrails)]


class Exposure(models.Model):
    """A unit's first exposure to a running experiment: one row per (experiment, unit), never updated."""

    id = models.BigAutoField(primary_key=True)
    # Not indexed alone: exposure_once_per_unit leads with it.
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="exposures", db_index=False)
    unit_id = models.CharField(max_length=64)
    variant = models.CharField(max_length=32)
    exposed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["experiment", "unit_id"], name="exposure_once_per_unit"),
        ]
        indexes = [models.Index(fields=["unit_id"], name="exposure_unit_idx")]  # a person's export and erasure

    def __str__(self) -> str:
        return f"{self.unit_id} saw {self.variant}"


class Conversion(models.Model):
    """One thing a unit did that a metric can count (the seam with tracking: see the module docstring)."""

    id = models.BigAutoField(primary_key=True)
    unit_id = models.CharField(max_length=64)
    type = models.CharField(max_length=32, choices=TrackedEventType.choices)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # Results read one experiment's metric types since it started, then join on the unit.
            models.Index(fields=["type", "occurred_at"], name="conversion_type_time_idx"),
            models.Index(fields=["unit_id"], name="conversion_unit_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.type} at {self.occurred_at:%Y-%m-%d %H:%M}"


class TrackedObjectType(models.TextChoices):
    EVENT = "event", "Event"
    PLAN = "plan", "Plan"
    RECOMMENDATION = "recommendation", "Recommendation"
    ITINERARY = "itinerary", "Itinerary"
    PAGE = "page", "Page"


class TrackedEvent(models.Model):
    """One thing a person did, sent by a page or an API client (POST /api/v1/track) or by the server itself.

    `client_id` is the id the sender chose: sending the same event twice stores it once (unique with `at`, the
    partition key on PostgreSQL, which must be part of every unique key there; docs/analytics.md). `at` is when it
    happened as the server believes it (a client clock off by more than a day is clamped to `received_at`, and what
    the client said is kept in `client_at`). Only ids identify the person: `user` when signed in, otherwise the
    opaque `anonymous_id` from the first-party cookie, linked to the account at sign-in.
    """

    id = models.BigAutoField(primary_key=True)
    client_id = models.UUIDField()
    type = models.CharField(max_length=32, choices=TrackedEventType.choices)
    at = models.DateTimeField()
    client_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    # A plain column, not a foreign key: the table is append-only and large (and partitioned on PostgreSQL,
    # docs/analytics.md); the eraser deletes a person's rows explicitly (apps/analytics/personal_data.py).
    user_id = models.BigIntegerField(null=True, blank=True)
    anonymous_id = models.CharField(max_length=64, blank=True)
    object_type = models.CharField(max_length=16, choices=TrackedObjectType.choices, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    context = models.JSONField(default=dict, blank=True)

    class Meta:
        # On PostgreSQL the table is partitioned by month of `at` with a BRIN index on `at` and the primary key
        # (id, at), made by migration 0002 (apps/analytics/partitions.py); elsewhere a plain table.
        constraints = [models.UniqueConstraint(fields=["client_id", "at"], name="tracked_once_per_client_id")]
        indexes = [
            # A person's export and erasure, and the linking of an anonymous visitor at sign-in.
            models.Index(fields=["user_id"], name="tracked_user_idx", condition=Q(user_id__isnull=False)),
            models.Index(fields=["anonymous_id"], name="tracked_anonymous_idx", condition=~Q(anonymous_id="")),
        ]

    def __str__(self) -> str:
        return f"{self.type} at {self.at:%Y-%m-%d %H:%M}"


class DailyMetric(models.Model):
    """One business KPI for one day (apps.analytics.kpis names them), as the daily rollup computed it from the raw
    events (apps.analytics.rollup); recomputing a day replaces its rows. `segment` is "" for the whole product, or
    the page, source or variant the row is about. A rate keeps its numerator and denominator, so that weeks add up
    exactly; `value` is None when there was nothing to measure (a rate over nobody)."""

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    metric = models.CharField(max_length=40)
    segment = models.CharField(max_length=200, blank=True, default="")
    value = models.FloatField(null=True, blank=True)
    numerator = models.FloatField(default=0)
    denominator = models.FloatField(default=0)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["metric", "segment", "day"], name="daily_metric_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.metric}[{self.segment}] on {self.day}: {self.value}"


class DailyActivePerson(models.Model):
    """Who was active on a day ("u:<user id>" or "a:<anonymous id>"), kept by the rollup: weekly and monthly actives
    and retention count these small rows instead of rereading a month of raw events."""

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    person = models.CharField(max_length=80)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "person"], name="active_person_once_per_day")]

    def __str__(self) -> str:
        return f"{self.person} on {self.day}"


class RollupRun(models.Model):
    """When each day was last rolled up: the rollup lag gauge and the dashboard's "computed at" read it."""

    day = models.DateField(primary_key=True)
    finished_at = models.DateTimeField(default=timezone.now)
    events = models.BigIntegerField(default=0)  # raw events of the day it read
    seconds = models.FloatField(default=0)

    def __str__(self) -> str:
        return f"{self.day} rolled up at {self.finished_at:%Y-%m-%d %H:%M}"
