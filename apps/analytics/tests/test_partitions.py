"""Monthly partitions of the tracked events on PostgreSQL: made ahead and on demand, purged whole, each operation
idempotent; and the dedupe key (client_id, at) with clamped events, whose `at` differs on each send."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from apps.analytics import partitions, services, sinks
from apps.analytics.models import TrackedEvent
from apps.analytics.schedules import BEAT_SCHEDULE

pytestmark = pytest.mark.django_db


def click(at: datetime) -> dict[str, str]:
    return {"id": str(uuid.uuid4()), "type": "click", "at": at.isoformat()}


def store_at(*moments: datetime) -> None:
    for moment in moments:
        TrackedEvent.objects.create(client_id=uuid.uuid4(), type="click", at=moment, received_at=moment)


def test_the_table_is_partitioned_by_month_with_a_brin_index_on_time():
    with connection.cursor() as cursor:
        cursor.execute("SELECT partstrat FROM pg_partitioned_table WHERE partrelid = %s::regclass", [partitions.TABLE])
        assert cursor.fetchone() == ("r",)
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'tracked_at_brin'")
        assert "USING brin (at)" in cursor.fetchone()[0]


def test_a_month_without_a_partition_gets_one_when_an_event_arrives(clock):
    # The migration made the partitions of the real month; the test clock is elsewhere in time.
    partitions.drop_before(date(2100, 1, 1))
    assert partitions.partitions() == []
    outcome = services.tracking_record(events=[click(timezone.now())], user_id=None)
    assert outcome.accepted == 1
    assert partitions.partitions() == [partitions.month_of(timezone.now())]


def month(offset: int) -> date:
    """The first day of the month `offset` months from the clock's (in UTC, as the partitions are cut)."""
    now = timezone.now().astimezone(UTC)
    index = now.year * 12 + now.month - 1 + offset
    return date(index // 12, index % 12 + 1, 1)


def test_partitions_are_made_ahead_and_making_them_twice_changes_nothing(clock):
    partitions.drop_before(date(2100, 1, 1))
    assert services.tracking_partitions_ensure() == [month(0), month(1), month(2)]
    assert services.tracking_partitions_ensure() == []
    assert partitions.partitions() == [month(0), month(1), month(2)]
    task = BEAT_SCHEDULE["tracking-partitions-ahead"]["task"]
    assert task == "apps.analytics.tasks.tracking_partitions_ensure"


def test_the_purge_drops_whole_old_months_and_running_it_twice_changes_nothing(clock, capsys):
    partitions.drop_before(date(2100, 1, 1))
    first_kept = month(-13)  # the 13 months before this one are kept
    kept = datetime(first_kept.year, first_kept.month, 1, tzinfo=UTC)
    old = kept - timedelta(hours=1)  # the last hour of the month before
    partitions.ensure([old, kept, timezone.now()])
    store_at(old, kept, timezone.now())

    call_command("analytics_purge", "--older-than", "13m")
    assert capsys.readouterr().out.strip() == f"Dropped: {old:%Y-%m}."
    call_command("analytics_purge", "--older-than", "13m")
    assert capsys.readouterr().out.strip() == "Dropped: nothing."
    assert partitions.partitions() == [first_kept, month(0)]
    assert sorted(TrackedEvent.objects.values_list("at", flat=True))[0] == kept
    assert TrackedEvent.objects.count() == 2


@pytest.mark.parametrize("value", ["13", "0m", "1y", "-1m"])
def test_the_purge_wants_a_number_of_months(value):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("analytics_purge", "--older-than", value)


def test_a_clamped_event_sent_twice_is_stored_once(clock):
    sent = [click(timezone.now() - timedelta(days=30))]
    assert services.tracking_record(events=sent, user_id=None).accepted == 1
    clock.shift(timedelta(seconds=3))  # the second send is clamped to a later time received
    again = services.tracking_record(events=sent, user_id=None)
    assert (again.accepted, again.duplicates) == (0, 1)
    assert TrackedEvent.objects.filter(type="click").count() == 1


@pytest.mark.parametrize("sink", [sinks.CopySink(), sinks.OrmSink()], ids=["copy", "orm"])
def test_each_sink_stores_new_client_ids_once_and_answers_which(sink, clock):
    now = timezone.now()
    partitions.ensure([now])  # the ORM sink leaves partitions to the beat task

    def row(client_id: uuid.UUID) -> TrackedEvent:
        # Each write is a batch received at its own moment, as in the service.
        received_at = timezone.now()
        return TrackedEvent(client_id=client_id, type="save", at=now, received_at=received_at, context={"rank": 1})

    first, second = uuid.uuid4(), uuid.uuid4()
    assert sink.write([row(first)]) == {first}
    assert sink.write([row(first), row(second)]) == {second}
    assert sink.write([]) == set()
    assert TrackedEvent.objects.get(client_id=second).context == {"rank": 1}
