"""What beat runs for calendars; planner/celery.py collects every app's BEAT_SCHEDULE."""

BEAT_SCHEDULE = {
    # Each subscription has its own interval (60 min by default); this enqueues the ones that are due.
    "sync-due-subscriptions": {"task": "apps.calendars.tasks.sync_due_subscriptions", "schedule": 300.0},
}
