from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from apps.notifications import checks, messages, personal_data, receivers  # noqa: F401  (checks register)
        from apps.users import personal_data as registry

        receivers.connect()
        messages.load()  # each kind's renderer registers itself
        registry.register("notifications", export=personal_data.export, erase=personal_data.erase)
