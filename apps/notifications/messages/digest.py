"""The weekly digest "Your weekend", rendered from the context digest.py stored: the person's plans by day in
their zone, the clashes to fix, the recommendations and why."""

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apps.notifications import rendering
from apps.notifications.models import Kind, Notification
from apps.notifications.unsubscribe import footer


def _local(value: str, zone: ZoneInfo) -> datetime:
    return datetime.fromisoformat(value).astimezone(zone)


def _time(item: dict[str, Any], zone: ZoneInfo) -> str:
    if item.get("all_day"):
        return "All day"
    start = _local(item["start"], zone)
    end = _local(item["end"], zone) if item.get("end") else None
    return f"{start:%H:%M}" + (f"–{end:%H:%M}" if end and end.date() == start.date() else "")


def _subject(saturday: date, plans: int, clashes: int) -> str:
    sunday = saturday + timedelta(days=1)
    days = (
        f"{saturday:%a %d}–{sunday:%a %d %B}"
        if saturday.month == sunday.month
        else f"{saturday:%a %d %b}–{sunday:%a %d %b}"
    )
    what = f"{plans} plan{'s' if plans != 1 else ''}" if plans else "nothing planned yet"
    if clashes:
        what += f", {clashes} clash{'es' if clashes != 1 else ''} to fix"
    return f"Your weekend, {days}: {what}"


@rendering.register(Kind.DIGEST)
def render_digest(notification: Notification) -> rendering.Rendered:
    context = notification.context
    zone = ZoneInfo(str(context.get("timezone") or "UTC"))
    saturday = date.fromisoformat(str(context["saturday"]))
    days = []
    for offset in (0, 1):
        day = saturday + timedelta(days=offset)
        items = [
            {**plan, "time": _time(plan, zone)}
            for plan in context.get("plans", [])
            if _local(plan["start"], zone).date() == day or (offset == 0 and _local(plan["start"], zone).date() < day)
        ]
        days.append({"name": f"{day:%A %d %B}", "plans": items})
    recommendations = [
        {
            **item,
            "when": f"{_local(item['start'], zone):%a %H:%M}"
            if not item.get("all_day")
            else f"{_local(item['start'], zone):%a}, all day",
        }
        for item in context.get("recommendations", [])
    ]
    clashes = list(context.get("clashes", []))
    foot, headers = footer(
        user=notification.user, kind=Kind.DIGEST, reason="You get “Your weekend” every Thursday evening."
    )
    values = {
        **foot,
        "subject": _subject(saturday, len(context.get("plans", [])), len(clashes)),
        "days": days,
        "clashes": clashes,
        "recommendations": recommendations,
        "zone": str(zone),
        "weekend_url": context.get("weekend_url", ""),
        "plan_url": context.get("plan_url", ""),
    }
    return rendering.render_templates("digest", values, headers={"Auto-Submitted": "auto-generated", **headers})
