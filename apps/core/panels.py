"""Personal lists on the pages of lower apps: an extension point (docs/architecture.md, "Extension points").

The home page (core), Discover (events) and My weekend (calendars) show, for a signed-in person, panels that higher
apps compute: "For you" (recommendations), "Plan my weekend" (itineraries) and later ones. Those apps cannot be
imported from here, so each registers a renderer in its `AppConfig.ready()`:

    panels.register_personal_list("for-you", render_for_you, order=10)

A renderer takes the request and a `PanelPlace` (which page, which weekend) and returns the panel's HTML, or None
to show nothing. The pages call `render_personal_lists` and place what comes back, in order.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import structlog
from django.http import HttpRequest
from django.utils.safestring import SafeString, mark_safe

logger = structlog.get_logger(__name__)

Page = Literal["home", "discover", "weekend"]
Weekend = Literal["this", "next"]


@dataclass(frozen=True)
class PanelPlace:
    """Where a panel is shown: the page and the weekend that page is about."""

    page: Page
    weekend: Weekend = "this"


Renderer = Callable[[HttpRequest, PanelPlace], str | None]


@dataclass(frozen=True)
class _Entry:
    name: str
    render: Renderer
    order: int


_REGISTRY: dict[str, _Entry] = {}


def register_personal_list(name: str, render: Renderer, *, order: int = 100) -> None:
    """Adds (or replaces, by name: ready() may run twice) a personal list; lists show by `order`, then name."""
    _REGISTRY[name] = _Entry(name=name, render=render, order=order)


def unregister_personal_list(name: str) -> None:
    _REGISTRY.pop(name, None)


def personal_list_names() -> list[str]:
    return [entry.name for entry in sorted(_REGISTRY.values(), key=lambda e: (e.order, e.name))]


def render_personal_lists(request: HttpRequest, place: PanelPlace) -> list[SafeString]:
    """The HTML of every registered list for a signed-in person, in order; nothing for anyone else. A renderer
    that fails is logged and left out: a personal list never takes the page down with it."""
    if not request.user.is_authenticated:
        return []
    found: list[SafeString] = []
    for name in personal_list_names():
        try:
            html = _REGISTRY[name].render(request, place)
        except Exception:  # one panel's failure must not break the page
            logger.exception("personal_list_failed", panel=name, page=place.page)
            continue
        if html:
            # Renderers return template output (escaped by the template engine), never raw input.
            found.append(mark_safe(html))  # noqa: S308  # nosec B308, B703
    return found
