"""The iCalendar values both readers share: zone names to IANA, and property values read without raising."""

import zoneinfo
from datetime import UTC, date, datetime, timedelta, timezone

import icalendar
import pytest
from dateutil import tz  # type: ignore[import-untyped]

from apps.core.icalendar import is_zone, known_zone, property_value, zone_name_of


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ('  "America/Chicago" ', "America/Chicago"),
        ("W. Europe Standard Time", "Europe/Berlin"),  # Outlook's names, through icalendar's table
        ("Central Standard Time", "America/Chicago"),
        ("/mozilla.org/20050126_1/Europe/Paris", "Europe/Paris"),  # "globally unique" ids (RFC 5545 3.2.19)
        ("/Europe/Paris/", "Europe/Paris"),
        ("Etc/UTC", "UTC"),
        ("Zulu", "UTC"),
        ("GMT", "UTC"),
        ("Customized Time Zone", None),
        ("", None),
        ("../../etc/passwd", None),
    ],
)
def test_known_zone_names_the_iana_zone(name: str, expected: str | None) -> None:
    assert known_zone(name) == expected


def test_is_zone_takes_iana_names_only() -> None:
    assert is_zone("Asia/Tokyo")
    assert not is_zone("Asia/Nowhere")
    assert not is_zone("/usr/share/zoneinfo/Asia/Tokyo")
    assert not is_zone("")


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        (zoneinfo.ZoneInfo("Europe/Berlin"), "Europe/Berlin"),
        (zoneinfo.ZoneInfo("Etc/UTC"), "UTC"),
        (UTC, "UTC"),
        (timezone(timedelta(0)), "UTC"),
        (tz.gettz("America/Chicago"), "America/Chicago"),
        (tz.tzutc(), "UTC"),
        (timezone(timedelta(hours=5, minutes=17)), None),
    ],
)
def test_zone_name_of_a_parsed_time(zone: object, expected: str | None) -> None:
    assert zone_name_of(zone) == expected  # type: ignore[arg-type]


def test_a_custom_vtimezone_is_named_by_its_tzid() -> None:
    calendar = icalendar.Calendar.from_ical(
        "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\nBEGIN:STANDARD\r\n"
        "DTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
        "BEGIN:VEVENT\r\nUID:x\r\nDTSTART;TZID=W. Europe Standard Time:20260307T100000\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )
    start = calendar.walk("VEVENT")[0]["DTSTART"].dt
    assert zone_name_of(start.tzinfo) == "Europe/Berlin"


def test_property_value_is_none_for_what_cannot_be_read() -> None:
    event = icalendar.Event.from_ical(
        "BEGIN:VEVENT\r\nUID:x\r\nDTSTART;VALUE=DATE:20260307\r\nDTEND:NOT-A-DATE\r\n"
        "DURATION:P999999999999999999W\r\nEXDATE:20260308T100000Z\r\nEXDATE:20260309T100000Z\r\nEND:VEVENT\r\n"
    )
    assert property_value(event.get("DTSTART")) == date(2026, 3, 7)
    assert property_value(event.get("DTEND")) is None  # broken
    assert property_value(event.get("DURATION")) is None  # beyond timedelta
    assert property_value(event.get("EXDATE")) is None  # a list of properties, not one value
    assert property_value(event.get("RECURRENCE-ID")) is None  # missing
    assert property_value(icalendar.vDDDTypes(datetime(2026, 3, 7, 10, tzinfo=UTC))) == datetime(
        2026, 3, 7, 10, tzinfo=UTC
    )
