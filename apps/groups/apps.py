from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "apps.groups"
    label = "groups"
    verbose_name = "Groups"

    def ready(self) -> None:
        from apps.groups import personal_data
        from apps.users import personal_data as registry

        registry.register("groups", export=personal_data.export, erase=personal_data.erase)
