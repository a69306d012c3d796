"""icalendar's own test calendars, broken ones included, never crash the importer.

Every file shipped in icalendar's wheel either parses into items and refusals, or raises IcsParseError (which
the import API reports as a refusal, storing nothing) with a message that says where it broke. Whatever parses
can also be expanded and exported.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest

from apps.calendars.ical import IcsParseError, parse_calendar, render_calendar
from apps.calendars.recurrence import RecurrenceError, expand

CALENDARS = Path(icalendar.__file__).parent / "tests" / "calendars"

# icalendar warns when it guesses an IANA name from a "globally unique" /vendor/Region/City TZID; so do we, on
# purpose (RFC 5545 3.2.19), so the warning is noise here.
pytestmark = pytest.mark.filterwarnings("ignore::icalendar.error.GloballyUniqueTZIDGuessed")

# Files that cannot be read as a calendar at all, and the words our message must contain.
UNREADABLE = {
    "big_bad_calendar.ics": "END:VCALENDAR is missing",
    "small_bad_calendar.ics": "END:VCALENDAR is missing",
    "pr_480_summary_with_colon.ics": "END:VCALENDAR is missing",
    "fuzz_testcase_0_char_in_component_name.ics": "Line 1",
    "fuzz_testcase_invalid_month.ics": "Line 1",
    "fuzz_testcase_vtimezone_lone_cr.ics": "Line 1",
    "issue_82_expected_output.ics": "expected BEGIN:VCALENDAR",
    "issue_104_broken_calendar.ics": "Line 13",
    "parsing_error_in_UTC_offset.ics": "VTIMEZONE at lines 2-10",
    "issue_178_component_with_invalid_name_represented.ics": "expected BEGIN:VCALENDAR",
    "issue_178_custom_component_contains_other.ics": "expected BEGIN:VCALENDAR",
}


def corpus() -> list[Path]:
    return sorted(CALENDARS.glob("*.ics"))


def test_the_corpus_is_there() -> None:
    assert len(corpus()) >= 100


@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.name)
def test_every_file_is_imported_or_refused_with_a_reason(path: Path) -> None:
    try:
        parsed = parse_calendar(path.read_bytes(), default_timezone="Europe/Berlin")
    except IcsParseError as exc:
        message = str(exc)
        assert message
        if path.name in UNREADABLE:
            assert UNREADABLE[path.name] in message
        return
    assert path.name not in UNREADABLE, f"{path.name} should not parse"
    assert all(refusal.reason for refusal in parsed.refused)
    window_start = datetime(1990, 1, 1, tzinfo=UTC)
    for item in parsed.items:
        first = item.series()
        try:
            occurrences = expand(first, window_start, window_start + timedelta(days=366 * 5))
            occurrences += expand(first, datetime(2024, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC))
        except RecurrenceError as exc:  # pragma: no cover - parse_calendar refuses such series
            pytest.fail(f"{item.uid}: {exc}")
        assert all(o.end_utc >= o.start_utc for o in occurrences)
    exported = render_calendar(name=path.stem, timezone="Europe/Berlin", plans=parsed.items)
    again = parse_calendar(exported, default_timezone="Europe/Berlin")
    assert again.items == parsed.items
    assert not again.refused


def test_content_after_the_calendar_is_ignored() -> None:
    text = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\nX-COMMENT:cached\r\n"
    assert parse_calendar(text, default_timezone="UTC").items == []


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (b"", "empty"),
        (b"not a calendar", "Line 1"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\n", "END:VCALENDAR is missing"),
        (b"BEGIN:VCALENDAR\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "Line 2: END:VEVENT without a matching BEGIN"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nBEGIN:VALARM\r\nEND:VEVENT\r\n", "Line 4: END:VEVENT while VALARM"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:\r\nEND:VCALENDAR\r\n", "Line 2: 'BEGIN:' does not name a component"),
        (b"X-HEADER:1\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "Line 1: content before BEGIN:VCALENDAR"),
        (b"\xff\xfe\x00garbage", "Line 1"),
    ],
)
def test_what_does_not_parse_says_where(text: bytes, where: str) -> None:
    with pytest.raises(IcsParseError, match=where):
        parse_calendar(text, default_timezone="UTC")


@pytest.mark.django_db
@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.name)
def test_the_import_api_takes_every_file_or_answers_400(path: Path, auth_client: Any, user: Any) -> None:
    """Through the API: each file is imported (200, refusals listed, an unreadable file among them) or, when it
    is no iCalendar file at all, refused with a 400; never a 500, and a refused file stores nothing."""
    from apps.calendars.models import Calendar, Plan

    calendar = Calendar.objects.get(owner=user, is_default=True)
    response = auth_client.post(
        f"/api/v1/calendars/{calendar.pk}/import", path.read_bytes(), content_type="text/calendar"
    )
    assert response.status_code in (200, 400), (response.status_code, response.content[:300])
    if response.status_code == 400:
        assert "file" in response.json()["error"]["fields"]
        assert not Plan.objects.filter(calendar=calendar).exists()
    else:
        body = response.json()
        assert body["created"] == Plan.objects.filter(calendar=calendar).count()
