"""How an app below notifications asks for an email without importing it (the layers contract forbids that).

    notification_requested.send(sender=..., kind="...", user_id=..., key="...", context={...})

apps.notifications connects the receiver; `key` is the idempotency key (the same request twice sends one email).
With the notifications app not installed, the signal has no receiver and nothing happens.
"""

from django.dispatch import Signal

notification_requested = Signal()
