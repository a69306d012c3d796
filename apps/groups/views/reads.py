"""Reads the group page shapes in a fixed number of queries whatever the number of members, polls or plans:
names, polls with their options and votes, group plans with their attendances. Reads only; writes go through
the services."""

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Prefetch
from django.utils import dateformat, timezone

from apps.events.models import Event, EventStatus
from apps.groups.models import Answer, Attendance, GroupPlan, GroupPlanStatus, Poll, PollOption, PollStatus, Vote

RECENT_CLOSED_POLLS = 3
RECENT_PLANS = timedelta(days=1)
CHOICES = ("yes", "maybe", "no")


def span(start: datetime, end: datetime, tz: str) -> str:
    """ "Sat 14:00–18:00" in `tz` (the end's day too when it differs)."""
    zone = zoneinfo.ZoneInfo(tz)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    end_format = "H:i" if local_end.date() == local_start.date() else "D H:i"
    return f"{dateformat.format(local_start, 'D j M H:i')}–{dateformat.format(local_end, end_format)}"


@dataclass
class OptionView:
    option: PollOption
    label: str
    counts: dict[str, int]
    voters: dict[str, list[str]]  # choice -> names
    mine: str  # "yes" / "maybe" / "no" / ""
    winner: bool = False


@dataclass
class PollView:
    poll: Poll
    options: list[OptionView]
    open: bool
    voted: int  # members who voted on at least one option
    winner_label: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def option_label(option: PollOption, tz: str) -> str:
    if option.event_id is not None and option.event is not None:
        when = span(option.event.start_utc, option.event.end_utc or option.event.start_utc, tz)
        return f"{option.event.title} ({when})"
    if option.label:
        return option.label
    assert option.start_utc is not None  # the model's check constraint: an event or a window
    assert option.end_utc is not None
    return span(option.start_utc, option.end_utc, tz)


def _poll_views(polls: list[Poll], *, viewer_id: int, tz: str, names: dict[int, str]) -> list[PollView]:
    views = []
    for poll in polls:
        options, voters_of_poll = [], set()
        for option in poll.options.all():
            counts = dict.fromkeys(CHOICES, 0)
            voters: dict[str, list[str]] = defaultdict(list)
            mine = ""
            for vote in option.votes.all():
                counts[vote.choice] += 1
                voters[vote.choice].append(names.get(vote.user_id, "A former member"))
                voters_of_poll.add(vote.user_id)
                if vote.user_id == viewer_id:
                    mine = vote.choice
            label = option_label(option, tz)
            winner = poll.winner_id == option.pk
            options.append(OptionView(option, label, counts, dict(voters), mine, winner))
        winner_label = next((o.label for o in options if o.winner), "")
        views.append(PollView(poll, options, poll.status == PollStatus.OPEN, len(voters_of_poll), winner_label))
    return views


def _polls_queryset() -> Prefetch[str]:
    votes = Prefetch("votes", queryset=Vote.objects.order_by("updated_at", "id"))
    return Prefetch("options", queryset=PollOption.objects.select_related("event").prefetch_related(votes))


def polls_for_page(*, group_id: int, viewer_id: int, tz: str, names: dict[int, str]) -> list[PollView]:
    """Open polls (newest first), then the few most recently closed."""
    base = Poll.objects.filter(group_id=group_id).prefetch_related(_polls_queryset())
    open_polls = list(base.filter(status=PollStatus.OPEN).order_by("-created_at", "-id"))
    closed = list(
        base.filter(status=PollStatus.CLOSED)
        .select_related("winner")
        .order_by("-closed_at", "-id")[:RECENT_CLOSED_POLLS]
    )
    return _poll_views(open_polls + closed, viewer_id=viewer_id, tz=tz, names=names)


def poll_for_page(*, group_id: int, poll_id: int, viewer_id: int, tz: str, names: dict[int, str]) -> PollView | None:
    poll = Poll.objects.filter(group_id=group_id, pk=poll_id).prefetch_related(_polls_queryset()).first()
    if poll is None:
        return None
    return _poll_views([poll], viewer_id=viewer_id, tz=tz, names=names)[0]


@dataclass
class PlanView:
    plan: GroupPlan
    when: str
    mine: str  # my Answer value, "" when I was not a member when it was made
    answers: list[tuple[str, str]]  # (name, answer label)
    cancelled: bool


def plans_for_page(*, group_id: int, viewer_id: int, tz: str, names: dict[int, str]) -> list[PlanView]:
    """The group's plans that have not ended, or ended within the last day (the weekend under way keeps its
    morning's plan), soonest first."""
    attendances = Prefetch("attendances", queryset=Attendance.objects.order_by("id"))
    plans = (
        GroupPlan.objects.filter(group_id=group_id, end_utc__gt=timezone.now() - RECENT_PLANS)
        .prefetch_related(attendances)
        .order_by("start_utc", "id")
    )
    labels = dict(Answer.choices)
    views = []
    for plan in plans:
        mine = ""
        answers = []
        for attendance in plan.attendances.all():
            if attendance.user_id == viewer_id:
                mine = attendance.answer
            answers.append((names.get(attendance.user_id, "A former member"), labels[attendance.answer]))
        when = span(plan.start_utc, plan.end_utc, tz)
        views.append(PlanView(plan, when, mine, answers, plan.status == GroupPlanStatus.CANCELLED))
    return views


def weekend_events(*, start: datetime, end: datetime, limit: int = 12) -> list[Event]:
    """The weekend's first catalogue events, for a poll's options."""
    return list(
        Event.objects.filter(canonical__isnull=True, start_utc__gte=start, start_utc__lt=end)
        .exclude(status=EventStatus.CANCELLED)
        .order_by("start_utc", "id")[:limit]
    )
