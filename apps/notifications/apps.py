from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from apps.core.notify import notification_requested
        from apps.notifications import messages, receivers

        notification_requested.connect(receivers.on_notification_requested, dispatch_uid="notifications.requested")
        messages.load()  # each kind's renderer registers itself
