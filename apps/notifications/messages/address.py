"""The address-confirmation email: a link that clears the person's bounce. Context: {"url"}. No opt-out (it is
only ever sent because the person asked for it)."""

from apps.notifications import rendering
from apps.notifications.models import Kind, Notification
from apps.notifications.unsubscribe import settings_url


@rendering.register(Kind.ADDRESS_CONFIRMATION)
def render_address_confirmation(notification: Notification) -> rendering.Rendered:
    values = {
        "url": notification.context["url"],
        "address": notification.to_address,
        "settings_url": settings_url(),
    }
    return rendering.render_templates("address_confirmation", values, headers={"Auto-Submitted": "auto-generated"})
