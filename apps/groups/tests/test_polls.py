"""Polls: proposing (events or windows, 2..20 options, each refused by name), voting, the winner rule, closing."""

import pytest
from django.http import Http404

from apps.groups.models import Answer, Attendance, GroupPlan, Membership, PollStatus, Vote
from apps.groups.selectors import polls as selectors
from apps.groups.services import polls as services
from apps.groups.tests.poll_factories import SATURDAY, add_member, make_event, make_group, window
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def crew(user, other_user):
    third = UserFactory()
    return make_group(user, other_user, third), user, other_user, third


def _poll(group, by, n=3):
    return services.poll_create(
        group=group, by=by, question="When do we climb?", options=[window(i * 4) for i in range(n)]
    )


def test_a_poll_of_windows_and_events_keeps_the_order_and_labels(crew):
    group, _owner, member, _ = crew
    event = make_event()
    poll = services.poll_create(
        group=group, by=member, question="Saturday?", options=[{"event_id": event.pk}, {**window(), "label": "Noon"}]
    )
    options = list(poll.options.all())
    assert [o.label for o in options] == [event.title, "Noon"]
    assert options[0].event == event
    assert options[0].start_utc is None
    assert options[1].start_utc == SATURDAY
    assert options[1].event is None
    assert poll.status == PollStatus.OPEN
    assert poll.created_by == member


def test_a_window_without_label_is_labelled_on_the_proposers_clock(crew):
    group, owner, *_ = crew
    owner.profile.timezone = "Europe/Berlin"
    owner.profile.save()
    poll = services.poll_create(group=group, by=owner, question="?", options=[window(0, 3), window(8, 6)])
    # 12:00-15:00 UTC is 14:00-17:00 in Berlin in June; a window across midnight names both days.
    assert [o.label for o in poll.options.all()] == ["Sat 20 Jun 14:00–17:00", "Sat 20 Jun 22:00 – Sun 21 Jun 04:00"]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ([window()], "options"),
        ([window(i) for i in range(21)], "options"),
        ([window(), {"event_id": 999999}], "options[1].event_id"),
        ([window(), {"event_id": "7"}], "options[1].event_id"),
        ([{"start": "2026-06-20T10:00:00+02:00"}, window()], "options[0].end"),
        ([window(), {"start": "2026-06-20T10:00:00", "end": "2026-06-20T12:00:00+02:00"}], "options[1].start"),
        ([window(), {"start": "2026-06-20T10:00:00+02:00", "end": "2026-06-20T09:00:00+02:00"}], "options[1].end"),
        ([window(), "soon"], "options[1]"),
    ],
)
def test_bad_options_are_refused_by_name_and_nothing_is_stored(crew, options, field):
    group, owner, *_ = crew
    with pytest.raises(services.PollInputError) as refused:
        services.poll_create(group=group, by=owner, question="When?", options=options)
    assert refused.value.field == field
    assert not group.polls.exists()


def test_a_cancelled_event_is_not_an_option(crew):
    group, owner, *_ = crew
    cancelled = make_event("gone", status="cancelled")
    with pytest.raises(services.PollInputError) as refused:
        services.poll_create(group=group, by=owner, question="?", options=[window(), {"event_id": cancelled.pk}])
    assert refused.value.field == "options[1].event_id"


def test_an_empty_question_and_a_non_member_are_refused(crew):
    group, owner, *_ = crew
    with pytest.raises(services.PollInputError) as refused:
        services.poll_create(group=group, by=owner, question="  ", options=[window(), window(5)])
    assert refused.value.field == "question"
    with pytest.raises(services.NotAMember):
        services.poll_create(group=group, by=UserFactory(), question="?", options=[window(), window(5)])


def test_votes_change_until_the_poll_closes(crew):
    group, owner, member, _ = crew
    poll = _poll(group, owner)
    first = poll.options.first()
    services.vote_cast(poll=poll, user=member, option_id=first.pk, choice="no")
    services.vote_cast(poll=poll, user=member, option_id=first.pk, choice="yes")
    assert Vote.objects.get(option=first, user=member).choice == "yes"
    services.poll_close(poll=poll)
    with pytest.raises(services.PollClosed):
        services.vote_cast(poll=poll, user=member, option_id=first.pk, choice="no")
    assert Vote.objects.get(option=first, user=member).choice == "yes"
    with pytest.raises(services.PollClosed):
        services.poll_close(poll=poll)


def test_a_vote_names_what_is_wrong(crew):
    group, owner, member, _ = crew
    poll, other = _poll(group, owner), _poll(group, owner)
    with pytest.raises(services.PollInputError) as refused:
        services.votes_set(poll=poll, user=member, votes=[(other.options.first().pk, "yes")])
    assert refused.value.field == "votes[0].option_id"
    with pytest.raises(services.PollInputError) as refused:
        services.votes_set(poll=poll, user=member, votes=[(poll.options.first().pk, "perhaps")])
    assert refused.value.field == "votes[0].choice"
    with pytest.raises(services.NotAMember):
        services.vote_cast(poll=poll, user=UserFactory(), option_id=poll.options.first().pk, choice="yes")
    assert not Vote.objects.exists()


def test_votes_set_replaces_the_members_votes_all_or_nothing(crew):
    group, owner, member, _ = crew
    poll = _poll(group, owner)
    a, b, c = poll.options.all()
    services.votes_set(poll=poll, user=member, votes=[(a.pk, "yes"), (b.pk, "maybe")])
    services.votes_set(poll=poll, user=member, votes=[(b.pk, "no"), (c.pk, "yes")])
    assert dict(Vote.objects.filter(user=member).values_list("option_id", "choice")) == {b.pk: "no", c.pk: "yes"}
    with pytest.raises(services.PollInputError):
        services.votes_set(poll=poll, user=member, votes=[(a.pk, "yes"), (b.pk, "nope")])
    assert dict(Vote.objects.filter(user=member).values_list("option_id", "choice")) == {b.pk: "no", c.pk: "yes"}


def _vote(poll, plan):
    for user, choices in plan.items():
        services.votes_set(
            poll=poll, user=user, votes=list(zip(poll.options.values_list("pk", flat=True), choices, strict=True))
        )


def test_the_winner_has_most_yes(crew):
    group, owner, member, third = crew
    poll = _poll(group, owner)
    _vote(poll, {owner: ["maybe", "yes", "no"], member: ["maybe", "yes", "yes"], third: ["yes", "no", "maybe"]})
    group_plan = services.poll_close(poll=poll)
    poll.refresh_from_db()
    assert poll.winner == poll.options.all()[1]
    assert group_plan.start_utc == poll.winner.start_utc
    assert group_plan.title == "When do we climb?"


def test_a_tie_in_yes_goes_to_most_yes_and_maybe(crew):
    group, owner, member, third = crew
    poll = _poll(group, owner)
    _vote(poll, {owner: ["yes", "yes", "no"], member: ["no", "maybe", "no"], third: ["no", "no", "maybe"]})
    services.poll_close(poll=poll)
    assert poll.winner == poll.options.all()[1]


def test_a_full_tie_goes_to_the_earliest_option_in_time(crew):
    group, owner, member, _ = crew
    # Listed latest first: the earliest in time wins, not the first in the list.
    poll = services.poll_create(group=group, by=owner, question="?", options=[window(8), window(0), window(4)])
    _vote(poll, {owner: ["yes", "yes", "yes"], member: ["maybe", "maybe", "maybe"]})
    services.poll_close(poll=poll)
    assert poll.winner.start_utc == SATURDAY


def test_no_yes_or_maybe_closes_without_a_plan(crew):
    group, owner, member, _ = crew
    poll = _poll(group, owner)
    _vote(poll, {member: ["no", "no", "no"]})
    assert services.poll_close(poll=poll) is None
    poll.refresh_from_db()
    assert poll.status == PollStatus.CLOSED
    assert poll.winner is None
    assert poll.closed_at is not None
    assert not GroupPlan.objects.exists()


def test_the_owner_may_name_the_winner(crew):
    group, owner, member, _ = crew
    poll = _poll(group, owner)
    _vote(poll, {member: ["yes", "no", "no"]})
    last = poll.options.all()[2]
    with pytest.raises(services.PollInputError) as refused:
        services.poll_close(poll=poll, winner_option_id=_poll(group, owner).options.first().pk)
    assert refused.value.field == "winner_option_id"
    group_plan = services.poll_close(poll=poll, winner_option_id=last.pk, by=owner)
    assert poll.winner == last
    assert group_plan.organizer == owner


def test_an_event_winner_becomes_a_plan_at_its_time_and_place_with_an_attendance_per_member(crew):
    group, owner, member, third = crew
    event = make_event()
    poll = services.poll_create(group=group, by=member, question="?", options=[{"event_id": event.pk}, window(30)])
    _vote(poll, {owner: ["yes", "no"]})
    late = add_member(group)
    group_plan = services.poll_close(poll=poll, by=owner)
    assert (group_plan.title, group_plan.event, group_plan.start_utc) == (event.title, event, event.start_utc)
    assert group_plan.end_utc == event.end_utc
    assert group_plan.timezone == "Europe/Berlin"
    assert group_plan.location.startswith("Kulturbrauerei")
    assert (group_plan.lat, group_plan.lon) == (
        event.lat,
        event.lon,
    )
    assert group_plan.poll == poll
    assert group_plan.organizer == owner
    answers = dict(Attendance.objects.filter(group_plan=group_plan).values_list("user_id", "answer"))
    assert answers == {u.pk: Answer.NEEDS_ACTION for u in (owner, member, third, late)}


def test_results_count_choices_show_names_and_the_callers_own(crew):
    group, owner, member, third = crew
    poll = _poll(group, owner)
    _vote(poll, {owner: ["yes", "maybe", "no"], member: ["yes", "no", "no"]})
    results = selectors.poll_results(poll=poll, user=member)
    assert [(r.yes, r.maybe, r.no) for r in results] == [(2, 0, 0), (0, 1, 1), (0, 0, 2)]
    assert [r.mine for r in results] == ["yes", "no", "no"]
    assert [r.mine for r in selectors.poll_results(poll=poll, user=third)] == [None, None, None]
    assert {v.choice for v in results[0].voters} == {"yes"}
    assert len(results[0].voters) == 2


def test_a_poll_is_found_only_in_its_own_group(crew, other_user):
    group, owner, *_ = crew
    poll = _poll(group, owner)
    elsewhere = make_group(other_user)
    assert selectors.poll_of(group=group, poll_id=poll.pk) == poll
    with pytest.raises(Http404):
        selectors.poll_of(group=elsewhere, poll_id=poll.pk)
    assert list(selectors.polls_of(group=elsewhere)) == []


def test_someone_who_left_no_longer_counts(crew):
    group, owner, member, third = crew
    poll = _poll(group, owner)
    _vote(poll, {owner: ["no", "yes", "no"], third: ["yes", "no", "no"], member: ["yes", "no", "no"]})
    Membership.objects.filter(group=group, user=member).delete()
    results = selectors.poll_results(poll=poll, user=owner)
    assert [(r.yes, r.no) for r in results] == [(1, 1), (1, 1), (0, 2)]
    assert selectors.poll_of(group=group, poll_id=poll.pk).voter_count == 2
    services.poll_close(poll=poll)
    # A tie on yes and yes+maybe between the first two: the earliest wins, as if the leaver had never voted.
    assert poll.winner == poll.options.all()[0]
