"""Shapes of the polls and group plans API (docs/groups.md)."""

from datetime import datetime
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api.fields import (
    EnumTextField,
    PatternField,
    StrictFloatField,
    StrictIntegerField,
    TextField,
    TimezoneField,
)
from apps.core.time import DATE_TIME_PATTERN
from apps.groups.models import Answer, GroupPlan, GroupPlanStatus, Poll, PollOption, PollStatus, VoteChoice
from apps.groups.selectors.plans import display_name
from apps.groups.selectors.polls import OptionResult
from apps.groups.services.polls import MAX_OPTIONS, MIN_OPTIONS, QUESTION_MAX

MAX_ID = 2**63 - 1


def _enum(name: str, text: str, choices: list[str]) -> type[EnumTextField]:
    """A string from `choices`, published once as the component `name` (so no two fields name one set twice)."""
    values = frozenset(choices)
    attrs = {"component": name, "description": text, "message": f"One of {', '.join(choices)}, not '{{value}}'."}
    return type(f"{name}Field", (EnumTextField,), {**attrs, "values": staticmethod(lambda: values)})


VoteChoiceField = _enum("VoteChoice", "A vote on one option.", list(VoteChoice.values))
PollStatusField = _enum("PollStatus", "Open for votes, or closed.", list(PollStatus.values))
GroupPlanStatusField = _enum("GroupPlanStatus", "Confirmed, or called off.", list(GroupPlanStatus.values))
AnswerField = _enum("AttendanceAnswer", "A member's answer to a group plan (iTIP PARTSTAT).", list(Answer.values))
ReplyField = _enum("AttendanceReply", "What a member answers.", [Answer.ACCEPTED, Answer.DECLINED])
ClashKindField = _enum(
    "GroupPlanClashKind", "Overlapping, or too little time to travel between.", ["overlap", "travel"]
)
MOMENT_MESSAGE = "An ISO 8601 date-time with its offset, e.g. 2026-06-20T14:00:00+02:00."


def _utc(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _moment(**kwargs: Any) -> PatternField:
    return PatternField(pattern=DATE_TIME_PATTERN, message=MOMENT_MESSAGE, **kwargs)


# --- Polls ----------------------------------------------------------------------------------------------------


class PollOptionIn(serializers.Serializer[Any]):
    """A catalogue event, or a time window: `event_id`, or `start` and `end` (with an offset; end after start)."""

    event_id = StrictIntegerField(min_value=1, max_value=MAX_ID, required=False, help_text="A catalogue event.")
    start = _moment(required=False)
    end = _moment(required=False)
    label = TextField(  # type: ignore[assignment]  # a declared field, not Field.label
        max_length=300, required=False, help_text="Windows only; default: the window as text."
    )


@extend_schema_field(PollOptionIn(many=True))
class PollOptionsField(serializers.ListField):
    """The options as sent; the poll service checks each and names the one at fault (`options[2].event_id`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.DictField(), min_length=MIN_OPTIONS, max_length=MAX_OPTIONS, **kwargs)


class PollIn(serializers.Serializer[Any]):
    question = TextField(max_length=QUESTION_MAX)
    options = PollOptionsField(help_text=f"From {MIN_OPTIONS} to {MAX_OPTIONS}, in the order shown.")


class VoteIn(serializers.Serializer[Any]):
    option_id = StrictIntegerField(min_value=1, max_value=MAX_ID)
    choice = VoteChoiceField()


class VotesIn(serializers.Serializer[Any]):
    votes = VoteIn(many=True, help_text="The caller's votes from now on; options left out have no vote of theirs.")


class CloseIn(serializers.Serializer[Any]):
    winner_option_id = StrictIntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, help_text="Default: by the winner rule."
    )


class VoterOut(serializers.Serializer[Any]):
    user_id = serializers.IntegerField()
    name = serializers.CharField()
    choice = VoteChoiceField()


class OptionOut(serializers.Serializer[PollOption]):
    id = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    event_id = serializers.IntegerField(allow_null=True)
    start_utc = serializers.CharField(allow_null=True, help_text="Windows only.")
    end_utc = serializers.CharField(allow_null=True, help_text="Windows only.")

    def to_representation(self, option: PollOption) -> dict[str, Any]:
        return {
            "id": option.pk,
            "label": option.label,
            "event_id": option.event_id,
            "start_utc": _utc(option.start_utc),
            "end_utc": _utc(option.end_utc),
        }


class OptionResultOut(OptionOut):
    yes = serializers.IntegerField()
    maybe = serializers.IntegerField()
    no = serializers.IntegerField()
    mine = serializers.CharField(allow_null=True, help_text="The caller's choice (yes, maybe, no); null: no vote.")
    voters = VoterOut(many=True)

    def to_representation(self, result: OptionResult) -> dict[str, Any]:  # type: ignore[override]
        voters = [{"user_id": v.user_id, "name": v.name, "choice": v.choice} for v in result.voters]
        counts = {"yes": result.yes, "maybe": result.maybe, "no": result.no}
        return {**super().to_representation(result.option), **counts, "mine": result.mine, "voters": voters}


class PollSummaryOut(serializers.Serializer[Poll]):
    id = serializers.IntegerField()
    question = serializers.CharField()
    status = PollStatusField()
    created_by = serializers.IntegerField(allow_null=True, help_text="The proposer's user id.")
    created_by_name = serializers.CharField()
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    winner_option_id = serializers.IntegerField(allow_null=True)
    group_plan_id = serializers.IntegerField(allow_null=True, help_text="The plan the winner became.")
    voter_count = serializers.IntegerField(help_text="Members who have voted.")
    options = OptionOut(many=True)

    def to_representation(self, poll: Poll) -> dict[str, Any]:
        plan = getattr(poll, "group_plan", None)
        return {
            "id": poll.pk,
            "question": poll.question,
            "status": poll.status,
            "created_by": poll.created_by_id,
            "created_by_name": display_name(poll.created_by) if poll.created_by else "",
            "created_at": _utc(poll.created_at),
            "closed_at": _utc(poll.closed_at),
            "winner_option_id": poll.winner_id,
            "group_plan_id": plan.pk if plan is not None else None,
            "voter_count": getattr(poll, "voter_count", 0),
            "options": self.options_of(poll),
        }

    def options_of(self, poll: Poll) -> list[dict[str, Any]]:
        return [OptionOut(option).data for option in poll.options.all()]


class PollOut(PollSummaryOut):
    """With live results: counts, who chose what, and the caller's own choices (`context["results"]`)."""

    options = OptionResultOut(many=True)

    def options_of(self, poll: Poll) -> list[dict[str, Any]]:
        return [OptionResultOut(result).data for result in self.context["results"]]


# --- Group plans ----------------------------------------------------------------------------------------------


class GroupPlanIn(serializers.Serializer[Any]):
    """title, start and end are required unless `event_id` is given (then they default to the event's)."""

    title = TextField(max_length=500, required=False)
    start = _moment(required=False)
    end = _moment(required=False, help_text="After start.")
    timezone = TimezoneField(required=False, help_text="The zone the plan is shown in (default: yours).")
    location = TextField(max_length=500, allow_blank=True, required=False)
    lat = StrictFloatField(min_value=-90, max_value=90, allow_null=True, required=False)
    lon = StrictFloatField(min_value=-180, max_value=180, allow_null=True, required=False)
    event_id = StrictIntegerField(min_value=1, max_value=MAX_ID, required=False, help_text="A catalogue event.")


class GroupPlanChangeIn(serializers.Serializer[Any]):
    title = TextField(max_length=500, required=False)
    start = _moment(required=False)
    end = _moment(required=False)
    timezone = TimezoneField(required=False)
    location = TextField(max_length=500, allow_blank=True, required=False)
    lat = StrictFloatField(min_value=-90, max_value=90, allow_null=True, required=False)
    lon = StrictFloatField(min_value=-180, max_value=180, allow_null=True, required=False)


class AnswerIn(serializers.Serializer[Any]):
    answer = ReplyField()


class AttendanceOut(serializers.Serializer[Any]):
    user_id = serializers.IntegerField()
    name = serializers.CharField()
    answer = AnswerField()
    answered_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, attendance: Any) -> dict[str, Any]:
        return {
            "user_id": attendance.user.pk,
            "name": display_name(attendance.user),
            "answer": attendance.answer,
            "answered_at": _utc(attendance.answered_at),
        }


class GroupPlanOut(serializers.Serializer[GroupPlan]):
    """A plan with every member's answer (`context["attendances"]`, else the stored rows)."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    start_utc = serializers.CharField()
    end_utc = serializers.CharField()
    timezone = serializers.CharField()
    location = serializers.CharField()
    lat = serializers.FloatField(allow_null=True)
    lon = serializers.FloatField(allow_null=True)
    event_id = serializers.IntegerField(allow_null=True)
    poll_id = serializers.IntegerField(allow_null=True)
    organizer = serializers.IntegerField(allow_null=True, help_text="The organizer's user id.")
    status = GroupPlanStatusField()
    sequence = serializers.IntegerField(help_text="iTIP SEQUENCE: raised by every change.")
    ical_uid = serializers.CharField()
    attendances = AttendanceOut(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, plan: GroupPlan) -> dict[str, Any]:
        attendances = self.context.get("attendances", {}).get(plan.pk, [])
        return {
            "id": plan.pk,
            "title": plan.title,
            "start_utc": _utc(plan.start_utc),
            "end_utc": _utc(plan.end_utc),
            "timezone": plan.timezone,
            "location": plan.location,
            "lat": plan.lat,
            "lon": plan.lon,
            "event_id": plan.event_id,
            "poll_id": plan.poll_id,
            "organizer": plan.organizer_id,
            "status": plan.status,
            "sequence": plan.sequence,
            "ical_uid": plan.ical_uid,
            "attendances": [AttendanceOut(a).data for a in attendances],
            "created_at": _utc(plan.created_at),
            "updated_at": _utc(plan.updated_at),
        }


class CloseOut(serializers.Serializer[Any]):
    poll = PollOut()
    group_plan = GroupPlanOut(allow_null=True, help_text="null when nobody said yes or maybe to any option.")


class ClashSideOut(serializers.Serializer[Any]):
    plan_id = serializers.IntegerField()
    recurrence_id = serializers.CharField(allow_null=True)
    title = serializers.CharField()
    start_utc = serializers.CharField()
    end_utc = serializers.CharField()
    calendar_id = serializers.IntegerField()
    reason = serializers.CharField(allow_null=True)


class ClashOut(serializers.Serializer[Any]):
    """A clash on the caller's own calendar (their plans only), as calendars' conflicts report it."""

    kind = ClashKindField()
    first = ClashSideOut()
    second = ClashSideOut()
    overlap_minutes = serializers.IntegerField(allow_null=True)
    needed_minutes = serializers.IntegerField(allow_null=True)
    available_minutes = serializers.IntegerField(allow_null=True)


class AnswerOut(serializers.Serializer[Any]):
    group_plan = GroupPlanOut()
    calendar_plan_id = serializers.IntegerField(
        allow_null=True, help_text="The plan on your default calendar (null when declined, or saved by you before)."
    )
    conflicts = ClashOut(many=True, help_text="What the accepted plan clashes with on your calendar (it was added).")


# --- Plan our weekend -----------------------------------------------------------------------------------------


class WeekendIn(serializers.Serializer[Any]):
    weekend = serializers.ChoiceField(choices=["this", "next"], default="this", help_text="This weekend or the next.")


class WeekendStopOut(serializers.Serializer[Any]):
    event_id = serializers.IntegerField()
    title = serializers.CharField()
    day = serializers.DateField()
    start_utc = serializers.CharField()
    end_utc = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())


class WeekendOut(serializers.Serializer[Any]):
    itinerary_id = serializers.IntegerField(help_text="Your draft itinerary: GET /api/v1/itineraries/{id}.")
    url = serializers.CharField(help_text="The itinerary in the API.")
    start_utc = serializers.CharField(help_text="The weekend planned (as you see it).")
    end_utc = serializers.CharField()
    meeting_point = serializers.ListField(child=serializers.FloatField(), help_text="[lat, lon] tours start from.")
    stops = WeekendStopOut(many=True)
