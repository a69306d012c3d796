from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    name = "apps.calendars"
    label = "calendars"
    verbose_name = "Calendars and plans"

    def ready(self) -> None:
        from apps.calendars import personal_data, signals  # noqa: F401 - connects receivers
        from apps.users import personal_data as registry

        registry.register("calendars", export=personal_data.export)
