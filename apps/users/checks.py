"""Deployment checks (`manage.py check --deploy`) for accounts."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def staff_second_factor_check(
    *, app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None, **kwargs: Any
) -> list[CheckMessage]:
    # Production turns the requirement on by default; switching it off there should be loud, not silent.
    if getattr(settings, "PRODUCTION", False) and not settings.STAFF_MFA_REQUIRED:
        return [
            Warning(
                "STAFF_MFA_REQUIRED is off: staff reach the Django admin with a password alone.",
                hint="Unset STAFF_MFA_REQUIRED (production turns it on), or silence users.W001 on purpose.",
                id="users.W001",
            )
        ]
    return []
