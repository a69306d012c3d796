"""What beat runs for analytics; planner/celery.py collects every app's BEAT_SCHEDULE."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Tracked events go to monthly partitions on PostgreSQL: keep this month's and the next two made, so a missed
    # run or two changes nothing (an insert also makes a missing one, but under a lock the beat avoids).
    "tracking-partitions-ahead": {
        "task": "apps.analytics.tasks.tracking_partitions_ensure",
        "schedule": crontab(hour="2", minute="41"),
    },
    # The KPI rollup (apps/analytics/rollup.py): yesterday and today, every hour; the staff dashboard and the API
    # read its rows, and planner_analytics_rollup_lag_seconds says how old they are.
    "analytics-rollup-recent": {
        "task": "apps.analytics.tasks.analytics_rollup_recent",
        "schedule": crontab(minute="17"),
    },
}
