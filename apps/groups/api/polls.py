"""/api/v1/groups/{id}/polls: propose, read with live results, vote, close (docs/groups.md).

A poll is visible to the group's members only: to anyone else every endpoint is a 404, whatever the method. Any
member proposes and votes; only the owner closes (a member gets 403)."""

from typing import Any

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.errors import Conflict
from apps.core.api.pagination import CursorPagination
from apps.core.api.schema import error_response
from apps.core.api.views import APIView, validated
from apps.groups.api.poll_serializers import CloseIn, CloseOut, GroupPlanOut, PollIn, PollOut, PollSummaryOut, VotesIn
from apps.groups.models import Group, Poll
from apps.groups.selectors import groups as group_selectors
from apps.groups.selectors import plans as plan_selectors
from apps.groups.selectors import polls as selectors
from apps.groups.services import polls as services
from apps.users.auth import request_user

TAGS = ["polls"]
OWNER_ONLY = error_response(403, "Only the group's owner closes a poll.")
CLOSED = error_response(409, "The poll is closed: votes no longer change.")


def _group(request: Request, group_id: int) -> Group:
    return group_selectors.group_of(user=request_user(request), group_id=group_id)


def poll_body(request: Request, poll: Poll) -> dict[str, Any]:
    """The poll as stored now, with its results as the caller sees them."""
    fresh = selectors.poll_of(group=poll.group, poll_id=poll.pk)
    results = selectors.poll_results(poll=fresh, user=request_user(request))
    return dict(PollOut(fresh, context={"results": results}).data)


def _refused(exc: services.PollInputError) -> exceptions.ValidationError:
    return exceptions.ValidationError({exc.field: [str(exc)]})


class PollListView(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = CursorPagination

    @extend_schema(responses={200: PollSummaryOut(many=True)}, tags=TAGS, description="The group's polls, newest "
                   "first (open and closed), without results.")  # fmt: skip
    def get(self, request: Request, group_id: int) -> Response:
        return self.paginated(request, selectors.polls_of(group=_group(request, group_id)), PollSummaryOut)

    @extend_schema(
        request=PollIn,
        responses={
            201: PollOut,
            400: error_response(400, "A field is wrong; an option is named by its place: `options[1].event_id` (no "
                                     "such event, or cancelled), `options[0].end` (missing, or not after start)."),
        },
        tags=TAGS,
        description="Any member proposes a poll of 2 to 20 options, each a catalogue event or a time window; the "
        "other members are emailed (poll_opened).",
    )  # fmt: skip
    def post(self, request: Request, group_id: int) -> Response:
        group = _group(request, group_id)
        data = validated(PollIn, request.data)
        try:
            poll = services.poll_create(
                group=group, by=request_user(request), question=data["question"], options=data["options"]
            )
        except services.PollInputError as exc:
            raise _refused(exc) from None
        return Response(poll_body(request, poll), status=201)


class PollDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: PollOut}, tags=TAGS, description="The poll with live results: counts, who "
                   "chose what, and your own choices (`mine`).")  # fmt: skip
    def get(self, request: Request, group_id: int, poll_id: int) -> Response:
        poll = selectors.poll_of(group=_group(request, group_id), poll_id=poll_id)
        return Response(poll_body(request, poll))


class VotesView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=VotesIn,
        responses={
            200: PollOut,
            400: error_response(400, "`votes[i].option_id` is not an option of this poll (or twice), or "
                                     "`votes[i].choice` is not yes, maybe or no."),
            409: CLOSED,
        },
        tags=TAGS,
        description="Sets your votes, all at once: these choices from now on, no vote on the options left out. "
        "Changeable until the poll closes.",
    )  # fmt: skip
    def put(self, request: Request, group_id: int, poll_id: int) -> Response:
        poll = selectors.poll_of(group=_group(request, group_id), poll_id=poll_id)
        data = validated(VotesIn, request.data)
        try:
            services.votes_set(
                poll=poll, user=request_user(request), votes=[(v["option_id"], v["choice"]) for v in data["votes"]]
            )
        except services.PollInputError as exc:
            raise _refused(exc) from None
        except services.PollClosed as exc:
            raise Conflict(str(exc), code="poll_closed") from None
        return Response(poll_body(request, poll))


class CloseView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=CloseIn,
        responses={
            200: CloseOut,
            400: error_response(400, "`winner_option_id` is not an option of this poll."),
            403: OWNER_ONLY,
            409: error_response(409, "The poll is closed already."),
        },
        tags=TAGS,
        description="Owner only. The winner (the one named, else most yes, then most yes + maybe, then the earliest) "
        "becomes a group plan every member is asked to answer; `group_plan` is null when nobody said yes or maybe "
        "to anything. Every member is emailed (poll_closed).",
    )  # fmt: skip
    def post(self, request: Request, group_id: int, poll_id: int) -> Response:
        user = request_user(request)
        group = _group(request, group_id)
        poll = selectors.poll_of(group=group, poll_id=poll_id)
        if not group_selectors.is_owner(user=user, group=group):
            raise PermissionDenied
        data = validated(CloseIn, request.data)
        try:
            plan = services.poll_close(poll=poll, winner_option_id=data.get("winner_option_id"), by=user)
        except services.PollInputError as exc:
            raise _refused(exc) from None
        except services.PollClosed as exc:
            raise Conflict(str(exc), code="poll_closed") from None
        plan_body = None
        if plan is not None:
            attendances = {plan.pk: plan_selectors.attendances_of(group_plan=plan)}
            plan_body = GroupPlanOut(plan, context={"attendances": attendances}).data
        return Response({"poll": poll_body(request, poll), "group_plan": plan_body})
