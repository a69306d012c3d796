from datetime import UTC, datetime

import pytest

from apps.core.time import parse_window_bound, weekend_window


@pytest.mark.parametrize(
    ("now", "which", "expected_start", "expected_end"),
    [
        # Wednesday in Berlin (winter, UTC+1): the coming Saturday 00:00 local = Friday 23:00 UTC.
        (datetime(2026, 12, 2, 12, 0, tzinfo=UTC), "this", datetime(2026, 12, 4, 23, 0, tzinfo=UTC),
         datetime(2026, 12, 6, 23, 0, tzinfo=UTC)),
        (datetime(2026, 12, 2, 12, 0, tzinfo=UTC), "next", datetime(2026, 12, 11, 23, 0, tzinfo=UTC),
         datetime(2026, 12, 13, 23, 0, tzinfo=UTC)),
        # Friday 23:30 UTC is already Saturday in Berlin: this weekend is the one under way.
        (datetime(2026, 12, 4, 23, 30, tzinfo=UTC), "this", datetime(2026, 12, 4, 23, 0, tzinfo=UTC),
         datetime(2026, 12, 6, 23, 0, tzinfo=UTC)),
        # Sunday evening: still this weekend.
        (datetime(2026, 12, 6, 20, 0, tzinfo=UTC), "this", datetime(2026, 12, 4, 23, 0, tzinfo=UTC),
         datetime(2026, 12, 6, 23, 0, tzinfo=UTC)),
        # The weekend of the spring DST change (29 March 2026): Saturday starts at UTC+1, Monday at UTC+2.
        (datetime(2026, 3, 25, 12, 0, tzinfo=UTC), "this", datetime(2026, 3, 27, 23, 0, tzinfo=UTC),
         datetime(2026, 3, 29, 22, 0, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_weekend_window_in_berlin(now, which, expected_start, expected_end):
    assert weekend_window(which, "Europe/Berlin", now=now) == (expected_start, expected_end)


def test_weekend_window_in_chicago_differs_from_utc():
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert weekend_window("this", "America/Chicago", now=now)[0] == datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
    assert weekend_window("this", "UTC", now=now)[0] == datetime(2026, 12, 5, 0, 0, tzinfo=UTC)


def test_parse_window_bound():
    assert parse_window_bound("2026-12-05", "Europe/Berlin") == datetime(2026, 12, 4, 23, 0, tzinfo=UTC)
    assert parse_window_bound("2026-12-05T10:00:00+02:00", "UTC") == datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    assert parse_window_bound("2026-12-05T10:00:00Z", "UTC") == datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="offset"):
        parse_window_bound("2026-12-05T10:00:00", "UTC")
    with pytest.raises(ValueError, match="date"):
        parse_window_bound("next tuesday", "UTC")
