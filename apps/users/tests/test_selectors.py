"""The users selectors: the personal-data export section by section, and which second factors a person has."""

import pytest
from allauth.mfa.models import Authenticator

from apps.users import personal_data, selectors, services
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_export_has_one_section_per_registered_exporter_and_only_the_persons_data() -> None:
    user = UserFactory(email="ana@example.test")
    services.profile_update(profile=user.profile, data={"display_name": "Ana", "interests": ["music"]})
    UserFactory(email="ben@example.test")

    export = selectors.user_export(user=user)

    assert set(export) == {section.name for section in personal_data.sections()}
    assert export["account"]["email"] == "ana@example.test"
    assert export["profile"]["display_name"] == "Ana"
    assert export["profile"]["interests"] == ["music"]
    assert "ben@example.test" not in str(export)


def test_second_factor_types_counts_totp_and_passkeys_not_recovery_codes() -> None:
    user = UserFactory()
    assert selectors.second_factor_types(user=user) == set()

    Authenticator.objects.create(user=user, type=Authenticator.Type.RECOVERY_CODES, data={"seed": "s"})
    assert selectors.second_factor_types(user=user) == set()

    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "s"})
    assert selectors.second_factor_types(user=user) == {"totp"}


def test_the_second_factor_export_never_holds_the_secrets() -> None:
    user = UserFactory()
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"})

    exported = selectors.second_factors_export(user)

    assert [entry["type"] for entry in exported] == ["totp"]
    assert "JBSWY3DPEHPK3PXP" not in str(exported)
