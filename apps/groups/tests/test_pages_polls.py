"""Polls and group plans on the group page through Django's test client: proposing a poll from the best windows
and the weekend's events (errors by the field, nothing saved), voting with and without htmx, the owner closing it
into a group plan, accepting it onto the calendar and the .ics; and that the group page runs the same number of
queries whatever the number of members, polls and plans."""

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.calendars.models import Calendar, Plan
from apps.core.time import weekend_window
from apps.groups.models import Answer, Attendance, GroupPlan, Poll, PollStatus, Vote
from apps.groups.services import plans as plan_services
from apps.groups.services import polls as poll_services
from apps.groups.tests.poll_factories import add_member, make_event, make_group
from apps.users.models import Profile, User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BERLIN = "Europe/Berlin"


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _in_berlin(*users: User) -> None:
    Profile.objects.filter(user__in=users).update(timezone=BERLIN)
    Calendar.objects.filter(owner__in=users).update(timezone=BERLIN)


def _saturday_noon(which: str = "next") -> datetime:
    """12:00 UTC on a Saturday that is ahead by the suite's clock (next weekend's: never under way)."""
    start, _ = weekend_window(which, BERLIN, now=timezone.now())  # type: ignore[arg-type]
    return (start + timedelta(hours=12)).replace(minute=0, tzinfo=UTC)


def window(hours_from: int = 0, length: int = 3) -> dict[str, datetime]:
    start = _saturday_noon() + timedelta(hours=hours_from)
    return {"start": start, "end": start + timedelta(hours=length)}


def _offered(html: str) -> list[str]:
    return re.findall(r'name="options" value="([^"]+)"', html)


def test_poll_form_offers_the_best_windows_and_the_weekends_events(user, other_user, before_the_weekend) -> None:
    _in_berlin(user, other_user)
    make_event("jazz", title="Jazz in the park", start=_saturday_noon("this") + timedelta(hours=3))
    group = make_group(user, other_user)
    html = _client(user).get(f"/groups/{group.pk}/").content.decode()
    offered = _offered(html)
    saturday = weekend_window("this", BERLIN, now=timezone.now())[0]
    start, end = saturday + timedelta(hours=8), saturday + timedelta(hours=23)  # Sat 08:00-23:00 in Berlin
    assert offered[0] == f"{start.isoformat()}/{end.isoformat()}"
    assert any(value.startswith("event:") for value in offered)
    assert "Jazz in the park" in html


def test_propose_a_poll_from_two_windows(user, other_user, before_the_weekend) -> None:
    _in_berlin(user, other_user)
    group = make_group(user, other_user)
    client = _client(user)
    offered = _offered(client.get(f"/groups/{group.pk}/").content.decode())
    response = client.post(f"/groups/{group.pk}/polls/new/", {"question": "Hike when?", "options": offered[:2]})
    poll = Poll.objects.get(group=group)
    assert response.status_code == 302
    assert response["Location"] == f"/groups/{group.pk}/#poll-{poll.pk}"
    assert poll.question == "Hike when?"
    saturday = weekend_window("this", BERLIN, now=timezone.now())[0].astimezone(ZoneInfo(BERLIN)).date()
    eight = [datetime.combine(saturday + timedelta(days=d), time(8), tzinfo=ZoneInfo(BERLIN)) for d in (0, 1)]
    assert [o.start_utc for o in poll.options.all()] == eight  # 08:00 local each day, whatever DST does


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"question": "Hike when?", "options": []}, "options"),
        ({"question": "Hike when?", "options": ["2026-06-20T06:00:00+00:00/2026-06-20T06:30:00+00:00"]}, "options"),
        ({"question": "Hike when?", "options": ["event:999999", "nonsense"]}, "options"),
        ({"question": "   ", "options": []}, "question"),
    ],
)
def test_a_poll_that_cannot_be_made_shows_the_error_by_its_field_and_saves_nothing(
    user, data, field, before_the_weekend
) -> None:
    # The form is on the page only when there is something to propose: the clock is before the weekend.
    group = make_group(user)
    response = _client(user).post(f"/groups/{group.pk}/polls/new/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html
    assert not Poll.objects.exists()


def test_a_poll_of_one_option_is_refused(user, before_the_weekend) -> None:
    group = make_group(user)
    client = _client(user)
    offered = _offered(client.get(f"/groups/{group.pk}/").content.decode())
    response = client.post(f"/groups/{group.pk}/polls/new/", {"question": "Hike?", "options": offered[:1]})
    assert response.status_code == 400
    assert "Pick 2 to 10 options." in response.content.decode()
    assert not Poll.objects.exists()


def test_vote_without_javascript_comes_back_to_the_poll_and_can_change(user, other_user) -> None:
    group = make_group(user, other_user)
    poll = poll_services.poll_create(group=group, by=user, question="When?", options=[window(0), window(4)])
    first = poll.options.first()
    client = _client(other_user)
    response = client.post(f"/groups/{group.pk}/polls/{poll.pk}/vote/", {"option": first.pk, "choice": "yes"})
    assert response.status_code == 302
    assert response["Location"].endswith(f"#poll-{poll.pk}")
    client.post(f"/groups/{group.pk}/polls/{poll.pk}/vote/", {"option": first.pk, "choice": "maybe"})
    assert Vote.objects.get(option=first, user=other_user).choice == "maybe"
    html = client.get(f"/groups/{group.pk}/").content.decode()
    assert f'id="vote-{first.pk}-maybe" class="vote vote-maybe" aria-pressed="true"' in html


def test_vote_with_htmx_returns_the_poll_card_with_the_new_counts(user, other_user) -> None:
    Profile.objects.filter(user=other_user).update(display_name="Bo")
    group = make_group(user, other_user)
    poll = poll_services.poll_create(group=group, by=user, question="When?", options=[window(0), window(4)])
    first = poll.options.first()
    response = _client(other_user).post(
        f"/groups/{group.pk}/polls/{poll.pk}/vote/", {"option": first.pk, "choice": "yes"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<article")
    assert f'id="poll-{poll.pk}"' in html
    assert "1 yes · 0 maybe · 0 no" in html
    assert "Yes: Bo" in html
    assert 'hx-trigger="every 5s"' in html


def test_poll_results_refresh_is_a_card_for_htmx_and_the_page_otherwise(user) -> None:
    group = make_group(user)
    poll = poll_services.poll_create(group=group, by=user, question="When?", options=[window(0), window(4)])
    client = _client(user)
    card = client.get(f"/groups/{group.pk}/polls/{poll.pk}/", HTTP_HX_REQUEST="true")
    assert card.status_code == 200
    assert b"<html" not in card.content
    plain = client.get(f"/groups/{group.pk}/polls/{poll.pk}/")
    assert plain.status_code == 302
    assert plain["Location"] == f"/groups/{group.pk}/#poll-{poll.pk}"


def test_a_bad_vote_is_refused_without_a_change(user) -> None:
    group = make_group(user)
    poll = poll_services.poll_create(group=group, by=user, question="When?", options=[window(0), window(4)])
    first = poll.options.first()
    client = _client(user)
    for data in (
        {"option": first.pk, "choice": "perhaps"},
        {"option": "x", "choice": "yes"},
        {"option": 999999, "choice": "yes"},
    ):
        response = client.post(f"/groups/{group.pk}/polls/{poll.pk}/vote/", data, HTTP_HX_REQUEST="true")
        assert response.status_code == 400, data
    assert not Vote.objects.exists()


def test_a_vote_on_a_poll_closed_meanwhile_shows_the_closed_card_saying_so(user, other_user) -> None:
    group = make_group(user, other_user)
    poll = poll_services.poll_create(group=group, by=user, question="When?", options=[window(0), window(4)])
    first = poll.options.first()
    poll_services.poll_close(poll=poll, by=user)
    response = _client(other_user).post(
        f"/groups/{group.pk}/polls/{poll.pk}/vote/", {"option": first.pk, "choice": "yes"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "This poll is closed: votes can no longer change." in html
    assert "hx-trigger" not in html  # a closed card stops refreshing
    assert not Vote.objects.exists()


def test_only_the_owner_closes_and_the_winner_becomes_a_plan_members_accept(user, other_user) -> None:
    _in_berlin(user, other_user)
    group = make_group(user, other_user)
    poll = poll_services.poll_create(group=group, by=user, question="Climb", options=[window(0), window(4)])
    second = poll.options.all()[1]
    poll_services.vote_cast(poll=poll, user=other_user, option_id=second.pk, choice="yes")
    member = _client(other_user)
    assert member.post(f"/groups/{group.pk}/polls/{poll.pk}/close/").status_code == 403
    assert "Close the poll" not in member.get(f"/groups/{group.pk}/").content.decode()

    response = _client(user).post(f"/groups/{group.pk}/polls/{poll.pk}/close/", follow=True)
    plan = GroupPlan.objects.get(group=group)
    assert Poll.objects.get(pk=poll.pk).status == PollStatus.CLOSED
    assert plan.start_utc == second.start_utc
    assert response.redirect_chain[-1][0] == f"/groups/{group.pk}/#plan-{plan.pk}"
    assert f'id="plan-{plan.pk}"' in response.content.decode()

    member.post(f"/groups/{group.pk}/plans/{plan.pk}/answer/", {"answer": "accepted"})
    attendance = Attendance.objects.get(group_plan=plan, user=other_user)
    assert attendance.answer == Answer.ACCEPTED
    assert Plan.objects.filter(calendar__owner=other_user, pk=attendance.calendar_plan_id).exists()
    page = member.get(f"/groups/{group.pk}/").content.decode()
    assert "You are going." in page
    member.post(f"/groups/{group.pk}/plans/{plan.pk}/answer/", {"answer": "declined"})
    assert not Plan.objects.filter(calendar__owner=other_user).exists()
    assert member.post(f"/groups/{group.pk}/plans/{plan.pk}/answer/", {"answer": "maybe"}).status_code == 302
    assert Attendance.objects.get(group_plan=plan, user=other_user).answer == Answer.DECLINED


def test_a_cancelled_plan_cannot_be_answered_and_says_so(user) -> None:
    group = make_group(user)
    plan = plan_services.group_plan_create(group=group, by=user, title="Picnic", start_utc=_saturday_noon(),
                                           end_utc=_saturday_noon() + timedelta(hours=2))  # fmt: skip
    plan_services.group_plan_cancel(group_plan=plan)
    client = _client(user)
    html = client.get(f"/groups/{group.pk}/").content.decode()
    assert "Cancelled" in html
    assert f'action="/groups/{group.pk}/plans/{plan.pk}/answer/"' not in html
    response = client.post(f"/groups/{group.pk}/plans/{plan.pk}/answer/", {"answer": "accepted"}, follow=True)
    assert "This plan is cancelled." in [str(m) for m in response.context["messages"]]


def test_a_stored_plan_no_calendar_can_hold_is_refused_with_a_warning(user, other_user) -> None:
    """A time an older release stored without the check on the plan's own clock: a warning, not a 500."""
    group = make_group(user, other_user)
    start = _saturday_noon()
    plan = plan_services.group_plan_create(
        group=group,
        by=user,
        title="Picnic",
        start_utc=start,
        end_utc=start + timedelta(hours=2),
        timezone="America/Chicago",
    )
    GroupPlan.objects.filter(pk=plan.pk).update(start_utc=datetime(1600, 1, 1, tzinfo=UTC))
    member = _client(other_user)
    response = member.post(f"/groups/{group.pk}/plans/{plan.pk}/answer/", {"answer": "accepted"}, follow=True)
    assert response.status_code == 200
    [warning] = [str(m) for m in response.context["messages"]]
    assert warning.startswith("This plan cannot go on a calendar as it stands")
    attendance = Attendance.objects.get(group_plan=plan, user=other_user)
    assert attendance.answer != Answer.ACCEPTED
    assert not Plan.objects.filter(calendar__owner=other_user).exists()


def test_the_invitation_ics_downloads(user) -> None:
    group = make_group(user)
    plan = plan_services.group_plan_create(group=group, by=user, title="Picnic", start_utc=_saturday_noon(),
                                           end_utc=_saturday_noon() + timedelta(hours=2))  # fmt: skip
    response = _client(user).get(f"/groups/{group.pk}/plans/{plan.pk}/invite.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert b"METHOD:REQUEST" in response.content
    assert b"SUMMARY:Picnic" in response.content


def test_no_page_shows_another_members_plan_titles(user, other_user) -> None:
    _in_berlin(user, other_user)
    from apps.calendars.tests.factories import PlanFactory

    PlanFactory(calendar=other_user.calendars.get(is_default=True), title="Secret appointment", timezone=BERLIN,
                start=_saturday_noon("this").replace(tzinfo=None, hour=14), minutes=90)  # fmt: skip
    group = make_group(user, other_user)
    poll_services.poll_create(group=group, by=user, question="When?", options=[window(0), window(4)])
    client = _client(user)
    for path in ("/groups/", f"/groups/{group.pk}/", f"/groups/{group.pk}/?night=1&weekend=this",
                 f"/groups/{group.pk}/?weekend=next"):  # fmt: skip
        assert b"Secret appointment" not in client.get(path).content, path


# --- Query counts -------------------------------------------------------------------------------------------------


def _populate(user: User, *, members: int, polls: int) -> str:
    group = make_group(user)
    people = [add_member(group, UserFactory()) for _ in range(members)]
    for index in range(polls):
        poll = poll_services.poll_create(group=group, by=user, question=f"Q{index}", options=[window(0), window(4)])
        for person in people:
            poll_services.vote_cast(poll=poll, user=person, option_id=poll.options.first().pk, choice="yes")
        start = _saturday_noon() + timedelta(hours=index)
        plan_services.group_plan_create(group=group, by=user, title=f"P{index}", start_utc=start,
                                        end_utc=start + timedelta(hours=1))  # fmt: skip
    return f"/groups/{group.pk}/"


def _queries(client: Client, path: str, *, leave_out: str = "") -> int:
    client.get(path)  # warm caches (sessions, profile)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return sum(1 for query in captured.captured_queries if not (leave_out and leave_out in query["sql"]))


def test_group_page_queries_do_not_grow_with_polls_votes_and_plans(user, other_user) -> None:
    one, seven = _populate(user, members=3, polls=1), _populate(other_user, members=3, polls=7)
    assert _queries(_client(user), one) == _queries(_client(other_user), seven)


def test_group_page_queries_do_not_grow_with_members_apart_from_reading_their_calendars(user, other_user) -> None:
    """The availability selector reads each sharing member's calendars with a query of its own (the calendars
    app's window reader is per owner); everything else on the page is the same number of queries."""
    one, seven = _populate(user, members=1, polls=2), _populate(other_user, members=7, polls=2)
    calendars = 'FROM "calendars_plan"'
    assert _queries(_client(user), one, leave_out=calendars) == _queries(
        _client(other_user), seven, leave_out=calendars
    )


def test_plans_ended_within_a_day_stay_older_ones_go(user) -> None:
    group = make_group(user)
    now = timezone.now()
    for title, ended in (("This morning", timedelta(hours=1)), ("Last week", timedelta(days=2))):
        plan_services.group_plan_create(group=group, by=user, title=title, start_utc=now - ended - timedelta(hours=2),
                                        end_utc=now - ended)  # fmt: skip
    html = _client(user).get(f"/groups/{group.pk}/").content.decode()
    assert "This morning" in html
    assert "Last week" not in html


def test_a_poll_for_next_weekend_takes_next_weekends_windows(user) -> None:
    _in_berlin(user)
    group = make_group(user)
    client = _client(user)
    html = client.get(f"/groups/{group.pk}/?weekend=next").content.decode()
    assert f'action="/groups/{group.pk}/polls/new/?weekend=next"' in html
    offered = _offered(html)
    response = client.post(f"/groups/{group.pk}/polls/new/?weekend=next", {"question": "Next?", "options": offered[:2]})
    assert response.status_code == 302
    next_saturday = weekend_window("next", BERLIN, now=timezone.now())[0]
    assert Poll.objects.get().options.first().start_utc == next_saturday + timedelta(hours=8)


def test_nothing_to_propose_when_nobody_is_free_and_there_are_no_events(user, before_the_weekend) -> None:
    from apps.calendars.tests.factories import PlanFactory

    _in_berlin(user)
    saturday = weekend_window("this", BERLIN, now=timezone.now())[0].astimezone(ZoneInfo(BERLIN)).replace(tzinfo=None)
    away = 50 * 60  # the whole weekend, an hour longer when the clocks go back
    calendar = user.calendars.get(is_default=True)
    PlanFactory(calendar=calendar, title="Away", timezone=BERLIN, start=saturday, minutes=away)
    group = make_group(user)
    html = _client(user).get(f"/groups/{group.pk}/").content.decode()
    assert "Nothing to propose for this weekend" in html
    assert 'name="options"' not in html


def test_late_on_a_sunday_the_page_says_too_little_is_left_and_points_to_next_weekend(user, clock) -> None:
    _in_berlin(user)
    saturday = weekend_window("this", BERLIN, now=timezone.now())[0].astimezone(ZoneInfo(BERLIN))
    clock.move_to(saturday + timedelta(days=1, hours=22, minutes=30))  # Sunday 22:30: half an hour of waking time
    group = make_group(user)
    html = _client(user).get(f"/groups/{group.pk}/").content.decode()
    assert "Nothing to propose for what is left of this weekend" in html
    assert 'href="?weekend=next#new-poll-heading"' in html
    assert 'name="options"' not in html
    later = _client(user).get(f"/groups/{group.pk}/?weekend=next").content.decode()
    assert 'name="options"' in later
