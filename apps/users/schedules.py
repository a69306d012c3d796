"""What beat runs for users; planner/celery.py collects every app's BEAT_SCHEDULE."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Expired refresh tokens are dead weight in the blacklist tables; once a night, off the hour.
    "flush-expired-refresh-tokens": {
        "task": "apps.users.tasks.flush_expired_refresh_tokens",
        "schedule": crontab(hour="3", minute="17"),
    },
}
