"""What beat runs for notifications; planner/celery.py collects every app's BEAT_SCHEDULE."""

BEAT_SCHEDULE = {
    # Deferred emails (quiet hours, backoffs) whose time has come, and sends whose task was lost.
    "notifications-send-due": {"task": "apps.notifications.tasks.send_due", "schedule": 60.0},
}
