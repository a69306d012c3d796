"""Quiet hours (22:00-08:00 in the person's zone), checked as properties over instants and zones, DST days included."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from apps.notifications import quiet_hours

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham", "UTC"]
instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))


@given(now=instants, zone=st.sampled_from(ZONES))
def test_send_after_is_the_next_local_eight_oclock_during_quiet_hours_and_none_otherwise(now, zone):
    local = now.astimezone(ZoneInfo(zone))
    result = quiet_hours.send_after(now, zone)
    if time(8) <= local.time() < time(22):
        assert result is None
        return
    assert result is not None
    assert result > now
    assert result.astimezone(ZoneInfo(zone)).time() == time(8)
    # At most a night away: ten hours, plus the hour a DST change may add.
    assert result - now <= timedelta(hours=11)


def test_the_berlin_night_the_clocks_go_back_ends_at_eight_local():
    # 23:30 CEST on 24 October 2026; the night is an hour longer (02:00-03:00 happens twice).
    now = datetime(2026, 10, 24, 21, 30, tzinfo=UTC)
    assert quiet_hours.send_after(now, "Europe/Berlin") == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)


def test_just_before_eight_and_at_ten_at_night():
    assert quiet_hours.send_after(datetime(2026, 6, 17, 5, 59, tzinfo=UTC), "Europe/Berlin") == datetime(
        2026, 6, 17, 6, 0, tzinfo=UTC
    )
    assert quiet_hours.send_after(datetime(2026, 6, 17, 6, 0, tzinfo=UTC), "Europe/Berlin") is None
    assert quiet_hours.send_after(datetime(2026, 6, 17, 20, 0, tzinfo=UTC), "Europe/Berlin") == datetime(
        2026, 6, 18, 6, 0, tzinfo=UTC
    )
