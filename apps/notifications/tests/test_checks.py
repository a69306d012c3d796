"""The deploy checks refuse a production that would send email nowhere or link to a non-HTTPS site."""

from typing import Any

import pytest
from django.core.checks import registry

from apps.notifications.checks import email_delivery_check


def _ids() -> set[str]:
    return {message.id for message in email_delivery_check(app_configs=None, databases=None) if message.id}


@pytest.fixture
def production(settings: Any) -> Any:
    settings.PRODUCTION = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.SITE_URL = "https://weekendplanner.example"
    return settings


def test_production_with_smtp_and_https_passes(production: Any) -> None:
    assert _ids() == set()


@pytest.mark.parametrize("backend", ["console", "locmem", "dummy", "filebased"])
def test_production_without_a_mail_server_is_warned(production: Any, backend: str) -> None:
    production.EMAIL_BACKEND = f"django.core.mail.backends.{backend}.EmailBackend"
    assert _ids() == {"notifications.W001"}


def test_production_linking_to_plain_http_is_warned(production: Any) -> None:
    production.SITE_URL = "http://127.0.0.1:8000"
    assert _ids() == {"notifications.W002"}


def test_outside_production_nothing_is_checked(settings: Any) -> None:
    settings.PRODUCTION = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    settings.SITE_URL = "http://127.0.0.1:8000"
    assert _ids() == set()


def test_the_check_runs_with_manage_py_check_deploy() -> None:
    assert email_delivery_check in registry.registry.get_checks(include_deployment_checks=True)
    assert email_delivery_check not in registry.registry.get_checks(include_deployment_checks=False)
