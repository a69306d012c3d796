from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "apps.events"
    label = "events"
    verbose_name = "Events catalogue"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from apps.core.metrics import register_web_collector
        from apps.events import public_cache, signals
        from apps.events.metrics import SourceSyncCollector
        from apps.events.models import Event

        register_web_collector(SourceSyncCollector())
        # Anonymous catalogue reads are cached by the catalogue's version: every change retires them.
        signals.events_changed.connect(public_cache.events_changed, dispatch_uid="events.public_cache")
        post_save.connect(public_cache.event_saved_or_deleted, sender=Event, dispatch_uid="events.public_cache_save")
        post_delete.connect(public_cache.event_saved_or_deleted, sender=Event, dispatch_uid="events.public_cache_del")
