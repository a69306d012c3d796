"""iCalendar in and out: zones (TZID, Windows names, custom VTIMEZONEs, X-WR-TIMEZONE, floating, UTC), all-day
values, default ends, overrides, refusals, skipped components; the export's RFC 5545 shape, its VTIMEZONEs, and
the round trip. Pure: no DB."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest
import recurring_ical_events

from apps.calendars.ical import (
    IcsParseError,
    OverrideData,
    PlanData,
    parse_calendar,
    render_calendar,
)
from apps.calendars.recurrence import expand

REFERENCE = Path(recurring_ical_events.__file__).parent / "test" / "calendars"


def ics(*lines: str, x_wr: str | None = None) -> bytes:
    header = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"]
    if x_wr:
        header.append(f"X-WR-TIMEZONE:{x_wr}")
    return "\r\n".join([*header, *lines, "END:VCALENDAR", ""]).encode()


def event(*lines: str, uid: str = "a@test") -> list[str]:
    return ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z", *lines, "END:VEVENT"]


def parse(*lines: str, x_wr: str | None = None, default: str = "Europe/Berlin") -> list[PlanData]:
    parsed = parse_calendar(ics(*lines, x_wr=x_wr), default_timezone=default)
    assert not parsed.refused, parsed.refused
    return parsed.items


def one(*lines: str, **kwargs: str) -> PlanData:
    items = parse(*event(*lines), **kwargs)
    assert len(items) == 1
    return items[0]


CHICAGO_CUSTOM = [
    "BEGIN:VTIMEZONE", "TZID:Customized Time Zone",
    "BEGIN:STANDARD", "DTSTART:16011104T020000", "RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11", "TZOFFSETFROM:-0500",
    "TZOFFSETTO:-0600", "END:STANDARD",
    "BEGIN:DAYLIGHT", "DTSTART:16010311T020000", "RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3", "TZOFFSETFROM:-0600",
    "TZOFFSETTO:-0500", "END:DAYLIGHT",
    "END:VTIMEZONE",
]  # fmt: skip


# --- Reading: zones ------------------------------------------------------------------------------------------------


def test_a_zoned_event_becomes_plan_data() -> None:
    item = one(
        "DTSTART;TZID=Europe/Berlin:20260307T100000",
        "DTEND;TZID=Europe/Berlin:20260307T120000",
        "SUMMARY:Brunch",
        "DESCRIPTION:Bring cake\\, please",
        "LOCATION:Kulturbrauerei\\, Berlin",
        "GEO:52.539;13.413",
        "STATUS:TENTATIVE",
        "SEQUENCE:3",
        "LAST-MODIFIED:20260102T030405Z",
    )
    assert item == PlanData(
        uid="a@test", title="Brunch", notes="Bring cake, please", timezone="Europe/Berlin", all_day=False,
        start_local=datetime(2026, 3, 7, 10), end_local=datetime(2026, 3, 7, 12), location="Kulturbrauerei, Berlin",
        lat=52.539, lon=13.413, status="tentative", sequence=3,
    )  # fmt: skip
    assert item.updated_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.filterwarnings("ignore::icalendar.error.GloballyUniqueTZIDGuessed")  # guessing it is the point
@pytest.mark.parametrize(
    ("tzid", "zone"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ('"W. Europe Standard Time"', "Europe/Berlin"),
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("/freeassociation.sourceforge.net/Tzfile/America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("Etc/UTC", "UTC"),
    ],
)
def test_tzid_names_iana_windows_and_vendor_ids(tzid: str, zone: str) -> None:
    item = one(f"DTSTART;TZID={tzid}:20260307T100000")
    assert (item.timezone, item.start_local) == (zone, datetime(2026, 3, 7, 10))


def test_a_custom_vtimezone_is_matched_to_the_iana_zone_with_its_offsets() -> None:
    items = parse(
        *CHICAGO_CUSTOM,
        *event("DTSTART;TZID=Customized Time Zone:20260305T180000", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;COUNT=2"),
    )
    assert (items[0].timezone, items[0].start_local) == ("America/Chicago", datetime(2026, 3, 5, 18))
    found = expand(items[0].series(), datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    assert [o.start_utc for o in found] == [datetime(2026, 3, 6, 0, tzinfo=UTC), datetime(2026, 3, 12, 23, tzinfo=UTC)]


def test_a_custom_zone_no_iana_zone_matches_is_read_as_utc_instants() -> None:
    odd = ["BEGIN:VTIMEZONE", "TZID:Odd", "BEGIN:STANDARD", "DTSTART:16010101T000000", "TZOFFSETFROM:+0537",
           "TZOFFSETTO:+0537", "END:STANDARD", "END:VTIMEZONE"]  # fmt: skip
    items = parse(*odd, *event("DTSTART;TZID=Odd:20260305T180000", "DURATION:PT90M"))
    assert (items[0].timezone, items[0].start_local, items[0].end_local) == (
        "UTC", datetime(2026, 3, 5, 12, 23), datetime(2026, 3, 5, 13, 53)
    )  # fmt: skip


def test_an_unknown_tzid_without_vtimezone_is_read_as_floating() -> None:
    item = one("DTSTART;TZID=Nowhere/Special:20260305T180000", default="America/Chicago")
    assert (item.timezone, item.start_local) == ("America/Chicago", datetime(2026, 3, 5, 18))


def test_x_wr_timezone_shows_utc_and_floating_times_in_the_calendars_zone() -> None:
    items = parse(
        *event("DTSTART:20260307T090000Z", "DTEND:20260307T100000Z", "RRULE:FREQ=WEEKLY;COUNT=5", uid="utc"),
        *event("DTSTART:20260307T180000", uid="floating"),
        *event("DTSTART;VALUE=DATE:20260307", uid="day"),
        *event("DTSTART;TZID=America/Chicago:20260307T180000", uid="zoned"),
        x_wr="Europe/Berlin",
        default="Asia/Tokyo",
    )
    by_uid = {i.uid: i for i in items}
    assert (by_uid["utc"].timezone, by_uid["utc"].start_local) == ("Europe/Berlin", datetime(2026, 3, 7, 10))
    assert (by_uid["floating"].timezone, by_uid["floating"].start_local) == ("Europe/Berlin", datetime(2026, 3, 7, 18))
    assert (by_uid["day"].timezone, by_uid["day"].all_day) == ("Europe/Berlin", True)
    assert by_uid["zoned"].timezone == "America/Chicago"
    # As Google means it: the weekly 10:00 Berlin stays at 10:00 after the DST change.
    found = expand(by_uid["utc"].series(), datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))
    assert [o.start_local.hour for o in found if o.start_local] == [10] * 5
    assert found[-1].start_utc == datetime(2026, 4, 4, 8, tzinfo=UTC)


def test_an_unknown_x_wr_timezone_is_ignored() -> None:
    item = one("DTSTART:20260307T090000Z", x_wr="Mars/Olympus_Mons")
    assert (item.timezone, item.start_local) == ("UTC", datetime(2026, 3, 7, 9))


def test_floating_times_are_read_in_the_calendars_zone() -> None:
    item = one("DTSTART:20260307T180000", "DTEND:20260307T200000", default="America/Chicago")
    assert (item.timezone, item.start_local, item.end_local) == (
        "America/Chicago", datetime(2026, 3, 7, 18), datetime(2026, 3, 7, 20)
    )  # fmt: skip


def test_utc_times_without_x_wr_timezone_stay_in_utc() -> None:
    item = one("DTSTART:20260307T180000Z", "DTEND;TZID=Europe/Berlin:20260307T200000")
    assert (item.timezone, item.start_local, item.end_local) == (
        "UTC", datetime(2026, 3, 7, 18), datetime(2026, 3, 7, 19)
    )  # fmt: skip


# --- Reading: ends and all-day ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "end"),
    [
        (("DTSTART;VALUE=DATE:20260307",), date(2026, 3, 8)),
        (("DTSTART;VALUE=DATE:20260307", "DTEND;VALUE=DATE:20260310"), date(2026, 3, 10)),
        (("DTSTART;VALUE=DATE:20260307", "DURATION:P2D"), date(2026, 3, 9)),
        (("DTSTART;VALUE=DATE:20260307", "DURATION:P1W"), date(2026, 3, 14)),
        (("DTSTART;VALUE=DATE:20260307", "DTEND;VALUE=DATE:20260307"), date(2026, 3, 8)),
    ],
)
def test_date_values_make_all_day_plans_with_rfc_5545_ends(lines: tuple[str, ...], end: date) -> None:
    item = one(*lines)
    assert item.all_day
    assert (item.start_date, item.end_date, item.start_local) == (date(2026, 3, 7), end, None)
    assert item.timezone == "Europe/Berlin"


@pytest.mark.parametrize(
    ("lines", "end"),
    [
        (("DTSTART;TZID=Europe/Berlin:20260307T100000",), datetime(2026, 3, 7, 10)),  # no DTEND: no duration
        (("DTSTART;TZID=Europe/Berlin:20260307T100000", "DURATION:PT90M"), datetime(2026, 3, 7, 11, 30)),
        (("DTSTART;TZID=Europe/Berlin:20260307T100000", "DTEND;TZID=Europe/London:20260307T100000"),
         datetime(2026, 3, 7, 11)),
        (("DTSTART;TZID=Europe/Berlin:20260307T100000", "DTEND:20260307T100000Z"), datetime(2026, 3, 7, 11)),
    ],
)  # fmt: skip
def test_timed_ends_from_dtend_duration_or_nothing(lines: tuple[str, ...], end: datetime) -> None:
    item = one(*lines)
    assert (item.start_local, item.end_local) == (datetime(2026, 3, 7, 10), end)


# --- Reading: recurrence -------------------------------------------------------------------------------------------


def test_rrule_rdate_and_exdate_are_kept_in_the_plans_wall_clock() -> None:
    item = one(
        "DTSTART;TZID=Europe/Berlin:20260307T100000",
        "DTEND;TZID=Europe/Berlin:20260307T110000",
        "RRULE:FREQ=WEEKLY;UNTIL=20260501T100000",
        "RDATE;TZID=Europe/Berlin:20260310T150000,20260311T150000",
        "RDATE:20260312T140000Z",
        "RDATE;TZID=Europe/Berlin;VALUE=PERIOD:20260313T080000/PT2H,20260314T080000/20260314T083000",
        "EXDATE;TZID=Europe/Berlin:20260321T100000",
        "EXDATE:20260328T090000Z",
        "EXDATE;VALUE=DATE:20260404",
    )
    assert item.rrule == "FREQ=WEEKLY;UNTIL=20260501T080000Z"
    assert item.rdates == [
        "2026-03-10T15:00:00",
        "2026-03-11T15:00:00",
        "2026-03-12T15:00:00",
        "2026-03-13T08:00:00/2026-03-13T10:00:00",
        "2026-03-14T08:00:00/2026-03-14T08:30:00",
    ]
    assert item.exdates == ["2026-03-21T10:00:00", "2026-03-28T10:00:00", "2026-04-04"]


def test_rrule_text_is_normalised_leniently() -> None:
    start = "DTSTART;TZID=Europe/Berlin:20260306T100000"
    assert one(start, "RRULE:FREQ=DAILY;COUNT=3;UNTIL=20260320T000000Z").rrule == "FREQ=DAILY;COUNT=3"
    assert one(start, "RRULE:FREQ=WEEKLY;COUNT=-1;INTERVAL=4").rrule == "FREQ=WEEKLY;INTERVAL=4"
    assert one(start, "RRULE:FREQ=WEEKLY;COUNT=2", "RRULE:FREQ=MONTHLY;COUNT=2").rrule == (
        "FREQ=WEEKLY;COUNT=2\nFREQ=MONTHLY;COUNT=2"
    )
    all_day = one("DTSTART;VALUE=DATE:20260306", "RRULE:FREQ=WEEKLY;UNTIL=20260923T230000Z")
    assert all_day.rrule == "FREQ=WEEKLY;UNTIL=20260923"


def test_overrides_are_read_relative_to_the_master() -> None:
    master = ("DTSTART;TZID=Europe/Berlin:20260307T100000", "DTEND;TZID=Europe/Berlin:20260307T110000",
              "RRULE:FREQ=WEEKLY;COUNT=5", "SUMMARY:Run", "SEQUENCE:2")  # fmt: skip
    items = parse(
        *event(*master, uid="s"),
        *event("RECURRENCE-ID;TZID=Europe/Berlin:20260314T100000", "DTSTART;TZID=Europe/Berlin:20260315T180000",
               "DTEND;TZID=Europe/Berlin:20260315T190000", "SUMMARY:Run", uid="s"),
        *event("RECURRENCE-ID:20260321T090000Z", "DTSTART;TZID=Europe/Berlin:20260321T100000",
               "DTEND;TZID=Europe/Berlin:20260321T110000", "STATUS:CANCELLED", "SUMMARY:Run", uid="s"),
        *event("RECURRENCE-ID;TZID=Europe/Berlin:20260328T100000", "DTSTART;TZID=Europe/Berlin:20260328T100000",
               "DTEND;TZID=Europe/Berlin:20260328T110000", "SUMMARY:Run by the river", "STATUS:TENTATIVE",
               "SEQUENCE:1", uid="s"),
        *event("RECURRENCE-ID;TZID=Europe/Berlin:20260328T100000", "DTSTART;TZID=Europe/Berlin:20260328T100000",
               "DTEND;TZID=Europe/Berlin:20260328T110000", "SUMMARY:Run by the lake", "SEQUENCE:3", uid="s"),
    )  # fmt: skip
    assert len(items) == 1
    assert items[0].overrides == [
        OverrideData("2026-03-14T10:00:00", start_local=datetime(2026, 3, 15, 18), end_local=datetime(2026, 3, 15, 19)),
        OverrideData("2026-03-21T10:00:00", cancelled=True),
        OverrideData("2026-03-28T10:00:00", title="Run by the lake"),  # the higher SEQUENCE wins
    ]
    found = expand(items[0].series(), datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))
    assert [(o.recurrence_id, o.cancelled, o.title) for o in found] == [
        ("2026-03-07T10:00:00", False, None),
        ("2026-03-14T10:00:00", False, None),
        ("2026-03-21T10:00:00", True, None),
        ("2026-03-28T10:00:00", False, "Run by the lake"),
        ("2026-04-04T10:00:00", False, None),
    ]


def test_of_two_masters_the_higher_sequence_wins() -> None:
    items = parse(
        *event("DTSTART;TZID=Europe/Berlin:20260307T100000", "SUMMARY:Old", "SEQUENCE:1"),
        *event("DTSTART;TZID=Europe/Berlin:20260308T100000", "SUMMARY:New", "SEQUENCE:2"),
    )
    assert [(i.title, i.start_local) for i in items] == [("New", datetime(2026, 3, 8, 10))]


def test_an_event_without_uid_gets_a_stable_one() -> None:
    text = ics("BEGIN:VEVENT", "DTSTART:20260307T100000Z", "SUMMARY:x", "END:VEVENT")
    first = parse_calendar(text, default_timezone="UTC").items[0].uid
    assert first.startswith("generated-")
    assert parse_calendar(text, default_timezone="UTC").items[0].uid == first


# --- Reading: refusals and skipped components ------------------------------------------------------------------------


def test_what_cannot_be_used_alone_is_refused_and_the_rest_imported() -> None:
    parsed = parse_calendar(
        ics(
            *event("SUMMARY:no start", uid="nostart"),
            *event("DTSTART:20260307T100000Z", "DTEND:20260307T090000Z", uid="backwards"),
            *event("DTSTART:20260307T100000Z", "RRULE:FREQ=SOMETIMES", uid="badrule"),
            *event("DTSTART:INVALID", uid="baddate"),
            *event("DTSTART:20260307T100000Z", "RDATE;VALUE=TIME:083000", uid="badrdate"),
            *event("DTSTART:20260307T100000Z", "SUMMARY:fine", uid="good"),
        ),
        default_timezone="UTC",
    )
    assert [i.uid for i in parsed.items] == ["good"]
    reasons = {r.uid: r.reason for r in parsed.refused}
    assert reasons == {
        "nostart": "No DTSTART: an event needs a start.",
        "backwards": "The event ends before it starts (DTEND or DURATION).",
        "badrule": "RRULE: FREQ=SOMETIMES is not one of YEARLY, MONTHLY, WEEKLY, DAILY, HOURLY, MINUTELY, SECONDLY.",
        "baddate": "Unreadable DTSTART: INVALID",
        "badrdate": "RDATE value 08:30:00 is neither a date nor a date-time.",
    }


def test_other_components_are_skipped_and_counted() -> None:
    parsed = parse_calendar(
        ics(
            *event("DTSTART:20260307T100000Z", "BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT15M", "END:VALARM"),
            "BEGIN:VTODO", "UID:t", "END:VTODO",
            "BEGIN:VJOURNAL", "UID:j", "END:VJOURNAL",
            "BEGIN:VFREEBUSY", "UID:f", "END:VFREEBUSY",
        ),
        default_timezone="UTC",
    )  # fmt: skip
    assert (len(parsed.items), parsed.skipped_components) == (1, 3)


def test_calendar_name_and_zone_are_reported() -> None:
    parsed = parse_calendar(ics("X-WR-CALNAME:Family", x_wr="Europe/Berlin"), default_timezone="UTC")
    assert (parsed.name, parsed.timezone, parsed.items) == ("Family", "Europe/Berlin", [])


def test_a_file_that_does_not_parse_says_where() -> None:
    with pytest.raises(IcsParseError, match="Line 4: END:VEVENT without a matching BEGIN"):
        parse_calendar(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nEND:VEVENT\r\n", default_timezone="UTC")
    with pytest.raises(IcsParseError, match="VTIMEZONE at lines 2-7"):
        parse_calendar(
            ics("BEGIN:VTIMEZONE", "TZID:X", "BEGIN:STANDARD", "TZOFFSETFROM:+5744", "END:STANDARD", "END:VTIMEZONE")
            .replace(b"VERSION:2.0\r\nPRODID:-//test//EN\r\n", b""),
            default_timezone="UTC",
        )  # fmt: skip


def test_latin_1_files_are_read() -> None:
    text = ics(*event("DTSTART:20260307T100000Z", "SUMMARY:Café")).decode().encode("cp1252")
    assert parse_calendar(text, default_timezone="UTC").items[0].title == "Café"


# --- Writing ---------------------------------------------------------------------------------------------------------


def sample_plans() -> list[PlanData]:
    stamp = datetime(2026, 2, 1, 12, tzinfo=UTC)
    return [
        PlanData(
            uid="run@weekendplanner.app", title="Run; with, commas", notes="Line one\nLine two",
            timezone="Europe/Berlin", start_local=datetime(2026, 3, 7, 10), end_local=datetime(2026, 3, 7, 11),
            rrule="FREQ=WEEKLY;UNTIL=20260601T080000Z;BYDAY=SA", rdates=["2026-03-10T15:00:00",
            "2026-03-11T08:00:00/2026-03-11T09:30:00"], exdates=["2026-03-21T10:00:00", "2026-04-04"],
            location="Tempelhofer Feld", lat=52.47, lon=13.40, status="confirmed", sequence=4, updated_at=stamp,
            overrides=[
                OverrideData(
                    "2026-03-14T10:00:00", start_local=datetime(2026, 3, 15, 18), end_local=datetime(2026, 3, 15, 19)
                ),
                OverrideData("2026-03-28T10:00:00", cancelled=True),
                OverrideData("2026-04-11T10:00:00", title="Long run", status="tentative"),
                OverrideData("2026-04-18T10:00:00", start_date=date(2026, 4, 18), end_date=date(2026, 4, 19)),
            ],
        ),
        PlanData(
            uid="market@weekendplanner.app", title="Market", timezone="America/Chicago", all_day=True,
            start_date=date(2026, 3, 7), end_date=date(2026, 3, 9), rrule="FREQ=MONTHLY;COUNT=6;BYDAY=1SA",
            exdates=["2026-05-02"], status="tentative", updated_at=stamp,
            overrides=[OverrideData("2026-04-04", start_date=date(2026, 4, 11), end_date=date(2026, 4, 13))],
        ),
        PlanData(
            uid="call@weekendplanner.app", title="Call", timezone="UTC", start_local=datetime(2026, 3, 8, 20),
            end_local=datetime(2026, 3, 8, 21), rrule="FREQ=DAILY;COUNT=3", status="cancelled", updated_at=stamp,
        ),
        PlanData(
            uid="gap@weekendplanner.app", title="In the gap", timezone="Europe/Berlin",
            start_local=datetime(2026, 3, 29, 2, 30), end_local=datetime(2026, 3, 29, 3, 30), updated_at=stamp,
        ),
    ]  # fmt: skip


def rendered() -> bytes:
    return render_calendar(name="Weekend", timezone="Europe/Berlin", plans=sample_plans())


def test_render_writes_rfc_5545() -> None:
    text = rendered().decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n")
    assert text.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    for line in ("VERSION:2.0", "PRODID:-//Weekend Planner//Calendars//EN", "X-WR-CALNAME:Weekend",
                 "X-WR-TIMEZONE:Europe/Berlin", "DTSTART;TZID=Europe/Berlin:20260307T100000",
                 "RRULE:FREQ=WEEKLY;UNTIL=20260601T080000Z;BYDAY=SA", "EXDATE;VALUE=DATE:20260404",
                 "EXDATE;TZID=Europe/Berlin:20260321T100000", "RDATE;TZID=Europe/Berlin:20260310T150000",
                 "RDATE;TZID=Europe/Berlin;VALUE=PERIOD:20260311T080000/20260311T093000",
                 "RECURRENCE-ID;TZID=Europe/Berlin:20260328T100000", "STATUS:CANCELLED", "SEQUENCE:4",
                 "DTSTART;VALUE=DATE:20260307", "DTEND;VALUE=DATE:20260309", "RECURRENCE-ID;VALUE=DATE:20260404",
                 "X-WEEKEND-PLANNER-TIMEZONE:America/Chicago", "DTSTART;TZID=Etc/UTC:20260308T200000",
                 "DTSTAMP:20260201T120000Z", "GEO:52.47;13.4", "SUMMARY:Run\\; with\\, commas",
                 "DTSTART;TZID=Europe/Berlin:20260329T023000"):  # fmt: skip
        assert line in text, line
    calendar = icalendar.Calendar.from_ical(text)
    assert sorted(tz["TZID"] for tz in calendar.walk("VTIMEZONE")) == ["Etc/UTC", "Europe/Berlin"]
    events = calendar.walk("VEVENT")
    assert len(events) == 4 + 4 + 1
    assert all(not e.errors and {"UID", "DTSTAMP", "SEQUENCE", "DTSTART"} <= set(e) for e in events)
    assert calendar.get_missing_tzids() == set()


def test_render_is_stable_for_the_same_plans() -> None:
    assert rendered() == rendered()
    plans = sample_plans()
    plans[0].updated_at = None
    now = datetime(2026, 5, 1, 8, 30, tzinfo=UTC)
    first = render_calendar(name="W", timezone="UTC", plans=plans, now=now)
    assert first == render_calendar(name="W", timezone="UTC", plans=plans, now=now)
    assert b"DTSTAMP:20260501T083000Z" in first


@pytest.mark.parametrize(
    "zone", ["Europe/Berlin", "America/Chicago", "Australia/Sydney", "Asia/Kolkata", "America/Sao_Paulo",
             "Pacific/Chatham", "Europe/London", "UTC"],
)  # fmt: skip
def test_the_vtimezone_agrees_with_the_iana_database(zone: str) -> None:
    """Read through the VTIMEZONE alone, as RFC 5545 says (each onset is a local time in TZOFFSETFROM; the
    latest onset before an instant gives its TZOFFSETTO), every offset from 2025 to 2030 is the IANA one."""
    plan = PlanData(uid="x", title="x", timezone=zone, start_local=datetime(2026, 1, 1), end_local=datetime(2026, 1, 1))
    calendar = icalendar.Calendar.from_ical(render_calendar(name="x", timezone=zone, plans=[plan]))
    [component] = calendar.walk("VTIMEZONE")
    onsets: list[tuple[datetime, timedelta]] = []
    for observance in component.subcomponents:
        before, after = observance["TZOFFSETFROM"].td, observance["TZOFFSETTO"].td
        moments = [observance["DTSTART"].dt]
        for rdate in (
            observance.get("RDATE", []) if isinstance(observance.get("RDATE"), list) else [observance.get("RDATE")]
        ):
            moments.extend(d.dt for d in getattr(rdate, "dts", []))
        onsets.extend(((m - before).replace(tzinfo=UTC), after) for m in moments)
    onsets.sort()
    iana = zoneinfo.ZoneInfo(zone)
    moment = datetime(2025, 1, 2, 0, 30, tzinfo=UTC)
    while moment < datetime(2031, 1, 1, tzinfo=UTC):
        offset = next(after for start, after in reversed(onsets) if start <= moment)
        assert offset == moment.astimezone(iana).utcoffset(), moment
        moment += timedelta(minutes=30)


def test_importing_what_we_exported_gives_the_same_plans_and_occurrences() -> None:
    plans = sample_plans()
    again = parse_calendar(rendered(), default_timezone="Asia/Tokyo")
    assert not again.refused
    assert again.items == plans
    window = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    for before, after in zip(plans, again.items, strict=True):
        assert expand(before.series(), *window) == expand(after.series(), *window)


def test_recurring_ical_events_reads_our_export_as_we_do() -> None:
    """The reference library, given our feed, finds the same occurrences (our UTC plan aside: the library reads
    TZID=Etc/UTC like a bare UTC time and moves it into X-WR-TIMEZONE)."""
    plans = [p for p in sample_plans() if p.timezone != "UTC"]
    calendar = icalendar.Calendar.from_ical(render_calendar(name="W", timezone="Europe/Berlin", plans=plans))
    window = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    theirs = set()
    for component in recurring_ical_events.of(calendar).between(*window):
        start, end = component["DTSTART"].dt, component["DTEND"].dt
        if isinstance(start, datetime):
            theirs.add((str(component["UID"]), start.astimezone(UTC), end.astimezone(UTC)))
        else:
            theirs.add((str(component["UID"]), start, end))
    ours = set()
    for plan in plans:
        for o in expand(plan.series(), *window):
            ours.add((plan.uid, o.start_date, o.end_date) if o.all_day else (plan.uid, o.start_utc, o.end_utc))
    assert ours == theirs


@pytest.mark.parametrize("path", sorted(REFERENCE.glob("*.ics")), ids=lambda p: p.name)
def test_every_reference_calendar_survives_the_round_trip(path: Path) -> None:
    parsed = parse_calendar(path.read_bytes(), default_timezone="America/Chicago")
    exported = render_calendar(name=path.stem, timezone="America/Chicago", plans=parsed.items)
    again = parse_calendar(exported, default_timezone="Europe/Berlin")
    assert not again.refused
    assert again.items == parsed.items
