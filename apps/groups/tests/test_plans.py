"""Group plans: made directly, updated and cancelled; each member's answer puts it on (or takes it off) their default
calendar, a catalogue event through plan_from_event so it keeps following the event."""

from datetime import timedelta

import pytest

from apps.calendars import selectors as calendar_selectors
from apps.calendars import services as calendar_services
from apps.calendars.models import Plan, PlanOrigin
from apps.groups.models import Answer, Attendance, GroupPlanStatus
from apps.groups.selectors import plans as selectors
from apps.groups.services import plans as services
from apps.groups.tests.poll_factories import SATURDAY, add_member, make_event, make_group
from apps.notifications.models import Kind, Notification
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def crew(user, other_user):
    return make_group(user, other_user), user, other_user


def _plan(group, by, **kwargs):
    values = {"title": "Bouldering", "start_utc": SATURDAY, "end_utc": SATURDAY + timedelta(hours=3)} | kwargs
    return services.group_plan_create(group=group, by=by, timezone="Europe/Berlin", **values)


def _on_calendar(user):
    calendar = calendar_services.calendar_ensure_default(owner=user)
    found = calendar_selectors.occurrences(
        calendar_ids=[calendar.pk], start=SATURDAY - timedelta(days=1), end=SATURDAY + timedelta(days=2)
    )
    return [(o.plan.title, o.occurrence.start_utc, o.occurrence.end_utc) for o in found]


def test_a_plan_asks_every_member(crew):
    group, owner, member = crew
    plan = _plan(group, member)
    assert plan.organizer == member
    assert plan.sequence == 0
    assert {a.user_id: a.answer for a in plan.attendances.all()} == {
        owner.pk: "needs-action",
        member.pk: "needs-action",
    }
    keys = set(Notification.objects.filter(kind=Kind.GROUP_PLAN_CHANGED).values_list("idempotency_key", flat=True))
    assert keys == {f"group-plan:{plan.pk}:0:{owner.pk}", f"group-plan:{plan.pk}:0:{member.pk}"}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"title": " "}, "title"),
        ({"end_utc": SATURDAY}, "end_utc"),
        ({"lat": 52.5}, "lon"),
        ({"lat": 120.0, "lon": 13.0}, "lat"),
    ],
)
def test_bad_plans_are_refused_by_name(crew, values, field):
    group, owner, _ = crew
    with pytest.raises(services.GroupPlanInputError) as refused:
        _plan(group, owner, **values)
    assert refused.value.field == field
    assert not group.plans.exists()
    with pytest.raises(services.GroupPlanInputError) as refused:
        services.group_plan_create(
            group=group, by=owner, title="x", start_utc=SATURDAY, end_utc=SATURDAY + timedelta(hours=1), timezone="Mars"
        )
    assert refused.value.field == "timezone"


def test_accepting_puts_the_window_on_the_default_calendar_and_declining_takes_it_off(crew):
    group, owner, member = crew
    plan = _plan(group, owner)
    attendance = services.attendance_answer(group_plan=plan, user=member, answer="accepted")
    assert attendance.answer == Answer.ACCEPTED
    assert attendance.answered_at is not None
    assert _on_calendar(member) == [("Bouldering", SATURDAY, SATURDAY + timedelta(hours=3))]
    assert attendance.calendar_plan.ical_uid == plan.ical_uid
    assert attendance.calendar_plan.timezone == "Europe/Berlin"
    # Accepting twice keeps one plan.
    services.attendance_answer(group_plan=plan, user=member, answer="accepted")
    assert len(_on_calendar(member)) == 1
    services.attendance_answer(group_plan=plan, user=member, answer="declined")
    assert _on_calendar(member) == []
    assert Attendance.objects.get(group_plan=plan, user=member).calendar_plan is None
    assert _on_calendar(owner) == []


def test_accepting_a_catalogue_event_saves_it_so_it_keeps_following_the_event(crew):
    group, owner, member = crew
    event = make_event()
    plan = _plan(group, owner, event=event, title=event.title, end_utc=event.end_utc)
    attendance = services.attendance_answer(group_plan=plan, user=member, answer="accepted")
    saved = attendance.calendar_plan
    assert saved.origin == PlanOrigin.CATALOGUE
    assert saved.event == event
    assert saved.ical_uid == f"event-{event.pk}@{calendar_services.UID_DOMAIN}"


def test_an_event_the_member_had_saved_already_stays_theirs_when_they_decline(crew):
    group, owner, member = crew
    event = make_event()
    own = calendar_services.plan_from_event(
        calendar=calendar_services.calendar_ensure_default(owner=member), event=event
    )
    plan = _plan(group, owner, event=event, title=event.title, end_utc=event.end_utc)
    attendance = services.attendance_answer(group_plan=plan, user=member, answer="accepted")
    assert attendance.calendar_plan is None
    services.attendance_answer(group_plan=plan, user=member, answer="declined")
    assert Plan.objects.filter(pk=own.pk).exists()


def test_accepting_what_clashes_succeeds_and_reports_the_clash(crew):
    group, owner, member = crew
    calendar = calendar_services.calendar_ensure_default(owner=member)
    from apps.calendars.ical import PlanData

    mine = PlanData(
        uid="mine@test", title="Dentist", timezone="UTC", start_local=SATURDAY.replace(tzinfo=None),
        end_local=(SATURDAY + timedelta(hours=1)).replace(tzinfo=None),
    )  # fmt: skip
    calendar_services.plan_create(calendar=calendar, data=mine)
    attendance = services.attendance_answer(group_plan=_plan(group, owner), user=member, answer="accepted")
    assert attendance.answer == Answer.ACCEPTED
    clashes = selectors.attendance_conflicts(attendance=attendance)
    assert [c.second.title if c.first.title == "Bouldering" else c.first.title for c in clashes] == ["Dentist"]


def test_an_update_bumps_the_sequence_and_moves_the_accepted_members_plans(crew):
    group, owner, member = crew
    plan = _plan(group, owner)
    services.attendance_answer(group_plan=plan, user=member, answer="accepted")
    later = SATURDAY + timedelta(days=1)
    services.group_plan_update(
        group_plan=plan, data={"title": "Climbing", "start_utc": later, "end_utc": later + timedelta(hours=2)}
    )
    plan.refresh_from_db()
    assert plan.sequence == 1
    assert _on_calendar(member) == [("Climbing", later, later + timedelta(hours=2))]
    assert Notification.objects.filter(idempotency_key=f"group-plan:{plan.pk}:1:{member.pk}").exists()
    with pytest.raises(services.GroupPlanInputError) as refused:
        services.group_plan_update(group_plan=plan, data={"end_utc": later - timedelta(hours=1)})
    assert refused.value.field == "end_utc"
    with pytest.raises(services.GroupPlanInputError) as refused:
        services.group_plan_update(group_plan=plan, data={"ical_uid": "x"})
    assert refused.value.field == "ical_uid"
    plan.refresh_from_db()
    assert (plan.sequence, plan.title) == (1, "Climbing")
    # The same values again: no new version, no email.
    services.group_plan_update(group_plan=plan, data={"title": "Climbing", "start_utc": later})
    plan.refresh_from_db()
    assert plan.sequence == 1
    assert not Notification.objects.filter(idempotency_key__startswith=f"group-plan:{plan.pk}:2:").exists()


def test_cancelling_takes_it_off_every_calendar_once(crew):
    group, owner, member = crew
    plan = _plan(group, owner)
    for person in (owner, member):
        services.attendance_answer(group_plan=plan, user=person, answer="accepted")
    services.group_plan_cancel(group_plan=plan)
    services.group_plan_cancel(group_plan=plan)
    plan.refresh_from_db()
    assert (plan.status, plan.sequence) == (GroupPlanStatus.CANCELLED, 1)
    assert _on_calendar(owner) == _on_calendar(member) == []
    assert Notification.objects.filter(context__change="cancelled").count() == 2
    with pytest.raises(services.GroupPlanCancelled):
        services.attendance_answer(group_plan=plan, user=member, answer="accepted")
    with pytest.raises(services.GroupPlanCancelled):
        services.group_plan_update(group_plan=plan, data={"title": "Again"})


def test_a_member_who_joins_later_is_shown_unanswered_and_can_answer(crew):
    group, owner, _ = crew
    plan = _plan(group, owner)
    late = add_member(group)
    shown = selectors.attendances_of(group_plan=plan)
    assert [(a.user, a.answer) for a in shown][-1] == (late, "needs-action")
    assert shown[0].user == owner
    services.attendance_answer(group_plan=plan, user=late, answer="accepted")
    assert Attendance.objects.get(group_plan=plan, user=late).answer == "accepted"


def test_only_members_answer_and_only_accept_or_decline(crew):
    group, owner, _ = crew
    plan = _plan(group, owner)
    with pytest.raises(services.NotAMember):
        services.attendance_answer(group_plan=plan, user=UserFactory(), answer="accepted")
    with pytest.raises(services.GroupPlanInputError) as refused:
        services.attendance_answer(group_plan=plan, user=owner, answer="needs-action")
    assert refused.value.field == "answer"
