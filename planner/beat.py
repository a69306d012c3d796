"""The beat scheduler, with a heartbeat Prometheus can watch.

Run as `celery -A planner beat --scheduler planner.beat:HeartbeatScheduler --schedule /tmp/celerybeat-schedule`.
A beat process that hangs, or dies where nobody restarts it, schedules nothing and says nothing; the gauge
set on every tick lets an alert notice (`time() - planner_celery_beat_last_tick_timestamp_seconds`).
"""

import time
from typing import Any

from celery.beat import PersistentScheduler
from prometheus_client import Gauge

# Defined here, imported only by beat: a web or worker process never exports a heartbeat of 0.
# "max" across processes of the multiprocess directory: the newest tick wins, even over a file left by
# an earlier beat container of the same pod.
LAST_TICK = Gauge(
    "planner_celery_beat_last_tick_timestamp_seconds",
    "Unix time of the beat scheduler's last tick.",
    multiprocess_mode="max",
)

# Longest sleep between ticks, whatever the schedule: the heartbeat's period, so "silent for more than a
# few of these" is a dependable alert.
HEARTBEAT_SECONDS = 30.0


class HeartbeatScheduler(PersistentScheduler):
    def setup_schedule(self) -> None:
        super().setup_schedule()
        LAST_TICK.set(time.time())

    def tick(self, *args: Any, **kwargs: Any) -> float:
        interval = float(super().tick(*args, **kwargs))
        LAST_TICK.set(time.time())
        return min(interval, HEARTBEAT_SECONDS)
