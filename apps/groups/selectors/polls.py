"""Reads of polls: a group's polls, one poll, and its live results.

Members see each other's names and choices on a poll (that is the point of a poll); nothing here reads anyone's
calendar, so no private plan title can show.
"""

from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404

from apps.groups.models import Group, Membership, Poll, PollOption, Vote, VoteChoice
from apps.groups.selectors.plans import display_name
from apps.users.models import User


def polls_of(*, group: Group) -> QuerySet[Poll]:
    """The group's polls, newest first, each with its options and `voter_count` (current members who voted)."""
    members = Membership.objects.filter(group=group).values("user_id")
    return (
        Poll.objects.filter(group=group)
        .select_related("created_by", "created_by__profile", "winner", "group_plan")
        .prefetch_related(Prefetch("options", queryset=PollOption.objects.select_related("event")))
        .annotate(voter_count=Count("options__votes__user", distinct=True, filter=Q(options__votes__user__in=members)))
        .order_by("-pk")
    )


def poll_of(*, group: Group, poll_id: int) -> Poll:
    """One of the group's polls; any other id (another group's poll too) is a 404."""
    found = polls_of(group=group).filter(pk=poll_id).first()
    if found is None:
        raise Http404("No such poll in this group.")
    return found


@dataclass(frozen=True)
class Voter:
    user_id: int
    name: str
    choice: str


@dataclass(frozen=True)
class OptionResult:
    option: PollOption
    yes: int = 0
    maybe: int = 0
    no: int = 0
    mine: str | None = None  # the caller's choice, None when they have not voted on this option
    voters: list[Voter] = field(default_factory=list)


def poll_results(*, poll: Poll, user: User) -> list[OptionResult]:
    """Each option in order with its yes / maybe / no counts, who chose what, and the caller's own choice; from the
    current members' votes (the same votes the close counts)."""
    options = list(PollOption.objects.filter(poll=poll).select_related("event").order_by("position", "pk"))
    members = Membership.objects.filter(group_id=poll.group_id).values("user_id")
    votes = (
        Vote.objects.filter(option__poll=poll, user__in=members).select_related("user", "user__profile").order_by("pk")
    )
    by_option: dict[int, list[Vote]] = {o.pk: [] for o in options}
    for vote in votes:
        by_option[vote.option_id].append(vote)
    results = []
    for option in options:
        cast = by_option[option.pk]
        counts = {choice: sum(1 for v in cast if v.choice == choice) for choice in VoteChoice.values}
        results.append(
            OptionResult(
                option=option,
                yes=counts[VoteChoice.YES],
                maybe=counts[VoteChoice.MAYBE],
                no=counts[VoteChoice.NO],
                mine=next((v.choice for v in cast if v.user_id == user.pk), None),
                voters=[Voter(user_id=v.user_id, name=display_name(v.user), choice=v.choice) for v in cast],
            )
        )
    return results
