"""What an email of each kind says: one renderer per kind, registered with `@register(kind)` in
`apps/notifications/messages/<name>.py` (every module of that package is imported when the app is ready).

A renderer reads only the notification's own fields and `context` (the asker put there everything the message
needs), so rendering is the same in a worker as in the request that asked, and never reads another app's data.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.template.loader import render_to_string

from apps.notifications.models import Notification


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes | str
    mimetype: str  # may carry parameters: "text/calendar; method=REQUEST"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()


Renderer = Callable[[Notification], Rendered]

_renderers: dict[str, Renderer] = {}


class NoRenderer(LookupError):
    pass


def register(kind: str) -> Callable[[Renderer], Renderer]:
    """Declares the renderer of `kind`; a kind has one renderer (a second registration is a mistake)."""

    def decorate(renderer: Renderer) -> Renderer:
        existing = _renderers.get(kind)
        if existing is not None and existing is not renderer:
            same = (existing.__module__, existing.__qualname__) == (renderer.__module__, renderer.__qualname__)
            if not same:  # a module imported twice under one name re-registers itself: fine
                raise ValueError(f"{kind} already has a renderer: {existing.__module__}.{existing.__qualname__}")
        _renderers[kind] = renderer
        return renderer

    return decorate


def registered() -> frozenset[str]:
    return frozenset(_renderers)


def render(notification: Notification) -> Rendered:
    try:
        renderer = _renderers[notification.kind]
    except KeyError:
        raise NoRenderer(f"No renderer registered for {notification.kind!r}") from None
    return renderer(notification)


def render_templates(name: str, context: dict[str, Any], **extra: Any) -> Rendered:
    """Renders `templates/notifications/email/<name>.subject.txt`, `.txt` and `.html` with `context`; `extra` are
    Rendered's other fields (headers, attachments). The subject is one line whatever the template's whitespace."""
    subject = " ".join(render_to_string(f"notifications/email/{name}.subject.txt", context).split())
    text = render_to_string(f"notifications/email/{name}.txt", context)
    html = render_to_string(f"notifications/email/{name}.html", context)
    return Rendered(subject=subject, text=text, html=html, **extra)
