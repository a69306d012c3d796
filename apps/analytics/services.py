"""Writes of analytics: experiments (create, start, stop, assign logging the exposure, record a conversion) and
tracking (the events pages and API clients send, those the server records itself, linking an anonymous visitor
to their account, erasing a person's events).

Other apps call `experiment_variant(key=..., unit_id=...)` where a variant decides what to show, and treat None
(no such experiment, or it is not running) as the control's behaviour.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import structlog
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from apps.analytics import assignment, partitions, selectors, sinks
from apps.analytics.models import (
    Conversion,
    DailyActivePerson,
    Experiment,
    ExperimentStatus,
    Exposure,
    TrackedEvent,
    TrackedEventType,
    is_unit_id,
)
from apps.analytics.tracking import CheckedEvent, Refused, check_event

logger = structlog.get_logger(__name__)


class ExperimentKeyTaken(Exception):
    pass


class TransitionRefused(Exception):
    """draft → running → stopped is the only way an experiment goes."""

    def __init__(self, experiment: Experiment, wanted: str) -> None:
        self.status = experiment.status
        super().__init__(f"Experiment {experiment.key!r} is {experiment.status}; it cannot become {wanted}.")


@transaction.atomic
def experiment_create(
    *,
    key: str,
    variants: list[dict[str, Any]],
    primary_metric: dict[str, Any],
    description: str = "",
    guardrails: list[dict[str, Any]] | None = None,
) -> Experiment:
    """A draft experiment; ValidationError naming the field at fault, ExperimentKeyTaken if the key is used."""
    experiment = Experiment(
        key=key,
        description=description,
        variants=variants,
        primary_metric=primary_metric,
        guardrails=guardrails or [],
    )
    experiment.full_clean(validate_unique=False)
    if Experiment.objects.filter(key=key).exists():
        raise ExperimentKeyTaken(f"An experiment with the key {key!r} already exists.")
    try:
        with transaction.atomic():
            experiment.save()
    except IntegrityError as exc:  # created by a concurrent request between the check and the insert
        raise ExperimentKeyTaken(f"An experiment with the key {key!r} already exists.") from exc
    logger.info("experiment_created", experiment=key)
    return experiment


def _transition(experiment: Experiment, *, source: str, target: str, **times: datetime) -> Experiment:
    # One conditional UPDATE: of two concurrent requests, exactly one moves the experiment.
    moved = Experiment.objects.filter(pk=experiment.pk, status=source).update(status=target, **times)
    # An UPDATE sends no post_save: this process's requests see the change as soon as it is committed.
    transaction.on_commit(selectors.experiment_forget)
    experiment.refresh_from_db()
    if not moved:
        raise TransitionRefused(experiment, target)
    logger.info("experiment_status_changed", experiment=experiment.key, status=target)
    return experiment


@transaction.atomic
def experiment_start(*, experiment: Experiment) -> Experiment:
    return _transition(
        experiment, source=ExperimentStatus.DRAFT, target=ExperimentStatus.RUNNING, started_at=timezone.now()
    )


@transaction.atomic
def experiment_stop(*, experiment: Experiment) -> Experiment:
    return _transition(
        experiment, source=ExperimentStatus.RUNNING, target=ExperimentStatus.STOPPED, stopped_at=timezone.now()
    )


def _check_unit_id(unit_id: str) -> None:
    if not is_unit_id(unit_id):
        raise ValidationError({"unit_id": ["1 to 64 printable ASCII characters without spaces."]})


@transaction.atomic
def experiment_assign(*, experiment: Experiment, unit_id: str) -> str | None:
    """The unit's variant, its exposure logged the first time; None (and nothing logged) unless running."""
    _check_unit_id(unit_id)
    if experiment.status != ExperimentStatus.RUNNING:
        return None
    variant = assignment.assign(salt=experiment.salt, key=experiment.key, variants=experiment.variants, unit_id=unit_id)
    # INSERT ... ON CONFLICT DO NOTHING: the first exposure stays, and concurrent first calls cannot fail.
    Exposure.objects.bulk_create(
        [Exposure(experiment=experiment, unit_id=unit_id, variant=variant)], ignore_conflicts=True
    )
    return variant


def experiment_variant(*, key: str, unit_id: str) -> str | None:
    """What other apps call: the variant of `unit_id` (a user id or an anonymous id) in the experiment `key`,
    logging its exposure once; None when there is no such experiment or it is not running."""
    experiment = selectors.experiment_by_key_remembered(key=key)
    if experiment is None:
        _check_unit_id(unit_id)
        return None
    return experiment_assign(experiment=experiment, unit_id=unit_id)


@transaction.atomic
def conversion_record(*, unit_id: str, event_type: str, occurred_at: datetime | None = None) -> Conversion:
    """What the results count: the seam tracking feeds (docs/experiments.md, "Where conversions come from")."""
    _check_unit_id(unit_id)
    if event_type not in TrackedEventType.values:
        raise ValidationError({"type": [f"Unknown event type {event_type!r}."]})
    return Conversion.objects.create(unit_id=unit_id, type=event_type, occurred_at=occurred_at or timezone.now())


@transaction.atomic
def experiment_data_erase(*, unit_ids: list[str]) -> None:
    """A person's exposures and conversions, on the deletion of their account."""
    Exposure.objects.filter(unit_id__in=unit_ids).delete()
    Conversion.objects.filter(unit_id__in=unit_ids).delete()


# --- Tracking -------------------------------------------------------------------------------------------------

DO_NOT_TRACK = "do_not_track"


@dataclass
class TrackOutcome:
    """The answer for one batch: how many events were stored, how many were already there (or repeated in the
    batch), and each refused event's position and reason."""

    accepted: int = 0
    duplicates: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)


def _row(event: CheckedEvent, *, user_id: int | None, anonymous_id: str, received_at: datetime) -> TrackedEvent:
    return TrackedEvent(
        client_id=event.client_id,
        type=event.type,
        at=event.at,
        client_at=event.client_at,
        received_at=received_at,
        user_id=user_id,
        anonymous_id=event.anonymous_id or anonymous_id,
        object_type=event.object_type,
        object_id=event.object_id,
        context=event.context,
    )


def _without_stored_clamped(rows: Sequence[TrackedEvent]) -> list[TrackedEvent]:
    """The rows less the clamped ones already stored. The unique key is (client_id, at), and a clamped event's `at`
    is the time received, different on each send, so its client id is looked up alone (one index probe per
    partition); the others rely on the key."""
    clamped = [row.client_id for row in rows if row.client_at is not None]
    if not clamped:
        return list(rows)
    seen = set(TrackedEvent.objects.filter(client_id__in=clamped).values_list("client_id", flat=True))
    return [row for row in rows if row.client_id not in seen]


def _store(rows: Sequence[TrackedEvent], *, counted: set[str]) -> list[TrackedEvent]:
    """Inserts the rows whose client id is new and returns those it stored; conversions follow for them alone (of
    the `counted` types), so a batch sent twice counts once in the experiments."""
    stored = sinks.default_sink().write(rows)
    new = [row for row in rows if row.client_id in stored]
    _feed_conversions(new, counted=counted)
    return new


def _feed_conversions(rows: Sequence[TrackedEvent], *, counted: set[str]) -> None:
    """A conversion under each unit id of the event (user id and anonymous id) when a running experiment counts
    its type, as its primary metric or a guardrail: the results read conversions alone (docs/experiments.md)."""
    conversions = [
        Conversion(unit_id=unit_id, type=row.type, occurred_at=row.at)
        for row in rows
        if row.type in counted
        for unit_id in dict.fromkeys([str(row.user_id) if row.user_id else "", row.anonymous_id])
        if unit_id
    ]
    if conversions:
        Conversion.objects.bulk_create(conversions)


def tracking_record(
    *,
    events: Sequence[dict[str, Any]],
    user_id: int | None,
    anonymous_id: str = "",
    do_not_track: bool = False,
    received_at: datetime | None = None,
) -> TrackOutcome:
    """Stores a batch from a page or an API client: each event checked alone (a bad one is refused, the others
    stored), stamped with the time received and the signed-in person, a repeated client id counted as a duplicate.
    `anonymous_id` (the visitor's cookie) is used for events that carry none. With `do_not_track` (DNT or GPC
    from the browser) nothing is stored and every event is refused as do_not_track. `received_at` (default: now) is
    for replaying history at its own time, as the recommendations' simulation does."""
    outcome = TrackOutcome()
    if do_not_track:
        outcome.refused = [{"index": index, "reason": DO_NOT_TRACK} for index in range(len(events))]
        return outcome
    if anonymous_id and not is_unit_id(anonymous_id):
        anonymous_id = ""  # a cookie that is not one of ours identifies nobody
    # Read before the write's transaction, which then locks the tracked events alone (and conversions while an
    # experiment runs): a transaction holding one table while it waits for another can deadlock with a TRUNCATE of
    # them all, as between tests with a beacon still arriving from the page just left.
    counted = selectors.running_metric_types()
    received_at = received_at or timezone.now()
    rows: dict[uuid.UUID, TrackedEvent] = {}
    for index, raw in enumerate(events):
        try:
            event = check_event(raw, now=received_at)
        except Refused as exc:
            outcome.refused.append({"index": index, "reason": str(exc)})
            continue
        if event.client_id in rows:
            outcome.duplicates += 1
            continue
        rows[event.client_id] = _row(event, user_id=user_id, anonymous_id=anonymous_id, received_at=received_at)
    # The clamped events' lookup too: a write that finds its month without a partition waits for the lock the
    # partition's maker holds (apps.analytics.partitions.ensure) while that maker waits for the events table, so
    # the write must hold no lock on that table then, and only its own failed insert, rolled back, had one.
    fresh = _without_stored_clamped(list(rows.values()))
    with transaction.atomic():
        outcome.accepted = len(_store(fresh, counted=counted))
    outcome.duplicates += len(rows) - outcome.accepted
    return outcome


@dataclass(frozen=True)
class ServerEvent:
    """An event the server saw happen: ids and counts only. `client_id` (default: a new one) makes storing it again
    a no-op, as a queued batch run twice needs."""

    type: str
    user_id: int | None
    object_type: str = ""
    object_id: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    client_id: uuid.UUID | None = None

    def as_data(self) -> dict[str, Any]:
        """JSON-ready, for a task's arguments."""
        return {
            "type": self.type,
            "user_id": self.user_id,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "context": self.context,
            "client_id": str(self.client_id) if self.client_id else None,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> "ServerEvent":
        client_id = data.get("client_id")
        return cls(**{**data, "client_id": uuid.UUID(client_id) if client_id else None})


@transaction.atomic
def tracking_server_events(
    *, events: Sequence[ServerEvent], now: datetime | None = None, wait_for_disk: bool = True
) -> list[TrackedEvent]:
    """Events the server saw happen (signup, login, plan_created, source_synced, the impressions of a list it
    served), stored in one write, at `now` (default: the clock). `wait_for_disk=False` (the impressions a request
    logs) commits without waiting for the WAL flush, which is most of such a small write's time: a crash of the
    database in the next fraction of a second may lose them, never corrupt anything."""
    unknown = sorted({event.type for event in events} - set(TrackedEventType.values))
    if unknown:
        raise ValidationError({"type": [f"Unknown event type {unknown[0]!r}."]})
    if not wait_for_disk and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
    now = now or timezone.now()
    rows = [
        TrackedEvent(
            client_id=event.client_id or uuid.uuid4(),
            type=event.type,
            at=now,
            received_at=now,
            user_id=event.user_id,
            object_type=event.object_type,
            object_id=event.object_id,
            context=event.context,
        )
        for event in events
    ]
    _store(rows, counted=selectors.running_metric_types())
    return rows


def tracking_server_events_later(*, events: Sequence[ServerEvent], now: datetime | None = None) -> None:
    """The same as tracking_server_events, off the caller's path: one task on the `analytics` queue stores them, at
    `now`, under client ids fixed here (a task run twice stores them once). When the broker cannot take the task,
    they are stored at once rather than lost."""
    if not events:
        return
    now = now or timezone.now()
    events = [event if event.client_id else replace(event, client_id=uuid.uuid4()) for event in events]
    from apps.analytics import tasks  # the tasks module imports this one

    try:
        # argsrepr: a short label instead of the arguments' whole repr, a third of the call's time (a documented
        # message option that celery-types does not list).
        tasks.tracking_store_server_events.apply_async(  # type: ignore[call-arg]
            ([event.as_data() for event in events], now.isoformat()), argsrepr=f"({len(events)} events)"
        )
    except BrokerUnavailable as error:
        logger.warning("tracking_queue_unavailable", error=str(error), events=len(events))
        tracking_server_events(events=events, now=now, wait_for_disk=False)


def tracking_server_event(
    *,
    event_type: str,
    user_id: int | None,
    object_type: str = "",
    object_id: str = "",
    context: dict[str, Any] | None = None,
) -> TrackedEvent:
    """One event the server saw happen (see tracking_server_events)."""
    event = ServerEvent(event_type, user_id, object_type, object_id, context or {})
    return tracking_server_events(events=[event])[0]


@transaction.atomic
def tracking_link_anonymous(*, anonymous_id: str, user_id: int) -> int:
    """At sign-in: the visitor's earlier anonymous events become the account's. Returns how many were linked."""
    if not is_unit_id(anonymous_id):
        return 0
    return TrackedEvent.objects.filter(anonymous_id=anonymous_id, user_id__isnull=True).update(user_id=user_id)


@transaction.atomic
def tracking_data_erase(*, user_id: int) -> None:
    """A person's tracked events, and what experiments hold under the anonymous ids linked to them."""
    anonymous_ids = selectors.tracked_anonymous_ids(user_id=user_id)
    # The rollup's list of who was active each day names the person too; the KPI rows are counts of nobody.
    DailyActivePerson.objects.filter(person__in=[f"u:{user_id}", *(f"a:{a}" for a in anonymous_ids)]).delete()
    TrackedEvent.objects.filter(user_id=user_id).delete()
    if anonymous_ids:
        TrackedEvent.objects.filter(anonymous_id__in=anonymous_ids).delete()
    experiment_data_erase(unit_ids=[str(user_id), *anonymous_ids])


def tracking_partitions_ensure(*, months_ahead: int = 2) -> list[date]:
    """This month's partition and the next `months_ahead` months' (PostgreSQL); returns those created."""
    month = partitions.month_of(timezone.now())
    wanted = [month]
    for _ in range(months_ahead):
        month = partitions.next_month(month)
        wanted.append(month)
    created = partitions.ensure(wanted)
    if created:
        logger.info("tracking_partitions_created", months=[m.isoformat() for m in created])
    return created


def tracking_purge(*, older_than_months: int) -> list[date]:
    """Drops the tracked events of the months that ended more than `older_than_months` months ago, whole
    partitions on PostgreSQL (a plain DELETE elsewhere); returns the months dropped. Safe to run twice."""
    if older_than_months < 1:
        raise ValueError("Keep at least the current month.")
    cutoff = partitions.months_back(partitions.month_of(timezone.now()), older_than_months)
    if partitions.is_partitioned():
        dropped = partitions.drop_before(cutoff)
    else:
        old = TrackedEvent.objects.filter(at__lt=datetime(cutoff.year, cutoff.month, 1, tzinfo=UTC))
        dropped = sorted({partitions.month_of(at) for at in old.values_list("at", flat=True).distinct()})
        old.delete()
    logger.info("tracking_purged", before=cutoff.isoformat(), months=[m.isoformat() for m in dropped])
    return dropped
