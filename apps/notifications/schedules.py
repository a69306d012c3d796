"""What beat runs for notifications; planner/celery.py collects every app's BEAT_SCHEDULE."""

BEAT_SCHEDULE = {
    # Deferred emails (quiet hours, backoffs) whose time has come, and sends whose task was lost.
    "notifications-send-due": {"task": "apps.notifications.tasks.send_due", "schedule": 60.0},
    # Reminders due this minute (materialised rows, read through a partial index).
    "notifications-remind-due": {"task": "apps.notifications.tasks.remind_due", "schedule": 60.0},
    # The reminders' 48 h horizon moves on; also repairs what a bulk update changed without signals.
    "notifications-refresh-reminders": {"task": "apps.notifications.tasks.refresh_reminders", "schedule": 3600.0},
    # The weekly digest: people whose local time reached Thursday 18:00 since the last tick (digest.dispatch).
    "notifications-digest": {"task": "apps.notifications.tasks.digest_tick", "schedule": 300.0},
}
