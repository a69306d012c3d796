"""The PostgreSQL backend's health check (apps.core.db_backends.postgresql): a connection that just served a
request cleanly is not pinged again within DATABASE_CHECK_DELAY_SECONDS; one that failed, or sat idle longer, is.

Each test drives its own connection to the test database through the calls Django makes at a request's start and
end (close_old_connections), and counts the pings by wrapping is_usable; the database is the real one."""

from collections.abc import Iterator

import pytest
from django.db import OperationalError, connections
from django.test import override_settings

from apps.core.db_backends.postgresql.base import DatabaseWrapper

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def conn() -> Iterator[DatabaseWrapper]:
    connection = connections.create_connection("default")
    assert isinstance(connection, DatabaseWrapper)
    connection.settings_dict["CONN_MAX_AGE"] = 60
    connection.settings_dict["CONN_HEALTH_CHECKS"] = True
    yield connection
    connection.close()


@pytest.fixture
def pings(conn: DatabaseWrapper, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real_is_usable = conn.is_usable

    def counted() -> bool:
        calls.append(1)
        return bool(real_is_usable())

    monkeypatch.setattr(conn, "is_usable", counted)
    return calls


def request(conn: DatabaseWrapper, sql: str = "SELECT 1") -> object:
    conn.close_if_unusable_or_obsolete()  # request_started
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()
    finally:
        conn.close_if_unusable_or_obsolete()  # request_finished


def test_backend_is_ours(conn: DatabaseWrapper) -> None:
    assert type(conn) is DatabaseWrapper


@override_settings(DATABASE_CHECK_DELAY_SECONDS=60)
def test_a_connection_used_cleanly_is_not_pinged_within_the_delay(conn: DatabaseWrapper, pings: list[int]) -> None:
    request(conn)  # connects: nothing to check yet
    for _ in range(3):
        assert request(conn) == (1,)
    assert pings == []


@override_settings(DATABASE_CHECK_DELAY_SECONDS=0)
def test_without_a_delay_every_request_pings_as_django_does(conn: DatabaseWrapper, pings: list[int]) -> None:
    request(conn)
    request(conn)
    request(conn)
    assert len(pings) == 2


@override_settings(DATABASE_CHECK_DELAY_SECONDS=60)
def test_a_request_that_took_no_cursor_does_not_renew_the_trust(conn: DatabaseWrapper, pings: list[int]) -> None:
    request(conn)
    conn.proven_at -= 120  # as if the last clean request were two minutes ago
    conn.close_if_unusable_or_obsolete()  # a request that never touched the database
    conn.close_if_unusable_or_obsolete()
    request(conn)
    assert len(pings) == 1


def terminate(conn: DatabaseWrapper) -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [conn.connection.info.backend_pid])


@override_settings(DATABASE_CHECK_DELAY_SECONDS=60)
def test_a_dropped_connection_past_the_delay_is_replaced_first(conn: DatabaseWrapper, pings: list[int]) -> None:
    request(conn)
    terminate(conn)
    conn.proven_at -= 120
    assert request(conn) == (1,)
    assert len(pings) == 1


@override_settings(DATABASE_CHECK_DELAY_SECONDS=60)
def test_a_dropped_connection_within_the_delay_fails_one_request_then_recovers(conn: DatabaseWrapper) -> None:
    request(conn)
    terminate(conn)
    with pytest.raises(OperationalError):
        request(conn)
    assert conn.connection is None  # closed at the failed request's end
    assert request(conn) == (1,)
