from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "apps.analytics"
    label = "analytics"
    verbose_name = "Analytics and experiments"

    def ready(self) -> None:
        from apps.analytics import personal_data, receivers  # noqa: F401 - connects the signal receivers
        from apps.analytics.metrics import BusinessCollector
        from apps.core.metrics import register_web_collector
        from apps.users import personal_data as registry

        registry.register("experiments", export=personal_data.export, erase=personal_data.erase)
        registry.register("tracking", export=personal_data.export_tracking, erase=personal_data.erase_tracking)
        register_web_collector(BusinessCollector())
