"""Rotating ENCRYPTION_KEY keeps private subscription URLs (encrypted at rest) readable, through each phase that
infra/ansible/playbooks/rotate-secrets.yml writes (docs/security.md, "Rotating the application keys"), and
`manage.py reencrypt` moves them to the new key so the old one can be retired without losing them."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from apps.calendars.models import Subscription
from apps.calendars.tests.factories import SubscriptionFactory
from apps.core.encryption import DecryptionError, encrypted_with_current_key

pytestmark = pytest.mark.django_db

OLD_KEY = "old-encryption-key-" + "o" * 32
NEW_KEY = "new-encryption-key-" + "n" * 32
PHASES = {
    "before": {"ENCRYPTION_KEY": OLD_KEY, "ENCRYPTION_KEY_NEXT": "", "ENCRYPTION_KEY_FALLBACKS": []},
    "stage": {"ENCRYPTION_KEY": OLD_KEY, "ENCRYPTION_KEY_NEXT": NEW_KEY, "ENCRYPTION_KEY_FALLBACKS": []},
    "promote": {"ENCRYPTION_KEY": NEW_KEY, "ENCRYPTION_KEY_NEXT": "", "ENCRYPTION_KEY_FALLBACKS": [OLD_KEY]},
    "retire": {"ENCRYPTION_KEY": NEW_KEY, "ENCRYPTION_KEY_NEXT": "", "ENCRYPTION_KEY_FALLBACKS": []},
}


def _phase(name: str) -> override_settings:
    return override_settings(**PHASES[name])


def _stored(subscription: Subscription) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT url FROM calendars_subscription WHERE id = %s", [subscription.pk])
        return str(cursor.fetchone()[0])


def _read(subscription: Subscription) -> str:
    return Subscription.objects.get(pk=subscription.pk).url


def test_a_value_written_under_the_old_key_stays_readable_and_new_writes_use_the_new_key():
    with _phase("before"):
        old = SubscriptionFactory(url="https://calendar.example.com/private-old/basic.ics")

    for name in ("stage", "promote"):
        with _phase(name):
            assert _read(old) == "https://calendar.example.com/private-old/basic.ics", name

    with _phase("promote"):
        new = SubscriptionFactory(url="https://calendar.example.com/private-new/basic.ics")
        assert encrypted_with_current_key(_stored(new))
        assert not encrypted_with_current_key(_stored(old))
    # The new value is really under the new key: the old key alone cannot open it.
    with _phase("before"), pytest.raises(DecryptionError):
        _read(new)


def test_during_the_rollout_a_pod_not_yet_promoted_reads_what_a_promoted_one_wrote():
    with _phase("promote"):
        written = SubscriptionFactory(url="https://calendar.example.com/private-rollout/basic.ics")
    with _phase("stage"):
        assert _read(written) == "https://calendar.example.com/private-rollout/basic.ics"


def test_retiring_the_old_key_before_reencrypting_makes_values_unreadable():
    with _phase("before"):
        old = SubscriptionFactory()
    with _phase("retire"), pytest.raises(DecryptionError):
        _read(old)


def test_reencrypt_moves_every_value_to_the_new_key_so_the_old_one_can_go():
    with _phase("before"):
        olds = [SubscriptionFactory(url=f"https://calendar.example.com/private-{n}/basic.ics") for n in range(3)]
    with _phase("promote"):
        current = SubscriptionFactory(url="https://calendar.example.com/private-current/basic.ics")
        current_token = _stored(current)
        out = StringIO()
        call_command("reencrypt", batch_size=2, stdout=out)
        assert "calendars.Subscription.url: 3 re-encrypted" in out.getvalue()
        assert _stored(current) == current_token  # already under the new key: left alone
        out = StringIO()
        call_command("reencrypt", stdout=out)  # a second run has nothing left to do
        assert "calendars.Subscription.url: 0 re-encrypted" in out.getvalue()

    with _phase("retire"):
        assert [_read(s) for s in olds] == [f"https://calendar.example.com/private-{n}/basic.ics" for n in range(3)]
        assert all(encrypted_with_current_key(_stored(s)) for s in olds)
