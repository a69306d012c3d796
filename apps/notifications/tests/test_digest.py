"""The weekly digest: Thursday 18:00 in each person's zone, exactly once per weekend, with their own plans, the
clashes among them and recommendations with reasons, sent to a real SMTP server with List-Unsubscribe."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.analytics.models import TrackedEvent
from apps.calendars import services as calendar_services
from apps.calendars.tests.factories import PlanFactory
from apps.notifications import digest, tasks
from apps.notifications.models import Kind, Notification, Preferences
from apps.recommendations import catalogue
from apps.recommendations import selectors as recommendation_selectors
from apps.recommendations.tests.factories import event, person, place

pytestmark = pytest.mark.django_db

# The suite's clock starts on Wednesday 17 June 2026; the digest is about Saturday 20 and Sunday 21 June.
SATURDAY = "2026-06-20"
CITIES = {
    # zone: (home, Thursday 18:00 local in UTC)
    "Asia/Tokyo": ((35.6762, 139.6503), datetime(2026, 6, 18, 9, 0, tzinfo=UTC)),
    "Europe/Berlin": ((52.5200, 13.4050), datetime(2026, 6, 18, 16, 0, tzinfo=UTC)),
    "America/New_York": ((40.7128, -74.0060), datetime(2026, 6, 18, 22, 0, tzinfo=UTC)),
}


@pytest.fixture(autouse=True)
def _fresh_catalogue() -> Iterator[None]:
    recommendation_selectors.popularity_forget()
    catalogue.forget()
    yield
    recommendation_selectors.popularity_forget()
    catalogue.forget()


@pytest.fixture
def eager() -> Iterator[None]:
    """Tasks run where they are queued (as under `make run`): a tick's batches and their sends happen at once."""
    tasks.digest_tick.app.conf.task_always_eager = True
    yield
    tasks.digest_tick.app.conf.task_always_eager = False


@pytest.fixture
def tick(clock, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """tick(moment): beat's digest tick at `moment`, with the sends it queues on commit run before it returns."""

    def run(moment: datetime) -> int:
        clock.move_to(moment)
        with django_capture_on_commit_callbacks(execute=True):
            handed: int = tasks.digest_tick()
        return handed

    return run


def _resident(zone: str):  # type: ignore[no-untyped-def]
    (lat, lon), _ = CITIES[zone]
    user = person(timezone=zone, home_lat=lat, home_lon=lon, interests=["music"])
    calendar = calendar_services.calendar_ensure_default(owner=user)
    city = zone.split("/")[1]
    PlanFactory(calendar=calendar, title=f"Brunch in {city}", start=datetime(2026, 6, 20, 11, 0), timezone=zone)
    PlanFactory(
        calendar=calendar, title=f"Market in {city}", start=datetime(2026, 6, 20, 11, 30), timezone=zone, minutes=90
    )
    PlanFactory(calendar=calendar, title=f"Swim in {city}", start=datetime(2026, 6, 21, 9, 0), timezone=zone)
    venue = place(f"hall-{city}", lat=lat, lon=lon)
    event(f"Jazz night in {city}", start=datetime(2026, 6, 20, 19, 0, tzinfo=UTC), venue=venue, timezone=zone)
    return user


def test_each_zone_gets_one_digest_at_18_local(clock, tick, smtp_server, eager):
    people = {zone: _resident(zone) for zone in CITIES}
    nosy = person(timezone="Europe/Berlin")
    PlanFactory(
        calendar=calendar_services.calendar_ensure_default(owner=nosy),
        title="Secret date",
        start=datetime(2026, 6, 20, 20, 0),
    )
    Preferences.objects.create(user=nosy, weekly_digest=False)

    for zone, (_, due) in CITIES.items():
        before = len(smtp_server.messages)
        tick(due - timedelta(minutes=1))  # 17:59 local
        assert len(smtp_server.messages) == before, f"{zone} got its digest before 18:00"
        assert tick(due) == 1
        (received,) = smtp_server.to(people[zone].email)
        city = zone.split("/")[1]
        text, html = received.text(), received.html()
        # (The subject is long and not ASCII: it arrives encoded and folded, hence the strip.)
        assert received.subject.strip() == "Your weekend, Sat 20–Sun 21 June: 3 plans, 1 clash to fix"
        for title in (f"Brunch in {city}", f"Market in {city}", f"Swim in {city}"):
            assert title in text
            assert title in html
        assert "11:00–12:00" in text  # in the person's own zone
        assert "CLASHES TO FIX" in text
        assert f"Jazz night in {city}" in text
        assert f"Jazz night in {city}" in html
        assert "Why:" in text
        assert "Secret date" not in text  # only the person's own plans
        assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "/email/unsubscribe/" in str(received.message["List-Unsubscribe"])
        assert tick(due + timedelta(minutes=5)) == 0  # the next tick sends nothing more
        assert len(smtp_server.to(people[zone].email)) == 1

    assert len(smtp_server.messages) == 3
    assert not smtp_server.to(nosy.email)
    keys = set(Notification.objects.filter(kind=Kind.DIGEST).values_list("idempotency_key", flat=True))
    assert keys == {f"digest:{people[zone].pk}:{SATURDAY}" for zone in CITIES}
    assert tick(datetime(2026, 6, 19, 20, 0, tzinfo=UTC)) == 0  # Friday evening (Saturday in Tokyo): all done


def test_bounced_and_opted_out_people_get_none(tick, eager, smtp_server):
    bounced = person(timezone="Europe/Berlin")
    Preferences.objects.create(user=bounced, bounced_at=datetime(2026, 6, 1, tzinfo=UTC))
    out = person(timezone="Europe/Berlin")
    Preferences.objects.create(user=out, weekly_digest=False)
    fine = person(timezone="Europe/Berlin")
    assert tick(CITIES["Europe/Berlin"][1]) == 1
    assert len(smtp_server.to(fine.email)) == 1
    assert len(smtp_server.messages) == 1
    assert not smtp_server.to(bounced.email)
    assert not smtp_server.to(out.email)
    assert Notification.objects.filter(kind=Kind.DIGEST).count() == 1


def test_a_batch_run_twice_stores_one_digest_each(clock):
    clock.move_to(CITIES["Europe/Berlin"][1])
    people = [person(timezone="Europe/Berlin") for _ in range(3)]
    saturday = datetime.fromisoformat(SATURDAY).date()
    ids = [user.pk for user in people]
    assert digest.send_batch(user_ids=ids, saturday=saturday) == 3
    assert digest.send_batch(user_ids=ids, saturday=saturday) == 0
    assert Notification.objects.filter(kind=Kind.DIGEST).count() == 3


def test_batches_hold_one_zone_and_at_most_the_batch_size(clock):
    clock.move_to(datetime(2026, 6, 18, 23, 0, tzinfo=UTC))  # Thursday evening in New York, Friday in Berlin
    berlin = [person(timezone="Europe/Berlin").pk for _ in range(5)]
    york = [person(timezone="America/New_York").pk for _ in range(2)]
    person(timezone="Pacific/Honolulu")  # 13:00 there: not yet
    batches = list(digest.due_batches(now=datetime(2026, 6, 18, 23, 0, tzinfo=UTC), batch_size=2))
    assert {b.timezone for b in batches} == {"Europe/Berlin", "America/New_York"}
    assert all(len(b.user_ids) <= 2 for b in batches)
    assert sorted(pk for b in batches if b.timezone == "Europe/Berlin" for pk in b.user_ids) == berlin
    assert sorted(pk for b in batches if b.timezone == "America/New_York" for pk in b.user_ids) == york
    assert {str(b.saturday) for b in batches} == {SATURDAY}


@pytest.mark.parametrize(
    ("local", "due"),
    [
        (datetime(2026, 6, 18, 17, 59), False),
        (datetime(2026, 6, 18, 18, 0), True),
        (datetime(2026, 6, 19, 23, 59), True),
        (datetime(2026, 6, 20, 0, 0), False),
        (datetime(2026, 6, 17, 18, 0), False),
    ],
)
def test_due_from_thursday_18_until_the_weekend(local, due):
    moment = local.replace(tzinfo=ZoneInfo("Asia/Tokyo"))
    found = digest.digest_saturday("Asia/Tokyo", moment)
    assert (str(found) if found else None) == (SATURDAY if due else None)


def test_the_digest_is_not_an_impression(tick, eager, smtp_server):
    _resident("Europe/Berlin")
    assert tick(CITIES["Europe/Berlin"][1]) == 1
    (received,) = smtp_server.messages
    assert "Jazz night in Berlin" in received.text()
    assert not TrackedEvent.objects.filter(type="impression").exists()


def test_a_profile_with_an_unknown_zone_does_not_stop_the_tick(tick, eager, smtp_server):
    from apps.users.models import Profile

    broken = person(timezone="Europe/Berlin")
    Profile.objects.filter(user=broken).update(timezone="Mars/Olympus_Mons")  # saved around validation
    fine = person(timezone="Europe/Berlin")
    assert tick(CITIES["Europe/Berlin"][1]) == 1
    assert len(smtp_server.to(fine.email)) == 1
    assert not smtp_server.to(broken.email)


def test_people_whose_batch_still_waits_are_not_handed_twice_until_an_hour_passed(clock):
    waiting = [person(timezone="Europe/Berlin").pk for _ in range(3)]
    handed: list[list[int]] = []

    def queue(user_ids: list[int], saturday: str) -> bool:  # a broker that takes the batch; no worker runs it yet
        handed.append(user_ids)
        return True

    thursday = CITIES["Europe/Berlin"][1]
    clock.move_to(thursday)
    assert digest.dispatch(publish=queue) == 3
    clock.move_to(thursday + timedelta(minutes=5))
    assert digest.dispatch(publish=queue) == 0  # still queued: not built twice
    newcomer = person(timezone="Europe/Berlin").pk
    assert digest.dispatch(publish=queue) == 1  # someone new is handed over at once
    clock.move_to(thursday + timedelta(minutes=70))
    assert digest.dispatch(publish=queue) == 4  # an hour on, nobody's digest exists: the batches were lost
    assert handed == [waiting, [newcomer], [*waiting, newcomer]]


def test_a_broker_that_refuses_leaves_the_people_for_the_next_tick(clock):
    people = [person(timezone="Europe/Berlin").pk for _ in range(2)]
    clock.move_to(CITIES["Europe/Berlin"][1])
    assert digest.dispatch(publish=lambda user_ids, saturday: False) == 0
    seen: list[int] = []
    assert digest.dispatch(publish=lambda user_ids, saturday: seen.extend(user_ids) is None) == 2
    assert seen == people
