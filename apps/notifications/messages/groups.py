"""The emails about groups: an invitation, a poll opening or closing, a group plan made, changed or cancelled.

groups builds their contexts (notifications cannot import it): names, labels and absolute links, never a member's
private plan titles. A group plan's email carries its iTIP invitation (`context["ics"]`) as an attachment, so a
calendar app offers to add, update or remove it.
"""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apps.notifications import rendering
from apps.notifications.models import Kind, Notification
from apps.notifications.unsubscribe import footer

AUTO = {"Auto-Submitted": "auto-generated"}


def _values(notification: Notification, reason: str, **values: Any) -> tuple[dict[str, Any], dict[str, str]]:
    foot, headers = footer(user=notification.user, kind=notification.kind, reason=reason)
    context = notification.context
    return {
        **foot,
        "group_name": str(context.get("group_name", "")),
        "url": str(context.get("url", "")),
        **values,
    }, {**AUTO, **headers}


def _zone(name: Any) -> ZoneInfo:
    try:
        return ZoneInfo(str(name or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _local(value: Any, zone: ZoneInfo) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)).astimezone(zone)
    except ValueError:
        return None


def _when(start: datetime | None, end: datetime | None) -> str:
    if start is None:
        return ""
    text = f"{start:%A %d %B %Y, %H:%M}"
    if end is not None:
        text += f"–{end:%H:%M}" if end.date() == start.date() else f" – {end:%A %d %B %Y, %H:%M}"
    return text


@rendering.register(Kind.GROUP_INVITATION)
def render_group_invitation(notification: Notification) -> rendering.Rendered:
    context = notification.context
    expires = _local(context.get("expires"), ZoneInfo("UTC"))
    values, headers = _values(
        notification,
        "You get this because a member of the group invited this address.",
        inviter_name=str(context.get("inviter_name", "")) or "Someone",
        expires=f"{expires:%d %B %Y}" if expires else "",
    )
    return rendering.render_templates("group_invitation", values, headers=headers)


def _render_poll(notification: Notification, name: str) -> rendering.Rendered:
    context = notification.context
    values, headers = _values(
        notification,
        "You get this because you are a member of this group.",
        question=str(context.get("question", "")),
        options=[str(label) for label in context.get("options") or []],
        winner=str(context.get("winner") or ""),
    )
    return rendering.render_templates(name, values, headers=headers)


@rendering.register(Kind.POLL_OPENED)
def render_poll_opened(notification: Notification) -> rendering.Rendered:
    return _render_poll(notification, "poll_opened")


@rendering.register(Kind.POLL_CLOSED)
def render_poll_closed(notification: Notification) -> rendering.Rendered:
    return _render_poll(notification, "poll_closed")


@rendering.register(Kind.GROUP_PLAN_CHANGED)
def render_group_plan_changed(notification: Notification) -> rendering.Rendered:
    context = notification.context
    zone = _zone(context.get("timezone"))
    change = str(context.get("change") or "updated")
    start, end = _local(context.get("start"), zone), _local(context.get("end"), zone)
    values, headers = _values(
        notification,
        "You get this because you are a member of this group.",
        title=str(context.get("title", "")),
        change=change,
        when=_when(start, end),
        day=f"{start:%a %d %b}" if start else "",
        zone=str(zone),
        location=str(context.get("location", "")),
    )
    attachments: tuple[rendering.Attachment, ...] = ()
    if context.get("ics"):
        method = "CANCEL" if change == "cancelled" else "REQUEST"
        attachments = (
            rendering.Attachment(
                filename="invite.ics" if method == "REQUEST" else "cancel.ics",
                content=str(context["ics"]),
                mimetype=f"text/calendar; method={method}",
            ),
        )
    return rendering.render_templates("group_plan_changed", values, headers=headers, attachments=attachments)
