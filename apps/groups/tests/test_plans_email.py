"""What members are emailed about polls and group plans: one outbox row per member and change (by its key), with the
context the messages need and never anyone's private plans, delivered through a real SMTP server."""

from datetime import timedelta

import pytest
from icalendar import Calendar

from apps.calendars import services as calendar_services
from apps.calendars.ical import PlanData
from apps.groups.services import plans as plan_services
from apps.groups.services import polls as poll_services
from apps.groups.tests.poll_factories import SATURDAY, make_group, window
from apps.notifications import delivery
from apps.notifications.models import Kind, Notification
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SITE = "https://planner.example"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE


@pytest.fixture
def crew(user, other_user):
    third = UserFactory()
    return make_group(user, other_user, third, name="Climbers"), user, other_user, third


def _rows(kind):
    return Notification.objects.filter(kind=kind).order_by("user_id")


def test_a_poll_asks_everyone_but_the_proposer_and_its_close_tells_everyone(crew):
    group, owner, member, third = crew
    poll = poll_services.poll_create(group=group, by=member, question="Where?", options=[window(), window(5)])
    opened = _rows(Kind.POLL_OPENED)
    assert {row.user_id for row in opened} == {owner.pk, third.pk}
    assert {row.idempotency_key for row in opened} == {f"poll-opened:{poll.pk}:{u.pk}" for u in (owner, third)}
    context = opened[0].context
    assert context == {
        "group_name": "Climbers",
        "question": "Where?",
        "options": [o.label for o in poll.options.all()],
        "winner": "",
        "url": f"{SITE}/groups/{group.pk}/polls/{poll.pk}/",
    }
    poll_services.vote_cast(poll=poll, user=third, option_id=poll.options.last().pk, choice="yes")
    poll_services.poll_close(poll=poll, by=owner)
    closed = _rows(Kind.POLL_CLOSED)
    assert {row.user_id for row in closed} == {owner.pk, member.pk, third.pk}
    assert closed[0].context["winner"] == poll.options.last().label
    # The winner became a plan: everyone is told, with the invitation.
    assert _rows(Kind.GROUP_PLAN_CHANGED).count() == 3


def test_every_change_of_a_plan_is_one_email_per_member_with_the_itip(crew):
    group, owner, member, third = crew
    plan = plan_services.group_plan_create(
        group=group, by=owner, title="Hike", start_utc=SATURDAY, end_utc=SATURDAY + timedelta(hours=2),
        timezone="Europe/Berlin", location="Teufelsberg",
    )  # fmt: skip
    plan_services.attendance_answer(group_plan=plan, user=member, answer="accepted")
    plan_services.group_plan_update(group_plan=plan, data={"title": "Long hike"})
    plan_services.group_plan_cancel(group_plan=plan)
    rows = Notification.objects.filter(kind=Kind.GROUP_PLAN_CHANGED)
    assert (
        sorted(rows.values_list("context__change", flat=True)) == ["cancelled"] * 3 + ["created"] * 3 + ["updated"] * 3
    )
    updated = rows.get(idempotency_key=f"group-plan:{plan.pk}:1:{third.pk}").context
    assert {k: updated[k] for k in ("group_name", "title", "start", "end", "timezone", "location", "change")} == {
        "group_name": "Climbers", "title": "Long hike", "start": "2026-06-20T12:00:00Z",
        "end": "2026-06-20T14:00:00Z", "timezone": "Europe/Berlin", "location": "Teufelsberg", "change": "updated",
    }  # fmt: skip
    assert updated["url"] == f"{SITE}/groups/{group.pk}/#plan-{plan.pk}"
    (event,) = Calendar.from_ical(updated["ics"]).walk("VEVENT")
    assert event["SEQUENCE"] == 1
    partstats = {str(a): str(a.params["PARTSTAT"]) for a in event["ATTENDEE"]}
    assert partstats[f"mailto:{member.email}"] == "ACCEPTED"
    cancelled = rows.get(idempotency_key=f"group-plan:{plan.pk}:2:{owner.pk}").context
    assert "METHOD:CANCEL" in cancelled["ics"]


def test_no_member_email_shows_anyones_own_plans(crew):
    group, owner, member, _ = crew
    calendar = calendar_services.calendar_ensure_default(owner=member)
    secret = PlanData(
        uid="secret@test", title="Therapy session", timezone="UTC", start_local=SATURDAY.replace(tzinfo=None),
        end_local=(SATURDAY + timedelta(hours=1)).replace(tzinfo=None),
    )  # fmt: skip
    calendar_services.plan_create(calendar=calendar, data=secret)
    plan = plan_services.group_plan_create(
        group=group, by=owner, title="Hike", start_utc=SATURDAY, end_utc=SATURDAY + timedelta(hours=2)
    )
    plan_services.attendance_answer(group_plan=plan, user=member, answer="accepted")  # clashes with the secret
    plan_services.group_plan_update(group_plan=plan, data={"location": "Grunewald"})
    assert Notification.objects.exists()
    assert not any("Therapy" in str(row.context) for row in Notification.objects.all())


def test_delivered_through_smtp_with_the_invitation_attached(daytime, crew, smtp_server):
    group, owner, member, _ = crew
    plan = plan_services.group_plan_create(
        group=group, by=owner, title="Hike", start_utc=SATURDAY, end_utc=SATURDAY + timedelta(hours=2),
        location="Teufelsberg",
    )  # fmt: skip
    row = Notification.objects.get(idempotency_key=f"group-plan:{plan.pk}:0:{member.pk}")
    delivery.deliver(row.pk)
    (received,) = smtp_server.to(member.email)
    assert "Hike" in received.subject
    assert "Teufelsberg" in received.text()
    (part,) = [p for p in received.message.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REQUEST"
    (event,) = Calendar.from_ical(part.get_content()).walk("VEVENT")
    assert str(event["UID"]) == plan.ical_uid
    assert str(event["ORGANIZER"]) == f"mailto:{owner.email}"
    row.refresh_from_db()
    assert row.status == "sent"


def test_a_poll_email_goes_out_through_smtp(daytime, crew, smtp_server):
    group, owner, member, _ = crew
    poll = poll_services.poll_create(group=group, by=owner, question="Which crag?", options=[window(), window(5)])
    delivery.deliver(Notification.objects.get(idempotency_key=f"poll-opened:{poll.pk}:{member.pk}").pk)
    (received,) = smtp_server.to(member.email)
    assert "Which crag?" in received.text()
    assert f"{SITE}/groups/{group.pk}/polls/{poll.pk}/" in received.text()
    assert smtp_server.to(owner.email) == []
