"""What beat runs for events; planner/celery.py collects every app's BEAT_SCHEDULE."""

BEAT_SCHEDULE = {
    # Each source has its own interval; this enqueues the ones that are due (see events.selectors).
    "schedule-due-syncs": {"task": "apps.events.tasks.schedule_due_syncs", "schedule": 60.0},
}
