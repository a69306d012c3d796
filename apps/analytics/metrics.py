"""Business gauges for Prometheus, read from the database when the web /metrics page is scraped (the same on every
web pod: aggregate with `max`). docs/metrics.md lists them; the Grafana dashboard's "Business" row draws them."""

import math
from collections.abc import Iterator

import structlog
from django.db import DatabaseError
from django.utils import timezone
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from apps.analytics import selectors_kpis

logger = structlog.get_logger(__name__)

ACTIVE_PEOPLE = "planner_analytics_active_people_today"
SIGNUPS = "planner_analytics_signups_today"
TRACKED_EVENTS = "planner_analytics_tracked_events_today"
ROLLUP_LAG = "planner_analytics_rollup_lag_seconds"


class BusinessCollector:
    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        try:
            gauges = selectors_kpis.business_gauges(now=now)
        except DatabaseError as exc:  # the rest of the page still answers; /ready reports the database
            logger.warning("business_metrics_unavailable", error=type(exc).__name__)
            return
        yield GaugeMetricFamily(
            ACTIVE_PEOPLE,
            "People active today (UTC) as of the latest hourly rollup.",
            value=gauges.active_people_today,
        )
        yield GaugeMetricFamily(SIGNUPS, "Accounts created today (UTC).", value=float(gauges.signups_today))
        yield GaugeMetricFamily(
            TRACKED_EVENTS, "Tracked events stored for today (UTC) so far.", value=float(gauges.tracked_events_today)
        )
        # +Inf until a rollup has ever run: infinitely late, so the lag alert fires rather than staying silent.
        lag = (now - gauges.last_rollup).total_seconds() if gauges.last_rollup else math.inf
        yield GaugeMetricFamily(ROLLUP_LAG, "Seconds since the latest KPI rollup finished.", value=max(lag, 0.0))
