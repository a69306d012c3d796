"""apps.core.queries.id_in: the same rows as a plain IN, with the ids as one parameter on PostgreSQL."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.queries import id_in

User = get_user_model()

pytestmark = pytest.mark.django_db


def test_it_selects_what_a_plain_in_selects() -> None:
    users = [User.objects.create_user(email=f"queries-{n}@example.test", password=None) for n in range(4)]
    wanted = [users[0].pk, users[2].pk, 10**12]
    assert set(User.objects.filter(id_in("id", wanted)).values_list("pk", flat=True)) == {users[0].pk, users[2].pk}
    assert not User.objects.filter(id_in("id", [])).exists()


def test_ten_thousand_ids_are_one_parameter() -> None:
    with CaptureQueriesContext(connection) as queries:
        list(User.objects.filter(id_in("id", range(1, 10_001))))
    (sql,) = (query["sql"] for query in queries.captured_queries)
    assert "IN (SELECT unnest('{1,2,3," in sql  # one array literal, not 10,000 placeholders
