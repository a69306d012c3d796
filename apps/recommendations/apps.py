from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "apps.recommendations"
    label = "recommendations"
    verbose_name = "Recommendations"

    def ready(self) -> None:
        from apps.recommendations import personal_data, rankers  # noqa: F401 - registers the rankers
        from apps.users import personal_data as registry

        registry.register("recommendations", export=personal_data.export, erase=personal_data.erase)

        from apps.core import panels
        from apps.recommendations import views

        panels.register_personal_list("for-you", views.render_for_you, order=10)

        from apps.events.signals import events_changed
        from apps.recommendations import catalogue

        # A sync in this process: its next list reads the catalogue's version rather than waiting out the interval.
        events_changed.connect(lambda **_: catalogue.recheck(), weak=False, dispatch_uid="recommendations.recheck")
