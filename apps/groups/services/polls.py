"""Writes of polls: propose one, vote, close it (the winner becomes a group plan).

Every vote and the close lock the poll's row (select_for_update), so votes of many members at once are applied one
after the other, none is lost, and none lands after the close; the unique (option, user) constraint keeps one vote
per person and option whatever happens.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from apps.core.time import DATE_TIME_PATTERN, FIRST_YEAR, LAST_YEAR, matches
from apps.events.models import Event, EventStatus
from apps.groups.models import Group, GroupPlan, Membership, Poll, PollOption, PollStatus, Vote, VoteChoice
from apps.groups.selectors import plans as plan_selectors
from apps.groups.services import plans as plan_services
from apps.groups.services.plans import NotAMember
from apps.users import selectors as user_selectors
from apps.users.models import User

MIN_OPTIONS = 2
MAX_OPTIONS = 20
QUESTION_MAX = 300


class PollInputError(ValueError):
    """Input a poll or a vote cannot be made from; `field` names what was wrong (options[2].event_id, ...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class PollClosed(Exception):
    """The poll is closed: votes no longer change and it cannot be closed again."""

    def __init__(self) -> None:
        super().__init__("This poll is closed: votes can no longer change.")


def _aware(value: Any, field: str) -> datetime:
    """A date-time with its offset within the years plans may take (apps.core.time), from ISO text or as given."""
    message = f"An ISO 8601 date-time with its offset, e.g. 2026-06-20T14:00:00+02:00 (years {FIRST_YEAR}-{LAST_YEAR})."
    if isinstance(value, str):
        if not matches(DATE_TIME_PATTERN, value):
            raise PollInputError(field, message)
        try:
            value = datetime.fromisoformat(value)
        except ValueError:  # the pattern admits days that do not exist (2026-02-31)
            raise PollInputError(field, message) from None
    if not isinstance(value, datetime) or value.tzinfo is None or not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise PollInputError(field, message)
    # In UTC: PostgreSQL refuses offsets beyond ±15:59, which ISO 8601 (and so the pattern) allows up to ±23:59.
    return value.astimezone(UTC)


def window_label(start: datetime, end: datetime, zone: str) -> str:
    """A window as people read it, on the proposer's clock: "Sat 20 Jun 14:00–18:00" (or across days)."""
    tz = ZoneInfo(zone)
    first, last = start.astimezone(tz), end.astimezone(tz)
    if first.date() == last.date():
        return f"{first:%a %d %b %H:%M}–{last:%H:%M}"
    return f"{first:%a %d %b %H:%M} – {last:%a %d %b %H:%M}"


def _option(index: int, raw: Any, zone: str) -> PollOption:
    prefix = f"options[{index}]"
    if not isinstance(raw, dict):
        raise PollInputError(prefix, 'An object: {"event_id": ...} or {"start": ..., "end": ..., "label"?: ...}.')
    # Other keys are ignored, as the API ignores fields it does not know everywhere else.
    label = raw.get("label") or ""
    if not isinstance(label, str) or "\x00" in label or len(label) > 300:
        raise PollInputError(f"{prefix}.label", "Text of at most 300 characters.")
    label = label.strip()
    if raw.get("event_id") is not None:
        if "start" in raw or "end" in raw:
            raise PollInputError(prefix, "Either a catalogue event (event_id) or a time window (start, end), not both.")
        event_id = raw["event_id"]
        is_id = isinstance(event_id, int) and not isinstance(event_id, bool)
        event = Event.objects.filter(pk=event_id).first() if is_id and 0 < event_id < 2**63 else None
        if event is None:
            raise PollInputError(f"{prefix}.event_id", f"No catalogue event with id {event_id!r}.")
        if event.status == EventStatus.CANCELLED:
            raise PollInputError(f"{prefix}.event_id", f"The event {event.title!r} is cancelled.")
        return PollOption(event=event, label=label or event.title[:300], position=index)
    if raw.get("start") is None or raw.get("end") is None:
        missing = "start" if raw.get("start") is None else "end"
        raise PollInputError(f"{prefix}.{missing}", "A time window needs both start and end (or give an event_id).")
    start, end = _aware(raw["start"], f"{prefix}.start"), _aware(raw["end"], f"{prefix}.end")
    if end <= start:
        raise PollInputError(f"{prefix}.end", "The window ends after it starts.")
    return PollOption(start_utc=start, end_utc=end, label=label or window_label(start, end, zone), position=index)


@transaction.atomic
def poll_create(*, group: Group, by: User, question: str, options: list[dict[str, Any]]) -> Poll:
    """Any member proposes a poll of 2 to 20 options, each a catalogue event (existing, not cancelled) or a time
    window. The other members are asked by email once it is committed. Raises PollInputError naming the field."""
    if not plan_selectors.is_member(user=by, group=group):
        raise NotAMember()
    question = (question or "").strip()
    if not question:
        raise PollInputError("question", "Ask something, e.g. “Where do we go on Saturday?”.")
    if len(question) > QUESTION_MAX:
        raise PollInputError("question", f"At most {QUESTION_MAX} characters.")
    if not isinstance(options, list) or not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        raise PollInputError("options", f"From {MIN_OPTIONS} to {MAX_OPTIONS} options.")
    zone = user_selectors.profile_for(user=by).timezone
    built = [_option(index, raw, zone) for index, raw in enumerate(options)]
    poll = Poll.objects.create(group=group, question=question, created_by=by)
    for option in built:
        option.poll = poll
    PollOption.objects.bulk_create(built)
    plan_services.notify_poll_opened(poll=poll)
    return poll


def _locked_open(poll: Poll) -> Poll:
    locked = Poll.objects.select_for_update().get(pk=poll.pk)
    if locked.status != PollStatus.OPEN:
        raise PollClosed()
    return locked


def _choice(value: Any, field: str) -> str:
    if value not in VoteChoice.values:
        raise PollInputError(field, f"One of {', '.join(VoteChoice.values)}.")
    return str(value)


def vote_cast(*, poll: Poll, user: User, option_id: int, choice: str) -> Vote:
    """The member's yes / maybe / no on one option (a second vote on it changes the first). Raises PollClosed."""
    return votes_set(poll=poll, user=user, votes=[(option_id, choice)], replace=False)[0]


@transaction.atomic
def votes_set(*, poll: Poll, user: User, votes: Iterable[tuple[int, str]], replace: bool = True) -> list[Vote]:
    """Sets the member's choices on the options given, all or nothing; with `replace`, their votes on the options
    not given are withdrawn (the PUT of the API: "my votes are now these")."""
    locked = _locked_open(poll)
    if not plan_selectors.is_member(user=user, group=locked.group_id):
        raise NotAMember()
    option_ids = set(locked.options.values_list("pk", flat=True))
    wanted: dict[int, str] = {}
    for index, (option_id, choice) in enumerate(votes):
        if option_id not in option_ids:
            raise PollInputError(f"votes[{index}].option_id", f"No option {option_id!r} in this poll.")
        if option_id in wanted:
            raise PollInputError(f"votes[{index}].option_id", "Each option at most once.")
        wanted[option_id] = _choice(choice, f"votes[{index}].choice")
    if replace:
        Vote.objects.filter(option__poll=locked, user=user).exclude(option_id__in=wanted).delete()
    # One upsert on the (option, user) constraint; PostgreSQL and SQLite both take ON CONFLICT DO UPDATE.
    return Vote.objects.bulk_create(
        [Vote(option_id=option_id, user=user, choice=choice) for option_id, choice in wanted.items()],
        update_conflicts=True,
        unique_fields=["option", "user"],
        update_fields=["choice", "updated_at"],
    )


@dataclass(frozen=True)
class Tally:
    option: PollOption
    yes: int
    maybe: int
    no: int


def tallies(poll: Poll) -> list[Tally]:
    """Each option's counts from the current members' votes (someone who left the group no longer decides)."""
    members = Membership.objects.filter(group_id=poll.group_id).values("user_id")
    counts = PollOption.objects.filter(poll=poll).annotate(
        yes=Count("votes", filter=Q(votes__choice=VoteChoice.YES, votes__user_id__in=members)),
        maybe=Count("votes", filter=Q(votes__choice=VoteChoice.MAYBE, votes__user_id__in=members)),
        no=Count("votes", filter=Q(votes__choice=VoteChoice.NO, votes__user_id__in=members)),
    )
    return [Tally(o, o.yes, o.maybe, o.no) for o in counts.select_related("event", "event__venue")]


def option_start(option: PollOption) -> datetime:
    if option.event is not None:
        return option.event.start_utc
    assert option.start_utc is not None
    return option.start_utc


def winner_of(counted: list[Tally]) -> PollOption | None:
    """Most yes, then most yes + maybe, then the earliest (in time, then in the list). None when nobody said yes
    or maybe to anything: the group wants none of them."""
    if not any(t.yes or t.maybe for t in counted):
        return None
    best = min(counted, key=lambda t: (-t.yes, -(t.yes + t.maybe), option_start(t.option), t.option.position))
    return best.option


@transaction.atomic
def poll_close(*, poll: Poll, winner_option_id: int | None = None, by: User | None = None) -> GroupPlan | None:
    """Closes the poll (the owner decides; the API checks) and turns the winner, by the rule of `winner_of` or
    the one named, into a group plan with an Attendance to answer for every member. None when there is no
    winner. Raises PollClosed when closed already, PollInputError for a winner that is not an option."""
    locked = _locked_open(poll)
    counted = tallies(locked)
    if winner_option_id is not None:
        winner = next((t.option for t in counted if t.option.pk == winner_option_id), None)
        if winner is None:
            raise PollInputError("winner_option_id", f"No option {winner_option_id!r} in this poll.")
    else:
        winner = winner_of(counted)
    locked.status, locked.winner, locked.closed_at = PollStatus.CLOSED, winner, timezone.now()
    locked.save(update_fields=["status", "winner", "closed_at"])
    poll.status, poll.winner, poll.closed_at = locked.status, locked.winner, locked.closed_at
    group_plan = None
    if winner is not None:
        group_plan = _plan_from(locked, winner, organizer=by or locked.created_by)
    plan_services.notify_poll_closed(poll=locked, options=[t.option for t in counted])
    return group_plan


def _plan_from(poll: Poll, option: PollOption, *, organizer: User | None) -> GroupPlan:
    group = poll.group
    if option.event is not None:
        event = option.event
        venue = event.venue
        return plan_services.group_plan_create(
            group=group,
            by=organizer,
            title=event.title,
            start_utc=event.start_utc,
            end_utc=event.end_utc or event.start_utc + plan_services.EVENT_DURATION,
            event=event,
            timezone=event.timezone,
            location=", ".join(part for part in (venue.name, venue.address) if part) if venue else "",
            lat=event.lat,
            lon=event.lon,
            poll=poll,
        )
    assert option.start_utc is not None
    assert option.end_utc is not None
    zone = user_selectors.profile_for(user=organizer).timezone if organizer is not None else "UTC"
    if plan_services.clock_problem(option.start_utc, option.end_utc, zone) is not None:
        # A window at the edge of the years, or within the hour the organizer's clocks go back through: UTC holds
        # every window a poll takes.
        zone = "UTC"
    return plan_services.group_plan_create(
        group=group,
        by=organizer,
        title=poll.question,
        start_utc=option.start_utc,
        end_utc=option.end_utc,
        timezone=zone,
        poll=poll,
    )
