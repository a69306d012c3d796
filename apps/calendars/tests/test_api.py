"""The calendars API end to end: plans, occurrences across DST, conflicts, ICS in and out, the feed."""

from datetime import UTC, datetime, timedelta

import pytest

from apps.calendars import services
from apps.calendars.models import Calendar, Plan, PlanOrigin, PlanStatus
from apps.events import services as event_services
from apps.events.models import Event
from apps.events.tests.factories import item, make_source, venue

pytestmark = pytest.mark.django_db


@pytest.fixture
def calendar(user):
    return Calendar.objects.get(owner=user, is_default=True)


def _create(auth_client, calendar, **body):
    payload = {"title": "Plan", "timezone": "Europe/Berlin", **body}
    return auth_client.post(f"/api/v1/calendars/{calendar.pk}/plans", payload, format="json")


def test_every_person_gets_a_default_calendar_in_their_zone(user):
    calendar = Calendar.objects.get(owner=user)
    assert calendar.is_default
    assert calendar.timezone == user.profile.timezone


def test_calendar_crud(auth_client):
    created = auth_client.post("/api/v1/calendars", {"name": "Gym", "timezone": "America/Chicago"}, format="json")
    assert created.status_code == 201, created.content
    calendar_id = created.json()["id"]
    assert created.json()["feed_url"].endswith(".ics")
    assert (
        auth_client.patch(f"/api/v1/calendars/{calendar_id}", {"color": "#ff8800"}, format="json").json()["color"]
        == "#ff8800"
    )
    assert (
        auth_client.post("/api/v1/calendars", {"name": "x", "timezone": "Mars/Base"}, format="json").status_code == 400
    )
    assert auth_client.post("/api/v1/calendars", {"timezone": "UTC"}, format="json").json()["error"][
        "fields"
    ].keys() == {"name"}
    assert auth_client.delete(f"/api/v1/calendars/{calendar_id}").status_code == 204
    assert [c["name"] for c in auth_client.get("/api/v1/calendars").json()["results"]] == ["My weekend"]


def test_a_weekly_plan_stays_at_ten_local_across_the_dst_change(auth_client, calendar):
    response = _create(
        auth_client, calendar, title="Saturday run", start="2026-10-17T10:00:00", end="2026-10-17T11:00:00",
        rrule="FREQ=WEEKLY;COUNT=4",
    )  # fmt: skip
    assert response.status_code == 201, response.content

    body = auth_client.get(f"/api/v1/calendars/{calendar.pk}/occurrences?start=2026-10-01&end=2026-11-30").json()
    starts = [o["start"] for o in body["results"]]
    assert starts == [
        "2026-10-17T10:00:00+02:00", "2026-10-24T10:00:00+02:00", "2026-10-31T10:00:00+01:00",
        "2026-11-07T10:00:00+01:00",
    ]  # fmt: skip
    assert body["results"][2]["start_utc"] == "2026-10-31T09:00:00Z"


def test_bad_plan_input_is_400_naming_the_field_and_stores_nothing(auth_client, calendar):
    cases = [
        ({"start": "2026-12-05T10:00:00Z", "end": "2026-12-05T09:00:00Z"}, "end"),
        ({"start": "yesterday", "end": "2026-12-05T09:00:00Z"}, "start"),
        ({"start": "2026-12-05T10:00:00Z", "end": "2026-12-05T11:00:00Z", "rrule": "FREQ=SOMETIMES"}, "rrule"),
        ({"start": "2026-12-05T10:00:00Z", "end": "2026-12-05T11:00:00Z", "timezone": "Nowhere/City"}, "timezone"),
        ({"start": "2026-12-05T10:00:00Z", "end": "2026-12-05T11:00:00Z", "lat": 52.5}, "lon"),
        ({"all_day": True, "start": "2026-12-05", "end": "2026-12-05"}, "end"),
    ]
    for body, field in cases:
        response = _create(auth_client, calendar, **body)
        assert response.status_code == 400, (body, response.content)
        assert field in response.json()["error"]["fields"], (body, response.json())
    assert not Plan.objects.exists()


def test_overlap_is_returned_and_refused_with_409_when_asked(auth_client, calendar):
    _create(auth_client, calendar, title="Brunch", start="2026-12-05T11:00:00", end="2026-12-05T13:00:00")
    response = _create(auth_client, calendar, title="Museum", start="2026-12-05T12:30:00", end="2026-12-05T14:00:00")
    assert response.status_code == 201
    conflict = response.json()["conflicts"][0]
    assert conflict["kind"] == "overlap"
    assert conflict["overlap_minutes"] == 30

    url = f"/api/v1/calendars/{calendar.pk}/plans?reject_conflicts=true"
    refused = auth_client.post(url, {"title": "Film", "start": "2026-12-05T12:00:00", "end": "2026-12-05T12:45:00",
                                     "timezone": "Europe/Berlin"}, format="json")  # fmt: skip
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "conflict"
    assert {c["second"]["title"] for c in refused.json()["conflicts"]} | {
        c["first"]["title"] for c in refused.json()["conflicts"]
    } >= {"Film", "Brunch"}
    assert not Plan.objects.filter(title="Film").exists()


def test_conflicts_across_calendars_and_recurring_against_single(auth_client, user, calendar):
    gym = services.calendar_create(owner=user, name="Gym")
    _create(auth_client, gym, title="Swim", start="2026-12-05T09:00:00", end="2026-12-05T10:00:00",
            rrule="FREQ=WEEKLY;COUNT=10")  # fmt: skip
    _create(auth_client, calendar, title="Market", start="2026-12-19T09:30:00", end="2026-12-19T11:00:00")
    body = auth_client.get("/api/v1/conflicts?start=2026-12-01&end=2027-01-01").json()["results"]
    assert len(body) == 1
    assert {body[0]["first"]["title"], body[0]["second"]["title"]} == {"Swim", "Market"}
    busy = auth_client.get("/api/v1/me/freebusy?start=2026-12-19&end=2026-12-20").json()["busy"]
    assert busy == [{"start_utc": "2026-12-19T08:00:00Z", "end_utc": "2026-12-19T10:00:00Z"}]


def test_moving_and_cancelling_one_occurrence(auth_client, calendar):
    plan = _create(auth_client, calendar, title="Choir", start="2026-12-05T18:00:00", end="2026-12-05T20:00:00",
                   rrule="FREQ=WEEKLY;COUNT=3").json()  # fmt: skip
    base = f"/api/v1/calendars/{calendar.pk}/plans/{plan['id']}/occurrences"
    new_time = {"start": "2026-12-13T18:00:00+01:00", "end": "2026-12-13T20:00:00+01:00"}
    moved = auth_client.patch(f"{base}/2026-12-12T18:00:00", new_time, format="json")
    assert moved.status_code == 200, moved.content
    assert auth_client.delete(f"{base}/2026-12-19T18:00:00").status_code == 204
    # Deleted is gone: neither changed nor deleted again.
    assert auth_client.patch(f"{base}/2026-12-19T18:00:00", {"title": "x"}, format="json").status_code == 404
    assert auth_client.delete(f"{base}/2026-12-19T18:00:00").status_code == 404
    assert auth_client.delete(f"{base}/2026-12-20T18:00:00").status_code == 404  # not an occurrence

    url = f"/api/v1/calendars/{calendar.pk}/occurrences?start=2026-12-01&end=2027-01-01"
    assert [o["start"] for o in auth_client.get(url).json()["results"]] == [
        "2026-12-05T18:00:00+01:00", "2026-12-13T18:00:00+01:00",
    ]  # fmt: skip
    with_cancelled = auth_client.get(f"{url}&include_cancelled=true").json()["results"]
    assert [o["status"] for o in with_cancelled] == ["confirmed", "confirmed", "cancelled"]


def test_saved_catalogue_event_follows_the_event_and_is_flagged_when_cancelled(auth_client, calendar):
    source = make_source()
    start = datetime(2026, 12, 5, 19, 0, tzinfo=UTC)
    event_services.events_upsert(source=source, items=[item("e1", start=start, venue=venue())])
    event = Event.objects.get()

    response = auth_client.post("/api/v1/plans/from-event", {"event": event.pk, "calendar": calendar.pk}, format="json")
    assert response.status_code == 201, response.content
    plan = Plan.objects.get()
    assert plan.origin == PlanOrigin.CATALOGUE
    assert (plan.lat, plan.lon) == (event.lat, event.lon)

    event_services.events_upsert(
        source=source, items=[item("e1", start=start + timedelta(hours=1), status="cancelled")]
    )
    services.plans_follow_events(event_ids=[event.pk])
    plan.refresh_from_db()
    assert plan.status == PlanStatus.CANCELLED
    assert plan.start_utc == start + timedelta(hours=1)
    assert "cancelled" in plan.attention


ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Example//Test//EN
X-WR-TIMEZONE:Europe/Berlin
BEGIN:VEVENT
UID:yoga@example.test
DTSTAMP:20261101T000000Z
DTSTART;TZID=Europe/Berlin:20261017T100000
DTEND;TZID=Europe/Berlin:20261017T110000
RRULE:FREQ=WEEKLY;COUNT=5
EXDATE;TZID=Europe/Berlin:20261024T100000
SUMMARY:Yoga
END:VEVENT
BEGIN:VEVENT
UID:yoga@example.test
DTSTAMP:20261101T000000Z
RECURRENCE-ID;TZID=Europe/Berlin:20261031T100000
DTSTART;TZID=Europe/Berlin:20261031T120000
DTEND;TZID=Europe/Berlin:20261031T130000
SUMMARY:Yoga (late)
END:VEVENT
BEGIN:VEVENT
UID:fair@example.test
DTSTAMP:20261101T000000Z
DTSTART;VALUE=DATE:20261107
DTEND;VALUE=DATE:20261109
SUMMARY:Book fair
END:VEVENT
BEGIN:VEVENT
UID:broken@example.test
SUMMARY:No start
END:VEVENT
BEGIN:VTODO
UID:todo@example.test
SUMMARY:Not an event
END:VTODO
END:VCALENDAR
""".replace("\n", "\r\n")


def _occurrences(auth_client, calendar):
    """(title, start, end): local times with their offsets, or dates for all-day occurrences."""
    url = f"/api/v1/calendars/{calendar.pk}/occurrences?start=2026-10-01&end=2026-12-31"
    return [(o["title"], o["start"], o["end"]) for o in auth_client.get(url).json()["results"]]


def test_import_refuses_what_cannot_stand_alone_and_importing_again_updates(auth_client, calendar):
    url = f"/api/v1/calendars/{calendar.pk}/import"
    first = auth_client.post(url, ICS.encode(), content_type="text/calendar")
    assert first.status_code == 200, first.content
    assert (first.json()["created"], first.json()["updated"]) == (2, 0)
    assert [r["uid"] for r in first.json()["refused"]] == ["broken@example.test"]

    again = auth_client.post(url, ICS.encode(), content_type="text/calendar").json()
    assert (again["created"], again["updated"]) == (0, 2)
    titles = [o[0] for o in _occurrences(auth_client, calendar)]
    assert titles == ["Yoga", "Yoga (late)", "Book fair", "Yoga", "Yoga"]


def test_a_calendar_that_does_not_parse_is_reported_with_nothing_stored(auth_client, calendar):
    response = auth_client.post(
        f"/api/v1/calendars/{calendar.pk}/import", b"BEGIN:VCALENDAR\r\nthis is not ical", content_type="text/calendar"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["updated"]) == (0, 0)
    [refusal] = body["refused"]
    assert refusal["uid"] is None
    assert refusal["reason"].startswith("Not a readable iCalendar file: ")
    assert not Plan.objects.exists()


def test_a_file_that_is_not_icalendar_at_all_is_400(auth_client, calendar):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    response = auth_client.post(f"/api/v1/calendars/{calendar.pk}/import", png, content_type="text/calendar")
    assert response.status_code == 400
    assert "BEGIN:VCALENDAR" in response.json()["error"]["fields"]["file"][0]
    assert not Plan.objects.exists()


def test_importing_what_we_exported_gives_the_same_occurrences(auth_client, user, calendar):
    auth_client.post(f"/api/v1/calendars/{calendar.pk}/import", ICS.encode(), content_type="text/calendar")
    exported = auth_client.get(f"/api/v1/calendars/{calendar.pk}/ics")
    assert exported["Content-Type"].startswith("text/calendar")
    text = exported.content.decode()
    assert "BEGIN:VTIMEZONE" in text
    assert "TZID:Europe/Berlin" in text
    assert "RRULE:FREQ=WEEKLY;COUNT=5" in text
    assert "RECURRENCE-ID;TZID=Europe/Berlin:20261031T100000" in text
    assert "DTSTART;VALUE=DATE:20261107" in text

    copy = services.calendar_create(owner=user, name="Copy", timezone="Europe/Berlin")
    auth_client.post(f"/api/v1/calendars/{copy.pk}/import", exported.content, content_type="text/calendar")
    assert _occurrences(auth_client, copy) == _occurrences(auth_client, calendar)


def test_the_private_feed_has_an_etag_and_can_be_revoked(auth_client, client, calendar):
    auth_client.post(f"/api/v1/calendars/{calendar.pk}/import", ICS.encode(), content_type="text/calendar")
    calendar.refresh_from_db()
    feed = client.get(f"/feeds/{calendar.feed_token}.ics")
    assert feed.status_code == 200
    assert "BEGIN:VEVENT" in feed.content.decode()
    assert client.get(f"/feeds/{calendar.feed_token}.ics", HTTP_IF_NONE_MATCH=feed["ETag"]).status_code == 304

    old_token = calendar.feed_token
    new_url = auth_client.post(f"/api/v1/calendars/{calendar.pk}/feed").json()["feed_url"]
    assert client.get(f"/feeds/{old_token}.ics").status_code == 404
    assert client.get(new_url.replace("http://testserver", "")).status_code == 200
    assert auth_client.delete(f"/api/v1/calendars/{calendar.pk}/feed").status_code == 204
    assert client.get(new_url.replace("http://testserver", "")).status_code == 404


def test_export_includes_calendars(auth_client, calendar):
    _create(auth_client, calendar, title="Brunch", start="2026-12-05T11:00:00", end="2026-12-05T13:00:00")
    body = auth_client.get("/api/v1/me/export").json()
    assert body["calendars"][0]["plans"][0]["title"] == "Brunch"


def test_import_takes_a_multipart_file_too(auth_client, calendar):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("export.ics", ICS.encode(), content_type="text/calendar")
    response = auth_client.post(f"/api/v1/calendars/{calendar.pk}/import", {"file": upload}, format="multipart")
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 2
    missing = auth_client.post(f"/api/v1/calendars/{calendar.pk}/import", {}, format="multipart")
    assert missing.status_code == 400
    assert "file" in missing.json()["error"]["fields"]
    # The file as a text field, as a form without a file picker sends it.
    as_text = auth_client.post(f"/api/v1/calendars/{calendar.pk}/import", {"file": ICS}, format="multipart")
    assert as_text.status_code == 200, as_text.content
    assert as_text.json()["updated"] == 2
    # Neither multipart nor text/calendar: the schema lists no other body.
    assert auth_client.post(f"/api/v1/calendars/{calendar.pk}/import", {}, format="json").status_code == 415


def test_a_new_plan_too_soon_after_one_across_town_is_a_travel_conflict(auth_client, user, calendar):
    user.profile.travel_mode = "walk"
    user.profile.save()
    museum = {"lat": 52.5169, "lon": 13.4019, "location": "Museumsinsel"}
    _create(auth_client, calendar, title="Museum", start="2026-12-05T10:00:00", end="2026-12-05T12:00:00", **museum)
    response = _create(
        auth_client, calendar, title="Lunch in Spandau", start="2026-12-05T12:10:00", end="2026-12-05T13:00:00",
        lat=52.5360, lon=13.2000, location="Spandau",
    )  # fmt: skip
    conflict = response.json()["conflicts"][0]
    assert conflict["kind"] == "travel"
    assert conflict["available_minutes"] == 10
    assert conflict["needed_minutes"] > 60
    assert "from Museum" in conflict["second"]["reason"]


# --- What Schemathesis found: bad input is a 4xx naming the field, never a 500 -------------------------------


def test_an_imported_calendar_with_control_characters_is_stored_without_nul(auth_client, calendar):
    from django.core.files.uploadedfile import SimpleUploadedFile

    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-WR-CALNAME:Team\x00\x1b[31m\x0c\r\n"
        "BEGIN:VEVENT\r\nUID:ctl\x00@example.test\r\nDTSTART:20261205T100000Z\r\nDTEND:20261205T110000Z\r\n"
        "SUMMARY:Bru\x00nch\x07\x1f\r\nLOCATION:Caf\x00é\x01\r\nDESCRIPTION:\x00\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    upload = SimpleUploadedFile("team\x01\x1b.ics", ics.encode(), content_type="text/calendar")
    response = auth_client.post(f"/api/v1/calendars/{calendar.pk}/import", {"file": upload}, format="multipart")
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1
    plan = Plan.objects.get(calendar=calendar)
    assert (plan.title, plan.location, plan.notes, plan.ical_uid) == ("Brunch\x07", "Café\x01", "", "ctl@example.test")


def test_a_calendar_name_with_control_characters_is_taken_or_refused_by_name(auth_client):
    created = auth_client.post("/api/v1/calendars", {"name": "Team\x1b[31m\x0c"}, format="json")
    assert created.status_code == 201, created.content
    for name in ("Te\x00am", "\x1c\x1f", " \t\u3000"):
        response = auth_client.post("/api/v1/calendars", {"name": name}, format="json")
        assert response.status_code == 400, (name, response.content)
        assert response.json()["error"]["fields"].keys() == {"name"}
    # The API reads JSON; a form body is 415, however its parts are named.
    form = b'--B\r\nContent-Disposition: form-data; name="name\x00\x1b"\r\n\r\nx\x00\r\n--B--\r\n'
    response = auth_client.generic("POST", "/api/v1/calendars", form, content_type="multipart/form-data; boundary=B")
    assert response.status_code == 415


def test_a_multipart_import_with_too_many_parts_is_400(auth_client, calendar):
    parts = b"".join(b'--B\r\nContent-Disposition: form-data; name="x\x1b"\r\n\r\n\x00\r\n' for _ in range(1100))
    response = auth_client.generic(
        "POST", f"/api/v1/calendars/{calendar.pk}/import", parts + b"--B--\r\n",
        content_type="multipart/form-data; boundary=B",
    )  # fmt: skip
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "too_many_parts"


@pytest.mark.parametrize(
    "rdates",
    [
        ["2026-06-13/2026-06-12"],  # a period that ends before it starts
        ["2026-02-30"],  # no such day
        ["0"],
        ["2026-06-13T10:00:00/"],
        ["1599-12-31"],  # before the years plans may use
    ],
)
def test_odd_rdates_are_400_naming_rdates(auth_client, calendar, rdates):
    response = _create(auth_client, calendar, start="2026-06-06T10:00:00", end="2026-06-06T11:00:00", rdates=rdates)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"].keys() == {"rdates"}
    assert not Plan.objects.exists()


@pytest.mark.parametrize("exdates", [["0", "0"], ["2026-13-01"], ["2026-06-13T25:00:00"], [""]])
def test_odd_exdates_are_400_naming_exdates(auth_client, calendar, exdates):
    response = _create(
        auth_client, calendar, start="2026-06-06T10:00:00", end="2026-06-06T11:00:00",
        rrule="FREQ=WEEKLY;COUNT=3", exdates=exdates,
    )  # fmt: skip
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"].keys() == {"exdates"}
    assert not Plan.objects.exists()


def test_good_rdates_and_exdates_are_taken(auth_client, calendar):
    response = _create(
        auth_client, calendar, start="2026-06-06T10:00:00", end="2026-06-06T11:00:00", rrule="FREQ=WEEKLY;COUNT=3",
        rdates=["2026-06-10T18:00:00", "2026-06-11T18:00:00/2026-06-11T20:00:00"], exdates=["2026-06-13T10:00:00"],
    )  # fmt: skip
    assert response.status_code == 201, response.content
    body = auth_client.get(f"/api/v1/calendars/{calendar.pk}/occurrences?start=2026-06-01&end=2026-07-01").json()
    assert [o["start"] for o in body["results"]] == [
        "2026-06-06T10:00:00+02:00", "2026-06-10T18:00:00+02:00", "2026-06-11T18:00:00+02:00",
        "2026-06-20T10:00:00+02:00",
    ]  # fmt: skip


def test_a_plan_at_the_ends_of_time_is_400_not_500(auth_client, calendar):
    for start, end in (
        ("0001-01-01T00:00:00+14:00", "0001-01-01T01:00:00"),
        ("9999-12-31T23:00:00-05:00", "9999-12-31T23:30:00"),
    ):
        response = _create(auth_client, calendar, start=start, end=end)
        assert response.status_code == 400, response.content
        assert "start" in response.json()["error"]["fields"]
    window = auth_client.get(f"/api/v1/calendars/{calendar.pk}/occurrences?start=0001-01-01&end=0001-01-02")
    assert window.status_code == 400
    assert window.json()["error"]["fields"].keys() == {"start", "end"}


def test_moving_an_occurrences_end_before_its_start_is_400_and_the_series_still_expands(auth_client, calendar):
    plan = _create(
        auth_client, calendar, start="2026-06-06T10:00:00", end="2026-06-06T11:00:00", rrule="FREQ=WEEKLY;COUNT=3"
    ).json()
    url = f"/api/v1/calendars/{calendar.pk}/plans/{plan['id']}/occurrences/2026-06-06T10:00:00"
    response = auth_client.patch(url, {"end": "2026-06-06T09:00:00+02:00"}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"].keys() == {"end"}
    window = auth_client.get(f"/api/v1/calendars/{calendar.pk}/occurrences?start=2026-06-01&end=2026-07-01")
    assert window.status_code == 200
    assert len(window.json()["results"]) == 3
