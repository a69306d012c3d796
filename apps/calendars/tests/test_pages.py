"""The calendars HTML pages through Django's test client: My weekend in the person's zone, the plan form
(validation tied to fields, recurrence, clashes reported but never blocking), ownership (another person's
plans and calendars are 404), "Add to my weekend" from an event page, and the Calendars page."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from apps.calendars import services
from apps.calendars.models import Calendar, Plan, PlanOrigin
from apps.calendars.tests.factories import PlanFactory
from apps.core.time import weekend_window
from apps.events import services as event_services
from apps.events.models import Event
from apps.events.tests.factories import item, make_source, venue
from apps.users.models import Profile

pytestmark = pytest.mark.django_db

BERLIN = "Europe/Berlin"


@pytest.fixture
def calendar(user) -> Calendar:
    return Calendar.objects.get(owner=user, is_default=True)


@pytest.fixture
def client_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _zone(user, tz: str, **fields) -> None:
    """The person (and their calendars) live in `tz`."""
    Profile.objects.filter(user=user).update(timezone=tz, **fields)
    Calendar.objects.filter(owner=user).update(timezone=tz)


def _saturday(tz: str, which: str = "this") -> datetime:
    """This (or next) weekend's Saturday 00:00 in `tz`, as a local aware datetime."""
    start, _ = weekend_window(which, tz, now=timezone.now())  # type: ignore[arg-type]
    return start.astimezone(ZoneInfo(tz))


def _plan(calendar: Calendar, title: str, start: datetime, minutes: int = 60, **fields) -> Plan:
    """A plan at local wall-clock `start` (aware; its zone is the plan's)."""
    tz, local = str(start.tzinfo), start.replace(tzinfo=None)
    return PlanFactory(calendar=calendar, title=title, timezone=tz, start=local, minutes=minutes, **fields)


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _event(start: datetime, title: str = "Open-air concert", **fields) -> Event:
    source = make_source()
    event_services.events_upsert(source=source, items=[item("c1", start=start.astimezone(UTC), title=title, **fields)])
    return Event.objects.get(title=title)


def _form(calendar: Calendar, **overrides) -> dict[str, str]:
    data = {
        "title": "Climbing",
        "calendar": str(calendar.pk),
        "date": "2026-06-06",
        "start_time": "10:00",
        "end_time": "12:00",
        "timezone": "",
        "location": "",
        "lat": "",
        "lon": "",
        "repeat": "none",
        "rrule": "",
        "repeat_until": "",
        "repeat_count": "",
    }
    data.update(overrides)
    return data


# --- Log in first ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/weekend/", "/weekend/plans/new/", "/calendars/", "/weekend/plans/1/edit/"])
def test_pages_ask_anonymous_visitors_to_log_in(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_nav_shows_my_weekend_to_signed_in_people_only(client: Client, client_in: Client) -> None:
    assert "My weekend" not in client.get("/discover/").content.decode()
    page = client_in.get("/weekend/").content.decode()
    assert re.search(r'<a href="/weekend/" aria-current="page">My weekend</a>', page)
    assert '<a href="/discover/">Discover</a>' in page


# --- My weekend ----------------------------------------------------------------------------------------


def test_weekend_window_is_the_persons_own_saturday_and_sunday(user, calendar, client_in: Client) -> None:
    tz = "America/Los_Angeles"
    _zone(user, tz)
    saturday = _saturday(tz)
    # Friday 23:30 in Los Angeles is Saturday in UTC and Berlin, but not the person's weekend.
    _plan(calendar, "Friday late show", saturday - timedelta(minutes=30), minutes=20)
    _plan(calendar, "Midnight ramen", saturday + timedelta(minutes=30))
    # Sunday 22:00 in Los Angeles is Monday in UTC, still the person's Sunday.
    _plan(calendar, "Sunday stargazing", saturday + timedelta(days=1, hours=22), minutes=90)
    # Written in Berlin's clock: shown in the person's, with Berlin's named.
    berlin_brunch = (saturday + timedelta(hours=11)).astimezone(ZoneInfo(BERLIN))
    _plan(calendar, "Call with Berlin", berlin_brunch, minutes=30)

    response = client_in.get("/weekend/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Friday late show" not in page
    days = response.context["days"]
    assert [d.day for d in days] == [saturday.date(), (saturday + timedelta(days=1)).date()]
    assert [(e.title, e.time) for e in days[0].timed] == [
        ("Midnight ramen", "00:30–01:30"),
        ("Call with Berlin", "11:00–11:30"),
    ]
    assert days[0].timed[1].other_zone is not None
    assert days[0].timed[1].other_zone.endswith("Berlin time")
    assert [(e.title, e.time) for e in days[1].timed] == [("Sunday stargazing", "22:00–23:30")]
    assert f"times in {tz}" in page
    assert "4 plans" not in page
    assert "3 plans" in page


def test_weekend_marks_conflicts_with_their_reason_and_shows_travel(user, calendar, client_in: Client) -> None:
    _zone(user, BERLIN, travel_mode="bike")
    saturday = _saturday(BERLIN)
    _plan(calendar, "Brunch", saturday + timedelta(hours=10), minutes=120, lat=52.5200, lon=13.4050)
    _plan(calendar, "Flea market", saturday + timedelta(hours=11), minutes=60, lat=52.5200, lon=13.4050)
    # 10 minutes after the market, across town: not enough time by bike.
    _plan(calendar, "Museum", saturday + timedelta(hours=12, minutes=10), minutes=60, lat=52.5050, lon=13.3650)
    # All day on top.
    PlanFactory(calendar=calendar, title="City festival", timezone=BERLIN, all_day=True, start=saturday.date(), days=2)

    response = client_in.get("/weekend/")
    page = response.content.decode()
    saturday_day, sunday_day = response.context["days"]
    assert [e.title for e in saturday_day.entries] == ["City festival", "Brunch", "Flea market", "Museum"]
    assert [e.title for e in sunday_day.entries] == ["City festival"]
    brunch, market, museum = saturday_day.timed
    assert brunch.reasons == ["overlaps Flea market"]
    assert "overlaps Brunch" in market.reasons
    assert museum.leg is not None
    assert re.fullmatch(r"about \d+ min by bike", museum.leg)
    assert museum.leg_short
    assert any(re.fullmatch(r"needs \d+ min from Flea market, 10 min gap", r) for r in museum.reasons)
    assert "Overlaps Flea market" in page
    assert "has-conflict" in page
    assert re.search(r"2 clashes", page)
    assert f'href="/api/v1/calendars/{calendar.pk}/ics"' in page
    assert f"/feeds/{calendar.feed_token}.ics" in page


def test_next_weekend_and_the_list_view(user, calendar, client_in: Client) -> None:
    _zone(user, BERLIN)
    _plan(calendar, "This weekend's run", _saturday(BERLIN) + timedelta(hours=9))
    _plan(calendar, "Next weekend's hike", _saturday(BERLIN, "next") + timedelta(days=1, hours=9))

    this = client_in.get("/weekend/").content.decode()
    assert "This weekend&#x27;s run" in this
    assert "Next weekend&#x27;s hike" not in this
    following = client_in.get("/weekend/?weekend=next&view=list")
    page = following.content.decode()
    assert "Next weekend&#x27;s hike" in page
    assert "This weekend&#x27;s run" not in page
    assert 'class="plan-list"' in page
    assert re.search(r'href="\?weekend=next&amp;view=list" aria-current="page">List<', page)


# --- The plan form ---------------------------------------------------------------------------------------


def test_new_plan_is_saved_and_its_clash_reported_without_blocking(user, calendar, client_in: Client) -> None:
    _zone(user, BERLIN)
    saturday = _saturday(BERLIN)
    _plan(calendar, "Brunch", saturday + timedelta(hours=10), minutes=120)

    form = client_in.get("/weekend/plans/new/")
    assert form.status_code == 200
    assert form.context["form"]["calendar"].value() == calendar.pk

    response = client_in.post(
        "/weekend/plans/new/",
        _form(calendar, title="Climbing", date=saturday.date().isoformat(), start_time="11:00", end_time="13:00"),
        follow=True,
    )
    assert response.status_code == 200
    assert _messages(response) == ["Plan added. It overlaps Brunch."]
    plan = Plan.objects.get(title="Climbing")
    assert plan.timezone == BERLIN  # the calendar's zone by default
    assert plan.start_local == datetime.combine(saturday.date(), datetime.min.time()) + timedelta(hours=11)

    quiet = client_in.post(
        "/weekend/plans/new/",
        _form(calendar, title="Nap", date=saturday.date().isoformat(), start_time="15:00", end_time="16:00"),
        follow=True,
    )
    assert _messages(quiet) == ["Plan added. No clashes."]


def test_plan_form_errors_are_tied_to_their_fields(calendar, client_in: Client) -> None:
    response = client_in.post(
        "/weekend/plans/new/", _form(calendar, title="", start_time="14:00", end_time="12:00", lat="52.5")
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"title", "end_time", "lon"}
    assert form.errors["end_time"] == ["The end must be after the start."]
    page = response.content.decode()
    # The control says it is invalid and points at its error message.
    assert re.search(r'<input[^>]*name="title"[^>]*aria-invalid="true"', page)
    assert re.search(r'<input[^>]*name="end_time"[^>]*aria-describedby="id_end_time_error"', page)
    assert 'id="id_end_time_error"' in page
    assert '<a href="#id_title">' in page  # the summary links to the field
    assert not Plan.objects.filter(title="").exists()

    missing = client_in.post("/weekend/plans/new/", _form(calendar, start_time="", end_time=""))
    assert missing.context["form"].errors["start_time"] == ["Give a start time, or tick All day."]


def test_plan_form_repeats_weekly_until_a_date_or_by_a_custom_rule(user, calendar, client_in: Client) -> None:
    _zone(user, BERLIN)
    weekly = client_in.post(
        "/weekend/plans/new/", _form(calendar, title="Parkrun", repeat="weekly", repeat_until="2026-07-04")
    )
    assert weekly.status_code == 302, weekly.content
    plan = Plan.objects.get(title="Parkrun")
    assert plan.rrule.startswith("FREQ=WEEKLY;UNTIL=20260704T")

    edit = client_in.get(f"/weekend/plans/{plan.pk}/edit/")
    assert edit.context["form"]["repeat"].value() == "weekly"
    assert str(edit.context["form"]["repeat_until"].value()) == "2026-07-04"

    both = client_in.post(
        "/weekend/plans/new/", _form(calendar, repeat="daily", repeat_until="2026-07-04", repeat_count="3")
    )
    assert both.status_code == 400
    assert both.context["form"].errors["repeat_count"] == ["Give an end date or a number of times, not both."]

    bad = client_in.post("/weekend/plans/new/", _form(calendar, repeat="custom", rrule="FREQ=SOMETIMES"))
    assert bad.status_code == 400
    assert list(bad.context["form"].errors) == ["rrule"]

    custom = client_in.post(
        "/weekend/plans/new/",
        _form(calendar, title="Weekend swims", repeat="custom", rrule="FREQ=WEEKLY;BYDAY=SA,SU", repeat_count="4"),
    )
    assert custom.status_code == 302
    assert Plan.objects.get(title="Weekend swims").rrule == "FREQ=WEEKLY;COUNT=4;BYDAY=SA,SU"


def test_all_day_plan_needs_no_times(calendar, client_in: Client) -> None:
    response = client_in.post(
        "/weekend/plans/new/", _form(calendar, title="Festival", all_day="on", start_time="", end_time="")
    )
    assert response.status_code == 302
    plan = Plan.objects.get(title="Festival")
    assert plan.all_day
    assert (plan.start_date.isoformat(), plan.end_date.isoformat()) == ("2026-06-06", "2026-06-07")


def test_edit_prefills_and_saves_the_owners_plan(user, calendar, client_in: Client) -> None:
    _zone(user, BERLIN)
    plan = _plan(calendar, "Brunch", datetime(2026, 6, 6, 10, 0, tzinfo=ZoneInfo(BERLIN)), location="Café")
    gym = services.calendar_create(owner=user, name="Gym", color="#ff8800")

    page = client_in.get(f"/weekend/plans/{plan.pk}/edit/")
    assert page.status_code == 200
    form = page.context["form"]
    assert form["title"].value() == "Brunch"
    assert str(form["start_time"].value()) == "10:00:00"
    assert form["location"].value() == "Café"

    response = client_in.post(
        f"/weekend/plans/{plan.pk}/edit/",
        _form(gym, title="Late brunch", start_time="11:00", end_time="12:30", timezone=BERLIN),
        follow=True,
    )
    assert _messages(response) == ["Plan saved. No clashes."]
    plan.refresh_from_db()
    assert (plan.title, plan.calendar_id, plan.sequence) == ("Late brunch", gym.pk, 1)
    assert plan.end_local == datetime(2026, 6, 6, 12, 30)


def test_remove_asks_first_then_removes(calendar, client_in: Client) -> None:
    plan = _plan(calendar, "Brunch", datetime(2026, 6, 6, 10, 0, tzinfo=ZoneInfo(BERLIN)))
    confirm = client_in.get(f"/weekend/plans/{plan.pk}/remove/")
    assert confirm.status_code == 200
    assert "Remove “Brunch”?" in confirm.content.decode()
    assert Plan.objects.filter(pk=plan.pk).exists()
    response = client_in.post(f"/weekend/plans/{plan.pk}/remove/", follow=True)
    assert _messages(response) == ["Removed “Brunch”."]
    assert not Plan.objects.filter(pk=plan.pk).exists()


# --- Ownership -------------------------------------------------------------------------------------------


def test_another_persons_plans_and_calendars_are_not_found(other_user, client_in: Client) -> None:
    theirs = Calendar.objects.get(owner=other_user)
    plan = _plan(theirs, "Their secret", datetime(2026, 6, 6, 10, 0, tzinfo=ZoneInfo(BERLIN)))

    assert client_in.get(f"/weekend/plans/{plan.pk}/edit/").status_code == 404
    assert client_in.post(f"/weekend/plans/{plan.pk}/edit/", _form(theirs, title="Mine now")).status_code == 404
    assert client_in.get(f"/weekend/plans/{plan.pk}/remove/").status_code == 404
    assert client_in.post(f"/weekend/plans/{plan.pk}/remove/").status_code == 404
    token = theirs.feed_token
    assert client_in.post(f"/calendars/{theirs.pk}/feed/regenerate/").status_code == 404
    plan.refresh_from_db()
    theirs.refresh_from_db()
    assert (plan.title, theirs.feed_token) == ("Their secret", token)

    # Their calendar is not a choice: not in the plan form, not for an import.
    stolen = client_in.post("/weekend/plans/new/", _form(theirs))
    assert stolen.status_code == 400
    assert list(stolen.context["form"].errors) == ["calendar"]
    upload = client_in.post("/calendars/import/", {"calendar": str(theirs.pk), "file": _ics_file(b"")})
    assert upload.status_code == 400
    assert "calendar" in upload.context["import_form"].errors
    assert "Their secret" not in client_in.get("/weekend/?weekend=this").content.decode()
    assert not Plan.objects.filter(calendar=theirs).exclude(pk=plan.pk).exists()


# --- Add to my weekend -----------------------------------------------------------------------------------


def test_event_page_offers_add_to_my_weekend(client: Client, client_in: Client) -> None:
    event = _event(datetime(2026, 6, 6, 19, 0, tzinfo=ZoneInfo(BERLIN)))
    signed_in = client_in.get(f"/events/{event.pk}/").content.decode()
    assert f'action="/weekend/add/{event.pk}/"' in signed_in
    assert "Add to my weekend" in signed_in
    anonymous = client.get(f"/events/{event.pk}/").content.decode()
    assert f'href="/accounts/login/?next=/events/{event.pk}/"' in anonymous
    assert f"/weekend/add/{event.pk}/" not in anonymous


def test_anonymous_add_logs_in_first(client: Client) -> None:
    event = _event(datetime(2026, 6, 6, 19, 0, tzinfo=ZoneInfo(BERLIN)))
    response = client.post(f"/weekend/add/{event.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/events/{event.pk}/"
    assert not Plan.objects.exists()


def test_add_to_my_weekend_says_at_once_whether_it_clashes(user, calendar, client_in: Client) -> None:
    _zone(user, BERLIN)
    saturday = _saturday(BERLIN)
    event = _event(saturday + timedelta(hours=19))  # 19:00-21:00 Berlin
    _plan(calendar, "Dinner with Sam", saturday + timedelta(hours=20), minutes=90)

    response = client_in.post(f"/weekend/add/{event.pk}/", follow=True)
    assert response.redirect_chain == [(f"/events/{event.pk}/", 302)]
    assert _messages(response) == ["Added to your weekend. It overlaps Dinner with Sam."]
    plan = Plan.objects.get(calendar=calendar, event=event)
    assert plan.origin == PlanOrigin.CATALOGUE

    again = client_in.post(f"/weekend/add/{event.pk}/", follow=True)
    assert _messages(again) == ["Already in your weekend. It overlaps Dinner with Sam."]
    assert Plan.objects.filter(event=event).count() == 1

    # htmx: the card is swapped in place with the answer.
    partial = client_in.post(f"/weekend/add/{event.pk}/", HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    body = partial.content.decode()
    assert body.lstrip().startswith("<section") or 'id="add-to-weekend"' in body
    assert "<html" not in body
    assert "It overlaps Dinner with Sam." in body


def test_add_without_clash(user, client_in: Client) -> None:
    _zone(user, BERLIN)
    event = _event(_saturday(BERLIN) + timedelta(hours=15), venue=venue())
    response = client_in.post(f"/weekend/add/{event.pk}/", follow=True)
    assert _messages(response) == ["Added to your weekend, no clashes."]
    assert client_in.get(f"/weekend/add/{event.pk}/")["Location"] == f"/events/{event.pk}/"
    assert client_in.post("/weekend/add/999999/").status_code == 404


# --- Calendars -------------------------------------------------------------------------------------------


ICS = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Test//EN
BEGIN:VEVENT
UID:one@example.test
DTSTART;TZID=Europe/Berlin:20260606T100000
DTEND;TZID=Europe/Berlin:20260606T110000
SUMMARY:Imported yoga
END:VEVENT
BEGIN:VEVENT
UID:two@example.test
DTSTART;TZID=Europe/Berlin:20260607T100000
DTEND;TZID=Europe/Berlin:20260607T090000
SUMMARY:Ends before it starts
END:VEVENT
END:VCALENDAR
"""


def _ics_file(content: bytes, name: str = "plans.ics"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="text/calendar")


def test_calendars_page_lists_calendars_with_feed_and_export(calendar, client_in: Client) -> None:
    page = client_in.get("/calendars/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "My weekend" in html
    assert "Default" in html
    assert f"http://testserver/feeds/{calendar.feed_token}.ics" in html
    assert re.search(r'<input type="text" id="feed-\d+" value="http://testserver/feeds/[^"]+" readonly', html)
    assert f'href="/api/v1/calendars/{calendar.pk}/ics"' in html
    assert "SUBSCRIPTIONS PLACEHOLDER" not in html  # a template comment, not shown


def test_create_a_calendar(user, client_in: Client) -> None:
    response = client_in.post(
        "/calendars/new/", {"name": "Gym", "color": "#FF8800", "timezone": "America/Chicago"}, follow=True
    )
    assert _messages(response) == ["Calendar “Gym” created."]
    gym = Calendar.objects.get(owner=user, name="Gym")
    assert (gym.color, gym.timezone, gym.is_default) == ("#ff8800", "America/Chicago", False)

    bad = client_in.post("/calendars/new/", {"name": "", "color": "red", "timezone": "Mars/Base"})
    assert bad.status_code == 400
    assert set(bad.context["create_form"].errors) == {"name", "color", "timezone"}


def test_ics_upload_reports_created_updated_and_refused(calendar, client_in: Client) -> None:
    response = client_in.post("/calendars/import/", {"calendar": str(calendar.pk), "file": _ics_file(ICS)})
    assert response.status_code == 200
    html = response.content.decode()
    assert "1 new, 0 updated, 1 refused" in html
    assert "two@example.test" in html
    assert Plan.objects.filter(calendar=calendar, title="Imported yoga").exists()

    again = client_in.post("/calendars/import/", {"calendar": str(calendar.pk), "file": _ics_file(ICS)})
    assert "0 new, 1 updated, 1 refused" in again.content.decode()


def test_ics_upload_that_does_not_parse_shows_the_error_by_the_field(calendar, client_in: Client) -> None:
    response = client_in.post(
        "/calendars/import/", {"calendar": str(calendar.pk), "file": _ics_file(b"this is not a calendar")}
    )
    assert response.status_code == 400
    errors = response.context["import_form"].errors["file"]
    assert errors
    assert errors[0].startswith("This file could not be read as a calendar")
    html = response.content.decode()
    assert 'id="id_file_error"' in html
    assert re.search(r'<input[^>]*name="file"[^>]*aria-invalid="true"', html)
    assert not Plan.objects.filter(calendar=calendar).exists()


def test_regenerate_the_feed_address(calendar, client_in: Client) -> None:
    old = calendar.feed_token
    response = client_in.post(f"/calendars/{calendar.pk}/feed/regenerate/", follow=True)
    calendar.refresh_from_db()
    assert calendar.feed_token
    assert calendar.feed_token != old
    assert _messages(response) == ["New feed address for “My weekend”. The old one no longer works."]
    assert client_in.get(f"/calendars/{calendar.pk}/feed/regenerate/").status_code == 405


def test_subscribing_from_the_calendars_page_refuses_private_addresses_and_lists_public_ones(client, user):
    from apps.calendars.models import Calendar, Subscription

    client.force_login(user)
    calendar = Calendar.objects.get(owner=user, is_default=True)
    refused = client.post("/calendars/subscribe/", {"calendar": calendar.pk, "url": "http://169.254.169.254/latest"})
    assert refused.status_code == 400
    assert refused.context["subscribe_form"].errors["url"]
    assert not Subscription.objects.exists()

    added = client.post("/calendars/subscribe/", {"calendar": calendar.pk, "url": "https://93.184.215.14/events.ics"})
    assert added.status_code == 302
    subscription = Subscription.objects.get()
    page = client.get("/calendars/").content.decode()
    assert "https://93.184.215.14/events.ics" in page
    assert client.post(f"/calendars/{calendar.pk}/subscriptions/{subscription.pk}/remove/").status_code == 302
    assert not Subscription.objects.exists()


def test_another_persons_subscription_cannot_be_removed(client, user, other_user):
    from apps.calendars.models import Calendar, Subscription

    theirs = Calendar.objects.get(owner=other_user, is_default=True)
    subscription = services.subscription_create(calendar=theirs, url="https://93.184.215.14/x.ics")
    client.force_login(user)
    assert client.post(f"/calendars/{theirs.pk}/subscriptions/{subscription.pk}/remove/").status_code == 404
    assert Subscription.objects.filter(pk=subscription.pk).exists()


def test_a_plan_whose_event_was_cancelled_stays_on_my_weekend_with_its_flag(client, user):
    from datetime import timedelta

    from django.utils import timezone

    from apps.calendars import services
    from apps.calendars.models import Calendar
    from apps.core.time import weekend_window
    from apps.events import services as event_services
    from apps.events.models import Event
    from apps.events.tests.factories import item, make_source

    start, _ = weekend_window("this", user.profile.timezone, now=timezone.now())
    source = make_source()
    event_services.events_upsert(
        source=source, items=[item("e1", title="Open-air jazz", start=start + timedelta(hours=15))]
    )
    event = Event.objects.get()
    services.plan_from_event(calendar=Calendar.objects.get(owner=user, is_default=True), event=event)
    event_services.events_upsert(
        source=source, items=[item("e1", title="Open-air jazz", start=start + timedelta(hours=15), status="cancelled")]
    )
    services.plans_follow_events(event_ids=[event.pk])

    client.force_login(user)
    page = client.get("/weekend/").content.decode()
    assert "Open-air jazz" in page
    assert "The event was cancelled." in page
