"""Server-side tracked events from the lower apps' signals, linking an anonymous visitor at sign-in, and a
person's tracking in the account export and deletion."""

import uuid
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.analytics import services
from apps.analytics.models import Conversion, Exposure, TrackedEvent
from apps.analytics.tests.factories import expose, make_experiment
from apps.calendars.models import Plan, PlanOrigin
from apps.users import selectors as user_selectors
from apps.users import services as user_services
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def click(anonymous_id: str = "") -> dict[str, str]:
    at = (timezone.now() - timedelta(seconds=1)).isoformat()
    return {"id": str(uuid.uuid4()), "type": "click", "at": at, "anonymous_id": anonymous_id}


def test_a_new_account_is_a_signup_with_its_id_alone(user):
    row = TrackedEvent.objects.get(type="signup")
    assert (row.user_id, row.anonymous_id, row.object_id, row.context) == (user.pk, "", "", {})


def test_a_plan_created_is_tracked_with_its_origin(user):
    # Straight to the model: the post_save is what analytics hears, whichever calendars service saves the plan.
    calendar = user.calendars.get(is_default=True)
    plan = Plan.objects.create(
        calendar=calendar,
        title="Picnic",
        timezone="Europe/Berlin",
        all_day=True,
        start_date=date(2026, 6, 20),
        end_date=date(2026, 6, 21),
        ical_uid="p-1",
        origin=PlanOrigin.IMPORTED,
    )
    row = TrackedEvent.objects.get(type="plan_created")
    assert (row.user_id, row.object_type, row.object_id) == (user.pk, "plan", str(plan.pk))
    assert row.context == {"origin": "imported"}


def test_signing_in_links_the_visitors_anonymous_events_and_is_a_login():
    person = UserFactory()
    browser = Client()
    browser.cookies["wp_aid"] = "visitor-7"
    services.tracking_record(events=[click(), click("someone-else")], user_id=None, anonymous_id="visitor-7")
    response = browser.post(reverse("account_login"), {"login": person.email, "password": person.raw_password})
    assert response.status_code == 302, response.content
    assert TrackedEvent.objects.filter(user_id=person.pk, type="login").count() == 1
    linked = TrackedEvent.objects.filter(type="click").order_by("anonymous_id")
    assert list(linked.values_list("anonymous_id", "user_id")) == [("someone-else", None), ("visitor-7", person.pk)]


def test_linking_never_takes_events_of_another_account(user, other_user):
    services.tracking_record(events=[click("shared")], user_id=other_user.pk)
    assert services.tracking_link_anonymous(anonymous_id="shared", user_id=user.pk) == 0
    assert TrackedEvent.objects.get(type="click").user_id == other_user.pk
    assert services.tracking_link_anonymous(anonymous_id="not an id", user_id=user.pk) == 0


def test_the_export_holds_the_persons_tracking_and_nobody_elses(user, other_user):
    services.tracking_record(events=[click("mine")], user_id=user.pk)
    services.tracking_record(events=[click("theirs")], user_id=other_user.pk)
    exported = user_selectors.user_export(user=user)["tracking"]
    assert sorted(item["type"] for item in exported) == ["click", "signup"]
    assert {item["anonymous_id"] for item in exported} == {"mine", ""}


def test_deleting_the_account_erases_its_tracking_and_its_anonymous_history(user, other_user):
    experiment = make_experiment("ranker-v2", metric="click", status="running")
    expose(experiment, [str(user.pk), "visitor-9", "other-visitor"])
    services.tracking_record(events=[click()], user_id=None, anonymous_id="visitor-9")
    services.tracking_link_anonymous(anonymous_id="visitor-9", user_id=user.pk)
    services.tracking_record(events=[click()], user_id=user.pk)
    services.tracking_record(events=[click("other-visitor")], user_id=other_user.pk)

    user_services.user_delete(user=user)

    assert not TrackedEvent.objects.filter(user_id=user.pk).exists()
    assert not TrackedEvent.objects.filter(anonymous_id="visitor-9").exists()
    assert set(Exposure.objects.values_list("unit_id", flat=True)) == {"other-visitor"}
    assert set(Conversion.objects.values_list("unit_id", flat=True)) == {str(other_user.pk), "other-visitor"}
    assert TrackedEvent.objects.filter(user_id=other_user.pk, type="click").count() == 1


def test_an_api_sign_in_is_a_login_with_nothing_to_link() -> None:
    person = UserFactory()

    user_services.token_obtain(request=None, email=person.email, password=person.raw_password)

    row = TrackedEvent.objects.get(type="login")
    assert (row.user_id, row.anonymous_id, row.context) == (person.pk, "", {"via": "token"})


def test_a_wrong_password_on_the_api_is_no_login() -> None:
    person = UserFactory()
    with pytest.raises(user_services.InvalidCredentials):
        user_services.token_obtain(request=None, email=person.email, password="not it")
    assert not TrackedEvent.objects.filter(type="login").exists()


@pytest.mark.django_db(transaction=True)  # the event is written once the sync run is committed
def test_a_finished_sync_is_tracked_with_its_counts_and_no_person() -> None:
    from apps.events import sync
    from apps.events.tests.factories import make_source
    from apps.events.tests.fakes import ics as fake_ics
    from apps.events.tests.fakes.network import FakeClock

    source = make_source()
    starts = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)  # inside the window
    ends = starts + timedelta(hours=2)
    jazz = fake_ics.vevent(
        UID="a@test", DTSTART=f"{starts:%Y%m%dT%H%M%SZ}", DTEND=f"{ends:%Y%m%dT%H%M%SZ}", SUMMARY="Jazz"
    )
    feed = fake_ics.FakeFeed(fake_ics.vcalendar(jazz), clock=FakeClock(timezone.now()))

    run = sync.sync_source(source_id=source.pk, connector=fake_ics.build_connector(source, feed))

    row = TrackedEvent.objects.get(type="source_synced")
    assert (row.user_id, row.anonymous_id) == (None, "")
    counts = {"fetched": 1, "created": 1, "updated": 0, "unchanged": 0, "merged": 0, "failed": 0, "pages": 1}
    assert row.context == {"source_id": source.pk, "outcome": "completed", **counts}
    assert run.outcome == "completed"


def test_events_handed_to_the_queue_are_stored_once_however_often_the_task_runs(user):
    from apps.analytics import tasks

    events = [
        services.ServerEvent("impression", user.pk, "event", str(n), {"rank": n}, client_id=uuid.uuid4())
        for n in (1, 2)
    ]
    payload, at = [event.as_data() for event in events], timezone.now().isoformat()
    tasks.tracking_store_server_events(payload, at)
    tasks.tracking_store_server_events(payload, at)  # redelivered after a worker was lost
    rows = TrackedEvent.objects.filter(type="impression").order_by("object_id")
    assert [(row.object_id, row.context, row.client_id) for row in rows] == [
        (str(n), {"rank": n}, event.client_id) for n, event in zip((1, 2), events, strict=True)
    ]
