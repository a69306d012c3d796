"""Recurrence expansion: wall-clock rules across DST, all-day and floating series, COUNT/UNTIL, RDATE/EXDATE,
overrides, caps, and our rule engine against dateutil (the engine recurring-ical-events uses). Pure: no DB."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest
from dateutil import rrule as du  # type: ignore[import-untyped]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.calendars.recurrence import (
    MAX_OCCURRENCES,
    Occurrence,
    OverrideSpec,
    RecurrenceError,
    Series,
    expand,
    normalise_rrule,
    parse_rule,
    series_end_utc,
    validate_rrule,
)

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local_day(day: date, zone: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC window of one local day."""
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def timed(zone: str, start: datetime, minutes: int = 60, **kwargs: object) -> Series:
    return Series(timezone=zone, start_local=start, end_local=start + timedelta(minutes=minutes), **kwargs)  # type: ignore[arg-type]


def all_day(zone: str, start: date, days: int = 1, **kwargs: object) -> Series:
    return Series(timezone=zone, all_day=True, start_date=start, end_date=start + timedelta(days=days), **kwargs)  # type: ignore[arg-type]


def starts(occurrences: list[Occurrence]) -> list[datetime]:
    return [o.start_utc for o in occurrences]


# --- Daylight-saving time -------------------------------------------------------------------------------------


def test_every_saturday_10_berlin_stays_10_local_across_both_dst_changes() -> None:
    series = timed("Europe/Berlin", datetime(2026, 3, 21, 10), 120, rrule="FREQ=WEEKLY;BYDAY=SA")
    spring = expand(series, utc(2026, 3, 20), utc(2026, 4, 5))
    assert starts(spring) == [utc(2026, 3, 21, 9), utc(2026, 3, 28, 9), utc(2026, 4, 4, 8)]
    assert [o.start_local.isoformat() for o in spring if o.start_local] == [
        "2026-03-21T10:00:00+01:00",
        "2026-03-28T10:00:00+01:00",
        "2026-04-04T10:00:00+02:00",
    ]
    assert [o.end_utc - o.start_utc for o in spring] == [timedelta(hours=2)] * 3
    autumn = expand(series, utc(2026, 10, 20), utc(2026, 11, 1))
    assert starts(autumn) == [utc(2026, 10, 24, 8), utc(2026, 10, 31, 9)]
    assert {o.start_local.hour for o in autumn if o.start_local} == {10}
    assert [o.recurrence_id for o in autumn] == ["2026-10-24T10:00:00", "2026-10-31T10:00:00"]


def test_daily_9am_chicago_across_both_dst_changes() -> None:
    series = timed("America/Chicago", datetime(2026, 3, 6, 9), rrule="FREQ=DAILY")
    # 15:00 UTC in CST, 14:00 UTC in CDT: the wall clock stays at 9:00 across both changes.
    spring = [utc(2026, 3, 6, 15), utc(2026, 3, 7, 15), utc(2026, 3, 8, 14), utc(2026, 3, 9, 14)]
    assert starts(expand(series, utc(2026, 3, 6), utc(2026, 3, 10))) == spring
    autumn = [utc(2026, 10, 31, 14), utc(2026, 11, 1, 15), utc(2026, 11, 2, 15)]
    assert starts(expand(series, utc(2026, 10, 31), utc(2026, 11, 3))) == autumn


@pytest.mark.parametrize(
    ("zone", "gap_day", "fold_day", "clock", "gap_utc", "fold_utc"),
    [
        # 02:30 does not exist on 29 March in Berlin (read with the offset before the gap: 03:30 CEST) and
        # happens twice on 25 October (the first one, CEST).
        ("Europe/Berlin", date(2026, 3, 29), date(2026, 10, 25), time(2, 30), utc(2026, 3, 29, 1, 30),
         utc(2026, 10, 25, 0, 30)),
        ("America/Chicago", date(2026, 3, 8), date(2026, 11, 1), time(1, 30), utc(2026, 3, 8, 7, 30),
         utc(2026, 11, 1, 6, 30)),
    ],
)  # fmt: skip
def test_nonexistent_local_times_move_forward_and_ambiguous_ones_take_the_first(
    zone: str, gap_day: date, fold_day: date, clock: time, gap_utc: datetime, fold_utc: datetime
) -> None:
    tz = zoneinfo.ZoneInfo(zone)
    series = timed(zone, datetime.combine(gap_day - timedelta(days=1), clock), 30, rrule="FREQ=DAILY")
    fold = expand(series, *local_day(fold_day, tz))
    assert starts(fold) == [fold_utc]
    if zone == "America/Chicago":  # 01:30 is not in Chicago's gap (02:00-03:00); use 02:30 for the gap
        series = timed(zone, datetime.combine(gap_day - timedelta(days=1), time(2, 30)), 30, rrule="FREQ=DAILY")
        gap_utc = utc(2026, 3, 8, 8, 30)
    gap = expand(series, *local_day(gap_day, tz))
    assert starts(gap) == [gap_utc]
    assert gap[0].start_local == gap_utc.astimezone(tz)
    assert gap[0].start_local.hour == 3  # type: ignore[union-attr]
    assert gap[0].recurrence_id.endswith("T02:30:00")


def test_an_occurrence_spanning_the_change_keeps_its_wall_clock_length() -> None:
    series = timed("Europe/Berlin", datetime(2026, 3, 22, 1), 180, rrule="FREQ=WEEKLY")
    night = expand(series, utc(2026, 3, 28, 12), utc(2026, 3, 30))
    assert [(o.start_utc, o.end_utc) for o in night] == [(utc(2026, 3, 29, 0), utc(2026, 3, 29, 2))]
    assert night[0].end_local.hour == 4  # type: ignore[union-attr]


def test_the_same_rule_far_in_the_future_stays_on_local_time() -> None:
    series = timed("America/Chicago", datetime(2020, 1, 4, 18), rrule="FREQ=WEEKLY;BYDAY=SA")
    july = expand(series, utc(2035, 7, 1), utc(2035, 7, 31))
    january = expand(series, utc(2036, 1, 1), utc(2036, 1, 31))
    assert {o.start_utc.hour for o in july} == {23}
    assert {o.start_utc.hour for o in january} == {0}
    assert all(o.start_local.weekday() == 5 for o in july + january if o.start_local)


# --- All-day and floating ----------------------------------------------------------------------------------------


def test_all_day_series_work_in_dates_and_span_local_midnights() -> None:
    series = all_day("Europe/Berlin", date(2026, 3, 28), days=2, rrule="FREQ=WEEKLY;COUNT=3")
    found = expand(series, utc(2026, 3, 1), utc(2026, 5, 1))
    assert [(o.start_date, o.end_date) for o in found] == [
        (date(2026, 3, 28), date(2026, 3, 30)),
        (date(2026, 4, 4), date(2026, 4, 6)),
        (date(2026, 4, 11), date(2026, 4, 13)),
    ]
    assert all(o.all_day and o.start_local is None for o in found)
    # The weekend of the DST change is 47 hours long in UTC: midnight CET to midnight CEST.
    assert (found[0].start_utc, found[0].end_utc) == (utc(2026, 3, 27, 23), utc(2026, 3, 29, 22))
    assert found[0].recurrence_id == "2026-03-28"


def test_an_all_day_occurrence_is_in_a_window_by_its_local_day() -> None:
    series = Series(timezone="America/Chicago", all_day=True, start_date=date(2026, 7, 4), end_date=date(2026, 7, 5))
    assert expand(series, utc(2026, 7, 4, 4), utc(2026, 7, 4, 5)) == []  # 23:00 on the 3rd in Chicago
    assert len(expand(series, utc(2026, 7, 5, 4), utc(2026, 7, 5, 5))) == 1  # 23:00 on the 4th


def test_a_floating_plan_is_read_in_the_zone_it_was_given() -> None:
    """Floating times become plans in the calendar's zone at import; the same wall clock in two zones."""
    berlin = timed("Europe/Berlin", datetime(2026, 6, 1, 9), rrule="FREQ=DAILY;COUNT=2")
    chicago = timed("America/Chicago", datetime(2026, 6, 1, 9), rrule="FREQ=DAILY;COUNT=2")
    window = (utc(2026, 5, 31), utc(2026, 6, 4))
    assert starts(expand(berlin, *window)) == [utc(2026, 6, 1, 7), utc(2026, 6, 2, 7)]
    assert starts(expand(chicago, *window)) == [utc(2026, 6, 1, 14), utc(2026, 6, 2, 14)]


# --- COUNT and UNTIL ---------------------------------------------------------------------------------------------


def test_count_counts_from_dtstart_whatever_the_window() -> None:
    series = timed("Europe/Berlin", datetime(2026, 3, 7, 10), rrule="FREQ=WEEKLY;BYDAY=SA;COUNT=3")
    assert starts(expand(series, utc(2026, 1, 1), utc(2027, 1, 1))) == [
        utc(2026, 3, 7, 9),
        utc(2026, 3, 14, 9),
        utc(2026, 3, 21, 9),
    ]
    assert expand(series, utc(2026, 3, 22), utc(2027, 1, 1)) == []
    assert series_end_utc(series) == utc(2026, 3, 21, 10)


@pytest.mark.parametrize(
    ("until", "count"),
    [
        ("20260310T090000Z", 5),  # UTC: the instance at exactly UNTIL is included (10:00 CET = 09:00Z)
        ("20260310T085959Z", 4),
        ("20260310T100000", 5),  # local wall-clock time in the plan's zone
        ("20260310T095959", 4),
        ("20260310", 5),  # a date: through the end of that local day
        ("20260309", 4),
    ],
)
def test_until_in_utc_local_or_as_a_date(until: str, count: int) -> None:
    series = timed("Europe/Berlin", datetime(2026, 3, 6, 10), rrule=f"FREQ=DAILY;UNTIL={until}")
    assert len(expand(series, utc(2026, 3, 1), utc(2026, 4, 1))) == count
    end = series_end_utc(series)
    assert end is not None
    assert end >= expand(series, utc(2026, 3, 1), utc(2026, 4, 1))[-1].end_utc


def test_until_on_an_all_day_series_is_the_last_day() -> None:
    series = all_day("Europe/Berlin", date(2026, 3, 6), rrule="FREQ=DAILY;UNTIL=20260310")
    found = expand(series, utc(2026, 3, 1), utc(2026, 4, 1))
    assert [o.start_date for o in found] == [date(2026, 3, d) for d in range(6, 11)]
    assert series_end_utc(series) == utc(2026, 3, 10, 23)


def test_until_before_dtstart_leaves_no_occurrence() -> None:
    series = timed("Europe/Berlin", datetime(2026, 3, 6, 10), rrule="FREQ=DAILY;UNTIL=20260301T000000Z")
    assert expand(series, utc(2026, 1, 1), utc(2027, 1, 1)) == []


def test_an_unbounded_series_has_no_end() -> None:
    assert series_end_utc(timed("UTC", datetime(2026, 1, 1, 10), rrule="FREQ=DAILY")) is None
    assert series_end_utc(timed("UTC", datetime(2026, 1, 1, 10))) == utc(2026, 1, 1, 11)


# --- RDATE and EXDATE --------------------------------------------------------------------------------------------


def test_exdate_removes_an_instance_and_a_date_exdate_its_whole_day() -> None:
    series = timed(
        "Europe/Berlin", datetime(2026, 3, 6, 10), rrule="FREQ=DAILY;COUNT=5",
        exdates=("2026-03-07T10:00:00", "2026-03-09"),
    )  # fmt: skip
    found = expand(series, utc(2026, 3, 1), utc(2026, 4, 1))
    assert [o.recurrence_id for o in found] == ["2026-03-06T10:00:00", "2026-03-08T10:00:00", "2026-03-10T10:00:00"]


def test_rdate_adds_instances_and_a_period_brings_its_own_length() -> None:
    series = timed(
        "Europe/Berlin", datetime(2026, 3, 7, 10), 60, rrule="FREQ=WEEKLY;COUNT=2",
        rdates=("2026-03-10T15:00:00", "2026-03-11T08:00:00/2026-03-11T09:30:00", "2026-03-14T10:00:00"),
    )  # fmt: skip
    found = expand(series, utc(2026, 3, 1), utc(2026, 4, 1))
    assert [(o.recurrence_id, o.end_utc - o.start_utc) for o in found] == [
        ("2026-03-07T10:00:00", timedelta(hours=1)),
        ("2026-03-10T15:00:00", timedelta(hours=1)),
        ("2026-03-11T08:00:00", timedelta(minutes=90)),
        ("2026-03-14T10:00:00", timedelta(hours=1)),  # also an instance of the rule: counted once
    ]


def test_rdate_alone_makes_a_series() -> None:
    series = Series(
        timezone="America/Chicago", all_day=True, start_date=date(2026, 1, 1), end_date=date(2026, 1, 2),
        rdates=("2026-07-04", "2026-12-25"),
    )  # fmt: skip
    assert series.is_recurring
    found = expand(series, utc(2026, 1, 1), utc(2027, 1, 1))
    assert [o.start_date for o in found] == [date(2026, 1, 1), date(2026, 7, 4), date(2026, 12, 25)]
    assert series_end_utc(series) == datetime(2026, 12, 26, tzinfo=CHICAGO).astimezone(UTC)


# --- Overrides -----------------------------------------------------------------------------------------------------


def weekly_saturdays(rrule: str = "FREQ=WEEKLY;BYDAY=SA", **kwargs: object) -> Series:
    return timed("Europe/Berlin", datetime(2026, 3, 7, 10), 60, rrule=rrule, **kwargs)


def test_a_moved_occurrence_moves_into_the_window() -> None:
    moved = OverrideSpec(start_local=datetime(2026, 3, 15, 11), end_local=datetime(2026, 3, 15, 12))
    series = weekly_saturdays(overrides={"2026-03-14T10:00:00": moved})
    sunday = expand(series, *local_day(date(2026, 3, 15), BERLIN))
    assert len(sunday) == 1
    assert sunday[0].recurrence_id == "2026-03-14T10:00:00"
    assert sunday[0].start_utc == utc(2026, 3, 15, 10)
    assert sunday[0].overridden
    assert expand(series, *local_day(date(2026, 3, 14), BERLIN)) == []


def test_a_moved_occurrence_leaves_its_window_and_keeps_its_order() -> None:
    moved = OverrideSpec(start_local=datetime(2026, 3, 30, 18), end_local=datetime(2026, 3, 30, 19))
    series = weekly_saturdays(overrides={"2026-03-21T10:00:00": moved})
    march = expand(series, utc(2026, 3, 1), utc(2026, 4, 1))
    assert [o.recurrence_id for o in march] == [
        "2026-03-07T10:00:00",
        "2026-03-14T10:00:00",
        "2026-03-28T10:00:00",
        "2026-03-21T10:00:00",  # now on Monday the 30th
    ]


def test_cancelled_retitled_and_re_statused_occurrences() -> None:
    series = weekly_saturdays(
        overrides={
            "2026-03-14T10:00:00": OverrideSpec(cancelled=True),
            "2026-03-21T10:00:00": OverrideSpec(title="Brunch at Anna's", status="tentative"),
        }
    )
    found = {o.recurrence_id: o for o in expand(series, utc(2026, 3, 1), utc(2026, 3, 25))}
    assert found["2026-03-14T10:00:00"].cancelled
    assert found["2026-03-14T10:00:00"].start_utc == utc(2026, 3, 14, 9)
    assert found["2026-03-21T10:00:00"].title == "Brunch at Anna's"
    assert found["2026-03-21T10:00:00"].status == "tentative"
    assert found["2026-03-21T10:00:00"].end_utc - found["2026-03-21T10:00:00"].start_utc == timedelta(hours=1)
    assert not found["2026-03-07T10:00:00"].overridden
    assert found["2026-03-07T10:00:00"].title is None


def test_an_exdate_wins_over_an_override_of_the_same_instance() -> None:
    series = weekly_saturdays(
        exdates=("2026-03-14T10:00:00",), overrides={"2026-03-14T10:00:00": OverrideSpec(title="x")}
    )
    assert "2026-03-14T10:00:00" not in {o.recurrence_id for o in expand(series, utc(2026, 3, 1), utc(2026, 4, 1))}


def test_overrides_of_all_day_series_and_a_timed_instance_becoming_all_day() -> None:
    moved = OverrideSpec(start_date=date(2026, 6, 3), end_date=date(2026, 6, 5))
    all_day = Series(
        timezone="Europe/Berlin", all_day=True, start_date=date(2026, 5, 1), end_date=date(2026, 5, 2),
        rrule="FREQ=MONTHLY;COUNT=3", overrides={"2026-06-01": moved},
    )  # fmt: skip
    found = expand(all_day, utc(2026, 4, 1), utc(2026, 8, 1))
    assert [(o.recurrence_id, o.start_date, o.end_date) for o in found] == [
        ("2026-05-01", date(2026, 5, 1), date(2026, 5, 2)),
        ("2026-06-01", date(2026, 6, 3), date(2026, 6, 5)),
        ("2026-07-01", date(2026, 7, 1), date(2026, 7, 2)),
    ]
    series = weekly_saturdays(overrides={"2026-03-14T10:00:00": OverrideSpec(start_date=date(2026, 3, 14))})
    whole_day = next(o for o in expand(series, utc(2026, 3, 1), utc(2026, 4, 1)) if o.overridden)
    assert whole_day.all_day
    assert (whole_day.start_date, whole_day.end_date) == (date(2026, 3, 14), date(2026, 3, 15))
    assert whole_day.start_utc == utc(2026, 3, 13, 23)


def test_series_end_includes_an_occurrence_moved_past_it() -> None:
    later = OverrideSpec(start_local=datetime(2026, 5, 1, 10), end_local=datetime(2026, 5, 1, 12))
    overrides = {"2026-03-14T10:00:00": later}
    series = timed("UTC", datetime(2026, 3, 7, 10), rrule="FREQ=WEEKLY;COUNT=2", overrides=overrides)
    assert series_end_utc(series) == utc(2026, 5, 1, 12)


# --- Windows -------------------------------------------------------------------------------------------------------


def test_occurrences_overlapping_the_window_are_in_it() -> None:
    night = timed("UTC", datetime(2026, 3, 6, 23), 120, rrule="FREQ=DAILY;COUNT=3")
    assert [o.recurrence_id for o in expand(night, utc(2026, 3, 7), utc(2026, 3, 7, 0, 30))] == ["2026-03-06T23:00:00"]
    assert expand(night, utc(2026, 3, 7, 1), utc(2026, 3, 7, 23)) == []  # ends exactly at the window's start
    instant = timed("UTC", datetime(2026, 3, 6, 12), 0)
    assert len(expand(instant, utc(2026, 3, 6, 12), utc(2026, 3, 6, 13))) == 1
    assert expand(instant, utc(2026, 3, 6, 11), utc(2026, 3, 6, 12)) == []


def test_occurrences_come_in_start_order_across_rules_rdates_and_overrides() -> None:
    series = timed(
        "Europe/Berlin", datetime(2026, 3, 2, 18), rrule="FREQ=WEEKLY;BYDAY=MO,TH\nFREQ=MONTHLY;BYMONTHDAY=15",
        rdates=("2026-03-04T07:00:00",),
    )  # fmt: skip
    found = expand(series, utc(2026, 3, 1), utc(2026, 4, 1))
    assert starts(found) == sorted(starts(found))
    assert len(found) == 9 + 1 + 1  # Mondays and Thursdays, the 15th, one RDATE


def test_the_window_must_be_aware_and_forward() -> None:
    series = weekly_saturdays()
    with pytest.raises(RecurrenceError, match="aware"):
        expand(series, datetime(2026, 1, 1), utc(2026, 2, 1))
    with pytest.raises(RecurrenceError, match="ends before"):
        expand(series, utc(2026, 2, 1), utc(2026, 1, 1))


# --- Caps ------------------------------------------------------------------------------------------------------------


def test_a_secondly_rule_stops_at_the_occurrence_cap() -> None:
    series = timed("UTC", datetime(2026, 1, 1), 0, rrule="FREQ=SECONDLY")
    assert len(expand(series, utc(2026, 1, 1), utc(2026, 1, 2))) == MAX_OCCURRENCES
    assert len(expand(series, utc(2026, 1, 1), utc(2026, 1, 2), max_occurrences=50)) == 50


def test_the_cap_applies_to_count_rules_and_occurrences_are_hashable() -> None:
    series = timed("UTC", datetime(2026, 1, 1), 0, rrule="FREQ=MINUTELY;COUNT=5000")
    found = expand(series, utc(2026, 1, 1), utc(2026, 2, 1), max_occurrences=100)
    assert len(found) == len(set(found)) == 100


def test_a_rule_that_never_matches_ends_without_running_away() -> None:
    for rule in (
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6",
        "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=31",
    ):
        series = timed("UTC", datetime(2026, 2, 1, 10), rrule=rule)
        assert len(expand(series, utc(2026, 1, 1), utc(2031, 1, 1))) == 1  # DTSTART itself
        assert series_end_utc(series) is None
    counted = timed("UTC", datetime(2026, 2, 1, 10), rrule="FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;COUNT=3")
    assert len(expand(counted, utc(2026, 1, 1), utc(2031, 1, 1))) == 1
    assert series_end_utc(counted) is None  # the count was never reached: no known end


def test_a_long_window_is_cut_to_the_span() -> None:
    series = timed("UTC", datetime(2026, 1, 1, 10), rrule="FREQ=DAILY")
    assert len(expand(series, utc(2026, 1, 1), utc(2046, 1, 1))) == 5 * 366
    assert len(expand(series, utc(2026, 1, 1), utc(2046, 1, 1), max_span=timedelta(days=10))) == 10


def test_a_series_from_long_ago_jumps_to_the_window() -> None:
    series = timed("Europe/Berlin", datetime(1900, 1, 6, 10), rrule="FREQ=WEEKLY;BYDAY=SA")
    found = expand(series, utc(2026, 3, 1), utc(2026, 4, 1))
    assert [o.start_local.day for o in found if o.start_local] == [7, 14, 21, 28]


def test_invalid_series_are_refused_clearly() -> None:
    with pytest.raises(RecurrenceError, match="time zone"):
        expand(timed("Mars/Olympus", datetime(2026, 1, 1, 10)), utc(2026, 1, 1), utc(2026, 2, 1))
    with pytest.raises(RecurrenceError, match="ends before"):
        expand(timed("UTC", datetime(2026, 1, 1, 10), -5), utc(2026, 1, 1), utc(2026, 2, 1))
    with pytest.raises(RecurrenceError, match="ISO"):
        expand(weekly_saturdays(exdates=("soon",)), utc(2026, 1, 1), utc(2026, 2, 1))
    with pytest.raises(RecurrenceError, match="BYDAY"):
        expand(weekly_saturdays(rrule="FREQ=WEEKLY;BYDAY=XX"), utc(2026, 1, 1), utc(2026, 2, 1))


# --- RRULE text -------------------------------------------------------------------------------------------------------


def test_validate_rrule_normalises() -> None:
    assert validate_rrule("rrule:freq=weekly;byday=sa;interval=2") == "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA"
    assert validate_rrule("FREQ=DAILY;UNTIL=20260310T100000", timezone="Europe/Berlin") == (
        "FREQ=DAILY;UNTIL=20260310T090000Z"
    )
    assert validate_rrule("FREQ=DAILY;UNTIL=20260310", timezone="Europe/Berlin") == "FREQ=DAILY;UNTIL=20260310T225959Z"
    assert validate_rrule("FREQ=DAILY;UNTIL=20260310T230000Z", all_day=True) == "FREQ=DAILY;UNTIL=20260310"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("BYDAY=SA", "needs FREQ"),
        ("FREQ=FORTNIGHTLY", "FREQ=FORTNIGHTLY is not one of"),
        ("FREQ=WEEKLY;BYDAY=SAT", "BYDAY value 'SAT'"),
        ("FREQ=WEEKLY;COUNT=0", "COUNT must be a positive"),
        ("FREQ=WEEKLY;COUNT=2;UNTIL=20260101", "COUNT or UNTIL, not both"),
        ("FREQ=WEEKLY;UNTIL=tomorrow", "UNTIL=TOMORROW"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY value 32 is out of range"),
        ("FREQ=WEEKLY;INTERVAL=0", "INTERVAL must be"),
        ("FREQ=WEEKLY;FREQ=DAILY", "given twice"),
        ("FREQ=WEEKLY;UNTL=20260101", "'UNTL' is not an RRULE part"),
        ("RSCALE=HEBREW;FREQ=YEARLY", "RSCALE"),
        ("FREQ=WEEKLY;BYDAY=" + ",".join(["MO"] * 200), "longer than 500"),
    ],
)
def test_validate_rrule_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(RecurrenceError, match=message):
        validate_rrule(text)


def test_lenient_normalisation_for_imports() -> None:
    assert normalise_rrule("FREQ=WEEKLY;COUNT=-1;INTERVAL=4;X-NAME=1") == "FREQ=WEEKLY;INTERVAL=4"
    # COUNT and UNTIL together: whichever ends the series first is kept.
    start = datetime(2026, 3, 6, 10)
    both = "FREQ=DAILY;COUNT=3;UNTIL=20260320T000000Z"
    assert normalise_rrule(both, timezone="Europe/Berlin", start=start) == "FREQ=DAILY;COUNT=3"
    both = "FREQ=DAILY;COUNT=30;UNTIL=20260310T000000Z"
    assert normalise_rrule(both, timezone="Europe/Berlin", start=start) == "FREQ=DAILY;UNTIL=20260310T000000Z"


# --- The engine against dateutil -------------------------------------------------------------------------------------

WEEKDAY_NAMES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@st.composite
def rules(draw: st.DrawFn) -> str:
    freq = draw(st.sampled_from(["YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY"]))
    parts = [f"FREQ={freq}"]
    if draw(st.booleans()):
        parts.append(f"INTERVAL={draw(st.integers(1, 4))}")
    if draw(st.booleans()):
        parts.append(f"WKST={draw(st.sampled_from(WEEKDAY_NAMES))}")
    if draw(st.booleans()):
        months = draw(st.lists(st.integers(1, 12), min_size=1, max_size=3, unique=True))
        parts.append("BYMONTH=" + ",".join(map(str, months)))
    day_kind = draw(st.sampled_from(["none", "plain", "nth", "monthday", "yearday", "weekno"]))
    if day_kind == "plain":
        days = draw(st.lists(st.sampled_from(WEEKDAY_NAMES), min_size=1, max_size=3, unique=True))
        parts.append("BYDAY=" + ",".join(days))
    elif day_kind == "nth" and freq in ("YEARLY", "MONTHLY"):
        nth = draw(
            st.lists(
                st.tuples(st.sampled_from([1, 2, 3, -1, -2]), st.sampled_from(WEEKDAY_NAMES)),
                min_size=1,
                max_size=2,
                unique=True,
            )
        )
        parts.append("BYDAY=" + ",".join(f"{n}{d}" for n, d in nth))
    elif day_kind == "monthday":
        monthdays = draw(st.lists(st.sampled_from([1, 2, 10, 15, 28, -1, -3]), min_size=1, max_size=3, unique=True))
        parts.append("BYMONTHDAY=" + ",".join(map(str, monthdays)))
    elif day_kind == "yearday" and freq == "YEARLY" and not any(p.startswith("BYMONTH=") for p in parts):
        parts.append(
            "BYYEARDAY="
            + ",".join(
                map(
                    str,
                    draw(st.lists(st.sampled_from([1, 60, 100, 200, -1, -30]), min_size=1, max_size=2, unique=True)),
                )
            )
        )
    elif day_kind == "weekno" and freq == "YEARLY" and not any(p.startswith("BYMONTH=") for p in parts):
        parts.append(
            "BYWEEKNO="
            + ",".join(
                map(str, draw(st.lists(st.sampled_from([1, 2, 20, 52, -1]), min_size=1, max_size=2, unique=True)))
            )
        )
    if freq != "HOURLY" and draw(st.booleans()):
        parts.append(
            "BYHOUR="
            + ",".join(map(str, draw(st.lists(st.sampled_from([8, 12, 20]), min_size=1, max_size=2, unique=True))))
        )
    if freq == "HOURLY" and draw(st.booleans()):
        parts.append(
            "BYMINUTE="
            + ",".join(map(str, draw(st.lists(st.sampled_from([0, 15, 45]), min_size=1, max_size=2, unique=True))))
        )
    if freq in ("MONTHLY", "WEEKLY", "YEARLY") and draw(st.booleans()):
        parts.append(f"BYSETPOS={draw(st.sampled_from([1, -1]))}")
    if draw(st.booleans()):
        parts.append(f"COUNT={draw(st.integers(1, 40))}")
    return ";".join(parts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rule=rules(),
    start=st.datetimes(min_value=datetime(2018, 1, 1), max_value=datetime(2030, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
    offset_days=st.integers(10, 3000),
    length_days=st.integers(1, 200),
)
def test_the_engine_agrees_with_dateutil(rule: str, start: datetime, offset_days: int, length_days: int) -> None:
    """Same instances as dateutil's rruleset (the rule plus DTSTART, as recurring-ical-events builds it), in
    a window that starts after the first week (dateutil applies BYSETPOS to a partial first week)."""
    window_start = start + timedelta(days=offset_days)
    window_end = window_start + timedelta(days=length_days)
    if "FREQ=HOURLY" in rule:
        window_end = window_start + timedelta(days=min(length_days, 10))
    reference = du.rruleset()
    reference.rrule(du.rrulestr(rule, dtstart=start))
    reference.rdate(start)
    expected = [d for d in reference.between(window_start, window_end, inc=True) if d < window_end]
    series = Series(timezone="UTC", start_local=start, end_local=start, rrule=rule)
    found = expand(series, window_start.replace(tzinfo=UTC), window_end.replace(tzinfo=UTC))
    assert [o.start_utc.replace(tzinfo=None) for o in found] == expected


def test_parse_rule_reads_every_part() -> None:
    rule = parse_rule("FREQ=YEARLY;INTERVAL=2;BYMONTH=1,3;BYDAY=-1SU,2MO;BYHOUR=9;BYSETPOS=1;WKST=SU")
    assert rule.interval == 2
    assert rule.bymonth == (1, 3)
    assert rule.byday == ((6, -1), (0, 2))
    assert rule.wkst == 6
    assert rule.bysetpos == (1,)
