from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "apps.events"
    label = "events"
    verbose_name = "Events catalogue"

    def ready(self) -> None:
        from apps.core.metrics import register_web_collector
        from apps.events.metrics import SourceSyncCollector

        register_web_collector(SourceSyncCollector())
