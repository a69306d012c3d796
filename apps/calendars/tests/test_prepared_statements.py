"""apps.core.queries.prepared_cursor on PostgreSQL, tested here on the queries that use it: the hot compiled queries
are prepared once per connection, Django still sees and counts every execution, ints travel as bigint (so a
btree_gist index on a bigint column applies), and Django's own client-bound cursors prepare nothing."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.calendars.window_slots import SPAN_SQL
from apps.core import queries
from apps.users.identity import _compiled, user_with_profile
from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _prepared() -> list[tuple[str, list[str]]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, parameter_types::text[] FROM pg_prepared_statements")
        return [(statement, list(types)) for statement, types in cursor.fetchall()]


def test_the_identity_query_is_prepared_once_and_still_counted() -> None:
    person = UserFactory()
    with CaptureQueriesContext(connection) as captured:
        for _ in range(3):
            assert user_with_profile(person.pk) == person
    assert len(captured.captured_queries) == 3  # query counts (django_assert_num_queries) see prepared ones too
    identity = [types for statement, types in _prepared() if statement == _compiled().sql.replace("%s", "$1")]
    assert identity == [["bigint"]]  # one statement for the three runs, its id typed as the column is


def test_client_bound_queries_are_not_prepared() -> None:
    person = UserFactory()
    for _ in range(3):
        list(User.objects.filter(pk=person.pk))
    assert not [statement for statement, _ in _prepared() if "users_user" in statement]


def test_a_small_int_still_reaches_the_gist_index_on_a_bigint_column() -> None:
    # A small value whatever the id sequence has reached in this run (ids come from a sequence that rollbacks do not
    # rewind): psycopg alone would send it as a smallint. The plan needs no row behind it.
    calendar_id = 7
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        # calendars_plan's GiST index (migration 0004) on a table of its own: on calendars_plan, btree indexes on
        # calendar_id serve the query too, and the planner's pick among them follows the table's size on disk
        # (what other tests wrote and rolled back).
        cursor.execute(
            "CREATE TEMPORARY TABLE span_probe (id bigint, calendar_id bigint, series_start_utc timestamptz,"
            " series_end_utc timestamptz) ON COMMIT DROP"
        )
        cursor.execute(f"CREATE INDEX span_probe_gist ON span_probe USING gist (calendar_id, {SPAN_SQL})")
    # Constant SQL: the indexed expression is ours (window_slots.SPAN_SQL); the id is a bound parameter.
    sql = f"EXPLAIN SELECT id FROM span_probe WHERE calendar_id = %s AND {SPAN_SQL} && tstzrange(now(), 'infinity')"  # noqa: S608
    with queries.prepared_cursor(connection) as cursor:
        cursor.execute(sql, [calendar_id])
        plan = [row[0] for row in cursor.fetchall()]
    assert "span_probe_gist" in plan[0]
    index_condition = next(line for line in plan if "Index Cond" in line)
    assert "calendar_id =" in index_condition, plan  # a smallint would only be a Filter, after the index


def test_rows_reads_the_same_rows_as_the_orm() -> None:
    people = [UserFactory() for _ in range(3)]
    orm = User.objects.filter(pk__in=[people[0].pk, people[2].pk]).values_list("email", "date_joined").order_by("pk")
    stand_ins = User.objects.filter(pk__in=[-1, -2]).values_list("email", "date_joined").order_by("pk")
    query = queries.compiled(stand_ins, {-1: "a", -2: "b"})
    for _ in range(2):  # prepared on the first run, executed from the statement on the second
        found = queries.rows(query, {"a": people[0].pk, "b": people[2].pk})
        assert found == list(orm)  # timestamps read by psycopg's compiled loader: the same instants, in UTC
        assert all(joined.utcoffset() == timedelta(0) for _, joined in found)


def test_the_query_log_shows_a_prepared_query_with_its_values() -> None:
    person = UserFactory()
    with CaptureQueriesContext(connection) as captured:
        user_with_profile(person.pk)
    (logged,) = (query["sql"] for query in captured.captured_queries)
    assert logged.endswith(f'WHERE "users_user"."id" = {person.pk}')


@pytest.mark.django_db(transaction=True)  # reconnects with other options
def test_with_prepared_statements_turned_off_nothing_is_prepared(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    person = UserFactory()
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "prepare_threshold", None)  # DATABASE_PREPARED_STATEMENTS
    connection.close()
    try:
        for _ in range(3):
            assert user_with_profile(person.pk) == person
        assert not [statement for statement, _ in _prepared() if "users_user" in statement]
    finally:
        connection.close()  # the next test connects with the default options again
