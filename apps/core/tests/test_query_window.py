"""The `start`/`end` query window every windowed endpoint reads (apps.core.api.windows.query_window)."""

from datetime import UTC, datetime

import pytest
from rest_framework.exceptions import ValidationError

from apps.core.api.windows import query_window


def errors_of(params: dict[str, str], max_days: int = 14) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        query_window(params, tz="Europe/Berlin", max_days=max_days)
    return {name: [str(message) for message in messages] for name, messages in caught.value.detail.items()}  # type: ignore[union-attr]


def test_dates_are_local_midnights_and_offsets_are_kept() -> None:
    start, end = query_window({"start": "2026-06-20", "end": "2026-06-22T00:00:00Z"}, tz="Europe/Berlin", max_days=14)
    assert start == datetime(2026, 6, 19, 22, 0, tzinfo=UTC)
    assert end == datetime(2026, 6, 22, 0, 0, tzinfo=UTC)


def test_every_missing_or_unreadable_bound_is_named() -> None:
    assert set(errors_of({})) == {"start", "end"}
    assert set(errors_of({"start": "2026-06-20"})) == {"end"}
    assert set(errors_of({"start": "2026-02-31", "end": "2026-03-02"})) == {"start"}


def test_end_after_start_and_at_most_max_days_after_it() -> None:
    assert errors_of({"start": "2026-06-20", "end": "2026-06-20"}) == {"end": ["Must be later than start."]}
    assert query_window({"start": "2026-06-01", "end": "2026-06-15"}, tz="UTC", max_days=14)[1].day == 15
    too_long = {"start": "2026-06-01T00:00:00Z", "end": "2026-06-15T00:01:00Z"}
    assert errors_of(too_long) == {"end": ["A window is at most 14 days."]}  # a minute over is over
