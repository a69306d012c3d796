from django.apps import AppConfig


class ItinerariesConfig(AppConfig):
    name = "apps.itineraries"
    label = "itineraries"
    verbose_name = "Itineraries"

    def ready(self) -> None:
        from apps.core import panels
        from apps.itineraries import personal_data, views
        from apps.users import personal_data as registry

        panels.register_personal_list("plan-my-weekend", views.render_plan_panel, order=5)
        registry.register("itineraries", export=personal_data.export, erase=personal_data.erase)
