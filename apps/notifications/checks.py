"""Deployment checks (`manage.py check --deploy`) for email: production must send it somewhere and link back to
itself, or reminders and digests vanish into the log without anyone noticing."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

# Backends that deliver nothing: fine for `make run` and the tests, never for production.
UNDELIVERED_BACKENDS = frozenset(
    {
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
    }
)


@register(Tags.compatibility, deploy=True)
def email_delivery_check(
    *, app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None, **kwargs: Any
) -> list[CheckMessage]:
    if not getattr(settings, "PRODUCTION", False):
        return []
    found: list[CheckMessage] = []
    if settings.EMAIL_BACKEND in UNDELIVERED_BACKENDS:
        found.append(
            Warning(
                f"EMAIL_URL sends email to {settings.EMAIL_BACKEND.rsplit('.', 2)[-2]}: nobody receives reminders, "
                "digests or invitations.",
                hint="Set EMAIL_URL in the environment's secret, e.g. smtp+tls://user:password@smtp.example.com:587.",
                id="notifications.W001",
            )
        )
    if not settings.SITE_URL.startswith("https://"):
        found.append(
            Warning(
                f"SITE_URL is {settings.SITE_URL!r}: links in emails would not reach the site over HTTPS.",
                hint="The chart derives SITE_URL from hosts.app; elsewhere set it to https://<the app's host>.",
                id="notifications.W002",
            )
        )
    return found
