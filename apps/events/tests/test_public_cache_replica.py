"""The anonymous catalogue cache and the read replica: after a change, no answer cached under the new version may
be read from a replica that has not replayed it. In-process, without a database transaction around the test (the
router sends every read inside one to the primary); test_replica_streaming shows the router on a real replica."""

from typing import Any

import pytest

from apps.core import db_router, replica_health
from apps.core.db_router import ReplicaRouter, replica_reads
from apps.core.replica_health import ReplicaHealth
from apps.events import public_cache
from apps.events.models import Event


def test_after_a_catalogue_change_replica_reads_use_the_primary_until_the_replica_has_replayed_it(
    monkeypatch: pytest.MonkeyPatch, settings: Any, clock: Any
) -> None:
    monkeypatch.setattr(db_router, "replica_configured", lambda: True)
    monkeypatch.setattr(replica_health, "replica_health", lambda: ReplicaHealth("ok", 0.0))
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS, settings.DATABASE_REPLICA_CHECK_SECONDS = 30, 2

    def read() -> str | None:
        with replica_reads(shared=True):  # even shared reads: what the cache keeps is shared
            return ReplicaRouter().db_for_read(Event)

    assert read() == "replica"
    public_cache.events_changed(event_ids=[1])  # what a sync's announcement does
    assert read() == "default"
    clock.shift(31)
    assert read() == "default"  # within the lag bound plus the health check's age
    clock.shift(2)
    assert read() == "replica"
