"""The reminder email: one occurrence of one of the person's plans, at the time they chose, in their own zone.

Context (reminders.py builds it): {"title", "start", "end" (ISO UTC), "all_day", "timezone" (the person's),
"location", "minutes" (the lead time), "url"}.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from apps.notifications import rendering
from apps.notifications.models import Kind, Notification
from apps.notifications.unsubscribe import footer


def _lead(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} hour{'s' if hours != 1 else ''}" if hours else f"{rest} minute{'s' if rest != 1 else ''}"


@rendering.register(Kind.REMINDER)
def render_reminder(notification: Notification) -> rendering.Rendered:
    context = notification.context
    zone = ZoneInfo(str(context.get("timezone") or "UTC"))
    start = datetime.fromisoformat(str(context["start"])).astimezone(zone)
    end = datetime.fromisoformat(str(context["end"])).astimezone(zone) if context.get("end") else None
    lead = _lead(int(str(context.get("minutes") or 0)))
    # Reminders can be turned off like every other kind: the one-click List-Unsubscribe headers and the footer.
    foot, headers = footer(
        user=notification.user,
        kind=notification.kind,
        reason=f"You get this reminder {lead} before each of your plans.",
    )
    values = {
        **foot,
        "title": context.get("title", ""),
        "location": context.get("location", ""),
        "url": context.get("url", ""),
        "lead": lead,
        # Spelled out rather than localised: the person reads it in their own zone, which the email names.
        "when": f"{start:%A %d %B %Y, %H:%M}" + (f"–{end:%H:%M}" if end and end.date() == start.date() else ""),
        "start_time": f"{start:%H:%M}",
        "zone": str(zone),
    }
    return rendering.render_templates("reminder", values, headers={**headers, "Auto-Submitted": "auto-generated"})
