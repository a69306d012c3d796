"""What beat runs for recommendations; planner/celery.py collects every app's BEAT_SCHEDULE."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Nightly, when few lists are served and after the analytics partitions job (02:41): train on every tracked
    # interaction, evaluate against the serving model on the newest week, promote only if at least as good.
    "recommendations-train-nightly": {
        "task": "apps.recommendations.tasks.train_recommendations",
        "schedule": crontab(hour="3", minute="17"),
    },
}
