import pytest

from apps.users.models import User


@pytest.fixture
def staff_client(client):
    """The test client signed in as a superuser: the operators' admin."""
    client.force_login(User.objects.create_superuser(email="ops@example.test", password="s3cret-passphrase"))
    return client
