from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "apps.users"
    label = "users"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from apps.users import checks, personal_data, selectors, signals  # noqa: F401 - connects receivers, checks
        from apps.users.api import schema  # noqa: F401 - registers the OpenAPI auth extension

        personal_data.register("account", export=selectors.account_export)
        personal_data.register("profile", export=selectors.profile_export)
        personal_data.register("second_factors", export=selectors.second_factors_export)
