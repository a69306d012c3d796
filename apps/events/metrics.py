"""Source freshness for Prometheus, read from the database when the web /metrics page is scraped.

Gauges kept in a process would only know the syncs that process ran; the database knows them all, so the
alert "a source not synced for two of its intervals" compares these two series:
`time() - planner_source_last_synced_timestamp_seconds > 2 * planner_source_sync_interval_seconds`.
"""

from collections.abc import Iterator

import structlog
from django.db import DatabaseError
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from apps.events import selectors

logger = structlog.get_logger(__name__)

LAST_SYNCED = "planner_source_last_synced_timestamp_seconds"
SYNC_INTERVAL = "planner_source_sync_interval_seconds"


class SourceSyncCollector:
    """One series of each gauge per scheduled source, labelled with the source's name (a unique slug)."""

    def collect(self) -> Iterator[Metric]:
        try:
            sources = selectors.sources_sync_status()
        except DatabaseError as exc:
            # The rest of the page still answers, so the scrape (and `up`) stays about this process; the
            # database's own alerts and /ready report the outage.
            logger.warning("source_metrics_unavailable", error=type(exc).__name__)
            return
        last_synced = GaugeMetricFamily(
            LAST_SYNCED,
            "Unix time the source's last completed sync run finished (its creation time if it never completed one).",
            labels=["source"],
        )
        interval = GaugeMetricFamily(SYNC_INTERVAL, "How often the source is meant to be synced.", labels=["source"])
        for source in sources:
            # A source that never completed a run counts from its creation, so the staleness alert fires once
            # two intervals pass without a first sync, rather than at once (0) or never (no series).
            synced = source.last_synced or source.created_at
            last_synced.add_metric([source.name], synced.timestamp())
            interval.add_metric([source.name], float(source.interval_seconds))
        yield last_synced
        yield interval
