"""apps.core.queries.id_in: the same rows as a plain IN, with the ids as one parameter on PostgreSQL.
apps.core.queries.compiled: a queryset's SQL with named parameters, its constants written in as literals.
apps.core.queries.generic_plan: the plan of a prepared statement, and a clear error where nothing is prepared."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.queries import compiled, generic_plan, id_in, rows

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


def test_compiled_writes_its_constants_into_the_sql_and_binds_the_rest() -> None:
    alice = User.objects.create_user(email="queries-alice@example.test", password=None)
    User.objects.create_user(email="queries-bob@example.test", password=None)
    # A constant holding a quote and a percent sign, and SQL whose own percent sign is escaped: both must stay so.
    query = (
        User.objects.filter(email__startswith="queries-")
        .exclude(email="it's 100%")
        .extra(where=["email NOT LIKE '%%@nowhere.test'"])
        .values_list("pk")
    )
    stand_ins = {"queries-%": "prefix", "it's 100%": "excluded"}

    sql, names = compiled(query, stand_ins, constants={"excluded"})

    assert names == ("prefix",)
    assert "'it''s 100%%'" in sql
    assert "'%%@nowhere.test'" in sql
    found = rows((sql, names), {"prefix": "queries-a%"})
    assert found == [(alice.pk,)]  # the literals are read back as the constants they stand for
    assert compiled(query, stand_ins)[1] == ("prefix", "excluded")  # without constants: all bound


@pytest.mark.django_db(transaction=True)  # reconnects with other options
def test_without_prepared_statements_there_is_no_generic_plan_to_show(monkeypatch: pytest.MonkeyPatch) -> None:
    statement = 'SELECT "id" FROM "users_user" WHERE "email" LIKE %s'
    assert "$1" in "\n".join(generic_plan(connection, statement, ["%@example.test"]))  # planned for any value
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "prepare_threshold", None)  # DATABASE_PREPARED_STATEMENTS
    connection.close()
    try:
        with pytest.raises(RuntimeError, match="does not prepare"):
            generic_plan(connection, statement, ["%@example.test"])
    finally:
        connection.close()  # the next test connects with the default options again
