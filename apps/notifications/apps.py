from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from apps.notifications import checks, messages, receivers  # noqa: F401  (checks register themselves)

        receivers.connect()
        messages.load()  # each kind's renderer registers itself
