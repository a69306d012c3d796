"""Our recurrence against the reference implementation, recurring-ical-events, on its own test calendars.

For every calendar shipped in recurring-ical-events' wheel that has VEVENTs and that the library reads, the
occurrences from `parse_calendar` + `expand` must equal the library's over the same windows: a year around the
first DTSTART, a week around every daylight-saving change in Europe/Berlin and America/Chicago in that year and
the next, a week around every changed occurrence that moves the rest of its series (RANGE=THISANDFUTURE) or
whose series is not in the file (we import it as a single plan under a UID of its own), and a year three years
later. Same starts, same ends, same count.

Both sides are normalised alike: timed occurrences to UTC instants (the library's floating times read in the
same default zone we import into), all-day ones to their dates; an occurrence is in a window when it overlaps
it, the same rule `expand` uses. The library is asked for a slightly wider window and filtered by that rule, so
only the occurrence sets are compared, not the two libraries' edge conventions.

`reference_occurrences` and `our_occurrences` are separate so that the second can later go through the import
API (import the file into a calendar, read the occurrences endpoint) without touching the first.
"""

from __future__ import annotations

import re
import zoneinfo
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest
import recurring_ical_events

from apps.calendars.ical import ParsedCalendar, parse_calendar
from apps.calendars.ical.reader import INSTANCE_UID_MARK
from apps.calendars.recurrence import expand

CALENDARS = Path(recurring_ical_events.__file__).parent / "test" / "calendars"
DEFAULT_TIMEZONE = "America/Chicago"  # floating times are read here, by both sides
GENERATED_UID = "generated-"  # our UIDs for VEVENTs without one (the library uses id())
# Our UID of a changed occurrence imported without its series: the series' UID, the mark, the RECURRENCE-ID.
INSTANCE_UID = re.compile(rf"{re.escape(INSTANCE_UID_MARK)}\d{{8}}(T\d{{6}}Z?)?$")

Window = tuple[datetime, datetime]
Key = tuple[str, Any, Any]  # (uid, start, end): UTC datetimes, or dates for all-day occurrences

# Files whose whole comparison is skipped: a deliberate difference from the library, named precisely.
SKIPPED: dict[str, str] = {}

# Files where some UIDs are left out of the comparison, with the reason.
MIXED_TYPES = (
    "DTSTART is a DATE and DTEND a DATE-TIME (invalid, RFC 5545 3.6.1): the library makes it a timed event from "
    "midnight to DTEND; we keep the all-day event DTSTART declares, ending on DTEND's date"
)
EXCLUDED_UIDS: dict[str, tuple[frozenset[str], str]] = {
    "issue_201_mixed_datetime_and_date.ics": (frozenset({"19970901T130000Z-123403@example.com"}), MIXED_TYPES),
    "issue_201_test_matrix.ics": (
        frozenset({"VEVENT-DATE-DATETIME", "VEVENT-DATE-UTC", "VEVENT-DATE-HOURS", "VEVENT-DATETIME-UTC",
                   "VEVENT-UTC-DATETIME"}),
        "these VEVENTs mix DATE, floating and UTC values between DTSTART and DTEND/DURATION (invalid, RFC 5545 "
        "3.6.1): the library converts DTSTART to DTEND's type and zone (a DATE start becomes midnight of a timed "
        "event, a floating start is read as UTC); we keep the all-day event DTSTART declares and read floating "
        "values in the calendar's zone",
    ),
}  # fmt: skip

# Files compared with the library's zero-length all-day events read as one day long, with the reason.
ONE_DAY_ALL_DAY: dict[str, str] = {
    "Germany_Holidays.ics": (
        "all-day events with DTEND equal to DTSTART: the library keeps them zero-length, we give them one day "
        "(an all-day Plan ends after it starts; RFC 5545 gives a DATE event one day)"
    ),
}

# What we refuse on purpose (the library shows these), by file: UID -> words the reason must contain.
EXPECTED_REFUSALS: dict[str, dict[str | None, str]] = {
    "end_before_start_event.ics": {"UYDQSG9TH4DE0WM3QFL2J": "ends before it starts"},
    "issue_132_swapped_start_and_end.ics": {"84A72-65798A00-5-20465200": "ends before it starts"},
}


def calendar_files() -> list[Path]:
    return sorted(CALENDARS.glob("*.ics"))


def _series_uid(uid: str) -> str:
    """The UID the library reports for one of our plans: an occurrence imported alone carries its series'."""
    return "" if uid.startswith(GENERATED_UID) else INSTANCE_UID.sub("", uid)


def _midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zoneinfo.ZoneInfo(zone)).astimezone(UTC)


def _overlaps(start: datetime, end: datetime, window: Window) -> bool:
    window_start, window_end = window
    if start == end:
        return window_start <= start < window_end
    return start < window_end and window_start < end


def _calendar_zone(calendar: icalendar.Calendar, default_timezone: str) -> str:
    """The zone all-day and floating values are read in: X-WR-TIMEZONE when it names a zone, else the default."""
    name = str(calendar.get("X-WR-TIMEZONE") or "").strip()
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return default_timezone
    return name


def _read(path: Path) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(path.read_bytes())


def _utc(value: date, zone: str) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.combine(value, time.min)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zoneinfo.ZoneInfo(zone))
    return moment.astimezone(UTC)


def reference_occurrences(
    path: Path,
    windows: list[Window],
    *,
    default_timezone: str = DEFAULT_TIMEZONE,
    zero_length_all_day_as_one_day: bool = False,
) -> list[Counter[Key]]:
    """recurring-ical-events' occurrences of the file, per window, normalised."""
    calendar = _read(path)
    zone = _calendar_zone(calendar, default_timezone)
    query = recurring_ical_events.of(calendar)
    result: list[Counter[Key]] = []
    for window in windows:
        found: Counter[Key] = Counter()
        margin = timedelta(days=2)
        for component in query.between(window[0] - margin, window[1] + margin):
            uid = str(component["UID"]) if "UID" in component else ""
            start = component["DTSTART"].dt
            end = component["DTEND"].dt if "DTEND" in component else start
            if isinstance(start, datetime):
                key: Key = (uid, _utc(start, zone), _utc(end, zone))
                span = (key[1], key[2])
            else:
                end = end.date() if isinstance(end, datetime) else end
                if zero_length_all_day_as_one_day and end == start:
                    end = start + timedelta(days=1)
                key = (uid, start, end)
                span = (_midnight(start, zone), _midnight(end, zone))
            if _overlaps(*span, window):
                found[key] += 1
        result.append(found)
    return result


def our_occurrences(parsed: ParsedCalendar, windows: list[Window]) -> list[Counter[Key]]:
    """Our occurrences of the parsed calendar, per window, normalised like reference_occurrences."""
    result: list[Counter[Key]] = []
    for window in windows:
        found: Counter[Key] = Counter()
        for item in parsed.items:
            uid = _series_uid(item.uid)
            series = item.series()
            for occurrence in expand(series, *window):
                if occurrence.all_day:
                    found[(uid, occurrence.start_date, occurrence.end_date)] += 1
                else:
                    found[(uid, occurrence.start_utc, occurrence.end_utc)] += 1
        result.append(found)
    return result


def _transitions(zone_name: str, year: int) -> Iterator[datetime]:
    zone = zoneinfo.ZoneInfo(zone_name)
    moment = datetime(year, 1, 1, tzinfo=UTC)
    offset = moment.astimezone(zone).utcoffset()
    while moment.year == year:
        following = moment + timedelta(hours=6)
        if following.astimezone(zone).utcoffset() != offset:
            offset = following.astimezone(zone).utcoffset()
            yield following
        moment = following


def _this_and_future(event: icalendar.Component) -> bool:
    recurrence_id = event.get("RECURRENCE-ID")
    return recurrence_id is not None and recurrence_id.params.get("RANGE") == "THISANDFUTURE"


def windows_for(path: Path) -> list[Window]:
    """A year around the first DTSTART, a week around each DST change in Berlin and Chicago that year and the
    next, a week around each changed occurrence that moves the rest of its series or has no series in the file,
    and a year three years on."""
    calendar = _read(path)
    events = calendar.walk("VEVENT")
    masters = {str(event.get("UID")) for event in events if "RECURRENCE-ID" not in event}
    starts, changed = [], []
    for event in events:
        value = getattr(event.get("DTSTART"), "dt", None)
        if isinstance(value, date):
            starts.append(_utc(value, "UTC"))
            if _this_and_future(event) or ("RECURRENCE-ID" in event and str(event.get("UID")) not in masters):
                changed.append(_utc(value, "UTC").replace(hour=0, minute=0, second=0, microsecond=0))
    first = min(starts).replace(hour=0, minute=0, second=0, microsecond=0)
    windows: list[Window] = [(first - timedelta(days=30), first + timedelta(days=335))]
    windows.extend((day - timedelta(days=3), day + timedelta(days=4)) for day in sorted(set(changed)))
    for year in (first.year, first.year + 1):
        for zone in ("Europe/Berlin", "America/Chicago"):
            windows.extend(
                (change - timedelta(days=3), change + timedelta(days=4)) for change in _transitions(zone, year)
            )
    windows.append((first + timedelta(days=3 * 365), first + timedelta(days=4 * 365)))
    return windows


def _without(counter: Counter[Key], uids: set[str] | frozenset[str]) -> Counter[Key]:
    return Counter({key: n for key, n in counter.items() if key[0] not in uids})


def _expectations(path: Path) -> tuple[bytes, list[Window], list[Counter[Key]], set[str]]:
    """The file, its windows, the library's occurrences, and the UIDs left out of the comparison (with the
    refusals checked); skips the test where there is nothing to compare."""
    if path.name in SKIPPED:
        pytest.skip(SKIPPED[path.name])
    data = path.read_bytes()
    calendar = _read(path)
    if not calendar.walk("VEVENT"):
        pytest.skip("no VEVENT in this calendar")
    parsed = parse_calendar(data, default_timezone=DEFAULT_TIMEZONE)
    windows = windows_for(path)
    try:
        expected = reference_occurrences(path, windows, zero_length_all_day_as_one_day=path.name in ONE_DAY_ALL_DAY)
    except Exception as exc:  # noqa: BLE001 - whatever the library raises means it cannot read the file
        assert parsed.refused, "the library cannot read this file; we should refuse what it cannot read"
        pytest.skip(f"recurring-ical-events cannot read it: {type(exc).__name__}: {exc}")
    refused = {refusal.uid: refusal.reason for refusal in parsed.refused}
    wanted = EXPECTED_REFUSALS.get(path.name, {})
    for uid, words in wanted.items():
        assert words in refused.get(uid, ""), f"{uid} should be refused ({words}); refused: {refused}"
    unexpected = {uid: reason for uid, reason in refused.items() if uid not in wanted}
    assert not unexpected, f"unexpected refusals: {unexpected}"
    left_out: set[str] = {uid for uid in refused if uid is not None}
    excluded, _reason = EXCLUDED_UIDS.get(path.name, (frozenset(), ""))
    return data, windows, expected, left_out | excluded


def _compare(
    windows: list[Window], expected: list[Counter[Key]], actual: list[Counter[Key]], left_out: set[str]
) -> None:
    for window, theirs, ours in zip(windows, expected, actual, strict=True):
        theirs, ours = _without(theirs, left_out), _without(ours, left_out)
        span = f"{window[0]:%Y-%m-%d}..{window[1]:%Y-%m-%d}"
        missing, extra = theirs - ours, ours - theirs
        assert not missing, f"window {span}: missing {sorted(missing)[:5]}"
        assert not extra, f"window {span}: extra {sorted(extra)[:5]}"


@pytest.mark.parametrize("path", calendar_files(), ids=lambda p: p.name)
def test_occurrences_match_recurring_ical_events(path: Path) -> None:
    data, windows, expected, left_out = _expectations(path)
    parsed = parse_calendar(data, default_timezone=DEFAULT_TIMEZONE)
    _compare(windows, expected, our_occurrences(parsed, windows), left_out)


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.mark.django_db
@pytest.mark.parametrize("path", calendar_files(), ids=lambda p: p.name)
def test_occurrences_through_the_import_api_match_recurring_ical_events(
    path: Path, auth_client: Any, user: Any
) -> None:
    """The acceptance test as a client sees it: POST the file to the import API, read the occurrences API."""
    from apps.calendars.models import Calendar, Plan

    data, windows, expected, left_out = _expectations(path)
    calendar = Calendar.objects.get(owner=user, is_default=True)
    calendar.timezone = DEFAULT_TIMEZONE
    calendar.save()
    response = auth_client.post(f"/api/v1/calendars/{calendar.pk}/import", data, content_type="text/calendar")
    assert response.status_code == 200, response.content
    uids = {pk: _series_uid(uid) for pk, uid in Plan.objects.filter(calendar=calendar).values_list("pk", "ical_uid")}
    actual: list[Counter[Key]] = []
    for window in windows:
        url = f"/api/v1/calendars/{calendar.pk}/occurrences"
        params = {"start": _z(window[0]), "end": _z(window[1]), "include_cancelled": "true"}
        body = auth_client.get(url, params)
        assert body.status_code == 200, body.content
        found: Counter[Key] = Counter()
        for o in body.json()["results"]:
            uid = uids[o["plan_id"]]
            if o["all_day"]:
                found[(uid, date.fromisoformat(o["start"]), date.fromisoformat(o["end"]))] += 1
            else:
                start = datetime.fromisoformat(o["start_utc"].replace("Z", "+00:00"))
                found[(uid, start, datetime.fromisoformat(o["end_utc"].replace("Z", "+00:00")))] += 1
        actual.append(found)
    _compare(windows, expected, actual, left_out)


def test_the_comparison_covers_the_reference_calendars() -> None:
    """The acceptance criterion is about all of them: keep the list of exceptions short and explained."""
    files = calendar_files()
    assert len(files) >= 90
    assert len(SKIPPED) + len(EXCLUDED_UIDS) + len(ONE_DAY_ALL_DAY) <= 5
    assert all(len(reason) > 60 for reason in (*SKIPPED.values(), *ONE_DAY_ALL_DAY.values()))


def test_this_and_future_and_occurrences_without_their_series_are_compared() -> None:
    """The calendars that move the rest of a series (RANGE=THISANDFUTURE) or hold changed occurrences whose
    series is missing are among those compared in full, none skipped or left out."""
    this_and_future, alone = set(), set()
    for path in calendar_files():
        events = _read(path).walk("VEVENT")
        if any(_this_and_future(event) for event in events):
            this_and_future.add(path.name)
        masters = {str(e.get("UID")) for e in events if "RECURRENCE-ID" not in e}
        if any("RECURRENCE-ID" in e and str(e.get("UID")) not in masters for e in events):
            alone.add(path.name)
    assert "issue_75_range_parameter.ics" in this_and_future
    assert "issue_173_only_modifications_error.ics" in alone
    assert not (this_and_future | alone) & (set(SKIPPED) | set(EXCLUDED_UIDS))


@pytest.mark.parametrize(
    ("name", "zone"),
    [("issue_48_dst.ics", "America/Chicago"), ("daylight_saving_time.ics", "Europe/Berlin")],
)
def test_reference_dst_calendars_keep_local_time(name: str, zone: str) -> None:
    """The DST calendars really are about DST: a weekly series keeps its wall-clock time in its zone while its
    UTC time moves by an hour."""
    parsed = parse_calendar((CALENDARS / name).read_bytes(), default_timezone=DEFAULT_TIMEZONE)
    weekly = [
        i
        for i in parsed.items
        if "WEEKLY" in i.rrule and "COUNT" not in i.rrule and i.timezone == zone and not i.all_day
    ]
    assert weekly
    item = weekly[0]
    assert item.start_local is not None
    first = datetime.combine(item.start_local.date(), time.min, tzinfo=UTC)
    occurrences = expand(item.series(), first, first + timedelta(days=370))
    assert occurrences
    assert {o.start_local.time() for o in occurrences if o.start_local} == {item.start_local.time()}
    assert len({o.start_utc.time() for o in occurrences}) == 2
