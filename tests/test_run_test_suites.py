"""The addresses scripts/run_test_suites.py gives its side process: never the suite's."""

import pytest

from scripts.run_test_suites import side_redis_database, suffixed_database


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6379/9", "redis://127.0.0.1:6379/11"),
        ("redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/1"),
        ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379/2"),
        ("redis://127.0.0.1:6379/", "redis://127.0.0.1:6379/2"),
        ("redis://:secret@cache.internal:6380/0", "redis://:secret@cache.internal:6380/2"),
    ],
)
def test_the_side_process_gets_redis_databases_past_the_suites(url: str, expected: str) -> None:
    assert side_redis_database(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgres://postgres@127.0.0.1:5432/weekend_planner",
            "postgres://postgres@127.0.0.1:5432/weekend_planner_side",
        ),
        ("postgres://u@db:5432/wp?sslmode=require", "postgres://u@db:5432/wp_side?sslmode=require"),
    ],
)
def test_the_side_process_gets_a_database_name_of_its_own(url: str, expected: str) -> None:
    assert suffixed_database(url, "_side") == expected
