"""Votes at the same moment on real PostgreSQL: none is lost, none is duplicated, none lands after the close."""

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from apps.groups.models import PollStatus, Vote
from apps.groups.services import polls as services
from apps.groups.tests.poll_factories import make_group, window
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _race(jobs: list[Callable[[], object]]) -> list[BaseException | object]:
    """Runs every job in its own thread (own database connection), all released at once."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[BaseException | object] = [None] * len(jobs)

    def run(index: int, job: Callable[[], object]) -> None:
        try:
            barrier.wait()
            outcomes[index] = job()
        except BaseException as exc:  # noqa: BLE001 - the test inspects what each thread met
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.fixture
def poll_of_ten():
    owner, *members = [UserFactory() for _ in range(10)]
    group = make_group(owner, *members)
    poll = services.poll_create(group=group, by=owner, question="When?", options=[window(0), window(4), window(8)])
    return poll, [owner, *members]


def test_ten_members_voting_at_once_lose_nothing(poll_of_ten):
    poll, people = poll_of_ten
    first, second, _ = poll.options.all()
    jobs = [
        (lambda u=u: services.votes_set(poll=poll, user=u, votes=[(first.pk, "yes"), (second.pk, "maybe")]))
        for u in people
    ]
    outcomes = _race(jobs)
    assert not [o for o in outcomes if isinstance(o, BaseException)]
    assert Vote.objects.filter(option=first, choice="yes").count() == 10
    assert Vote.objects.filter(option=second, choice="maybe").count() == 10


def test_one_member_voting_from_ten_tabs_at_once_keeps_one_vote(poll_of_ten):
    poll, people = poll_of_ten
    first = poll.options.first()
    choices = ["yes", "no", "maybe", "yes", "no", "maybe", "yes", "no", "maybe", "yes"]
    outcomes = _race(
        [lambda c=c: services.vote_cast(poll=poll, user=people[1], option_id=first.pk, choice=c) for c in choices]
    )
    assert not [o for o in outcomes if isinstance(o, BaseException)]
    votes = Vote.objects.filter(option=first, user=people[1])
    assert votes.count() == 1
    assert votes.get().choice in {"yes", "no", "maybe"}


def test_votes_racing_the_close_either_land_before_it_or_are_refused(poll_of_ten):
    poll, people = poll_of_ten
    first = poll.options.first()
    votes = [lambda u=u: services.vote_cast(poll=poll, user=u, option_id=first.pk, choice="yes") for u in people[1:]]
    outcomes = _race([*votes[:4], lambda: services.poll_close(poll=poll, by=people[0]), *votes[4:]])
    refused = [o for o in outcomes if isinstance(o, services.PollClosed)]
    assert not [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, services.PollClosed)]
    poll.refresh_from_db()
    assert poll.status == PollStatus.CLOSED
    landed = Vote.objects.filter(option__poll=poll)
    # Every vote that did not meet a closed poll is stored, and every stored vote was made before the close.
    assert landed.count() + len(refused) == 9
    assert all(vote.updated_at <= poll.closed_at for vote in landed)
    if landed.exists():
        assert poll.winner == first
        assert poll.group_plan.start_utc == first.start_utc
