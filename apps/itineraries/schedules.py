"""What beat runs for itineraries; planner/celery.py collects every app's BEAT_SCHEDULE."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "itineraries-expire-drafts": {
        "task": "apps.itineraries.tasks.itineraries_expire_drafts",
        "schedule": crontab(hour="3", minute="17"),
    },
}
