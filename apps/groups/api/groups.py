"""/api/v1/groups: groups, members, invitations and availability (docs/groups.md has the table).

A group is visible to its members only: to anyone else every endpoint under /groups/{id} is a 404, whatever the
method. What only the owner may do (change or delete the group, remove others, hand over ownership) is a 403 for
a member. Members see each other's names and free/busy, never each other's plans."""

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.fields import openapi_pattern
from apps.core.api.pagination import CursorPagination, OnePage
from apps.core.api.schema import error_response
from apps.core.api.views import APIView, validated
from apps.core.api.windows import query_window
from apps.core.time import WINDOW_BOUND_PATTERN
from apps.groups.api.serializers import (
    AvailabilityOut,
    GroupIn,
    GroupOut,
    InviteIn,
    InviteOut,
    JoinIn,
    MemberOut,
    OwnerIn,
    SharingIn,
)
from apps.groups.models import Group
from apps.groups.selectors import availability as availability_selectors
from apps.groups.selectors import groups as selectors
from apps.groups.services import groups as services
from apps.groups.services import invites as invite_services
from apps.users import selectors as user_selectors
from apps.users.auth import request_user

TAGS = ["groups"]
MAX_WINDOW_DAYS = 14
OWNER_ONLY = error_response(403, "Only the group's owner may do this.")


def _group(request: Request, group_id: int) -> Group:
    return selectors.group_of(user=request_user(request), group_id=group_id)


def _owned(request: Request, group_id: int) -> Group:
    group = _group(request, group_id)
    if getattr(group, "role", None) != "owner":
        raise PermissionDenied
    return group


def _fresh(request: Request, group: Group) -> Response:
    return Response(GroupOut(selectors.group_of(user=request_user(request), group_id=group.pk)).data)


class GroupListView(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = CursorPagination

    @extend_schema(responses={200: GroupOut(many=True)}, tags=TAGS, description="The caller's groups, newest first.")
    def get(self, request: Request) -> Response:
        return self.paginated(request, selectors.groups_of(user=request_user(request)), GroupOut)

    @extend_schema(
        request=GroupIn, responses={201: GroupOut}, tags=TAGS, description="Creates a group; the caller is its owner."
    )
    def post(self, request: Request) -> Response:
        data = validated(GroupIn, request.data)
        group = services.group_create(owner=request_user(request), **data)
        return Response(GroupOut(selectors.group_of(user=request_user(request), group_id=group.pk)).data, status=201)


class GroupDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: GroupOut}, tags=TAGS, description="The group, with your role in it.")
    def get(self, request: Request, group_id: int) -> Response:
        return Response(GroupOut(_group(request, group_id)).data)

    @extend_schema(
        request=GroupIn(partial=True),
        responses={200: GroupOut, 403: OWNER_ONLY},
        tags=TAGS,
        description="Owner only. `meeting_lat` and `meeting_lon` go together (null clears both).",
    )
    def patch(self, request: Request, group_id: int) -> Response:
        group = _owned(request, group_id)
        data = validated(GroupIn, request.data, partial=True)
        return _fresh(request, services.group_update(group=group, data=dict(data)))

    @extend_schema(
        responses={204: None, 403: OWNER_ONLY},
        tags=TAGS,
        description="Owner only: deletes the group "
        "with its invitations, polls and group plans (plans already on members' calendars stay).",
    )
    def delete(self, request: Request, group_id: int) -> Response:
        services.group_delete(group=_owned(request, group_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberListView(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = OnePage  # a group's members fit in one page

    @extend_schema(
        responses={200: MemberOut(many=True)},
        tags=TAGS,
        description="The owner first, then by who joined first. Names and roles only: never anyone's plans.",
    )
    def get(self, request: Request, group_id: int) -> Response:
        members = selectors.members_of(group=_group(request, group_id))
        return Response({"next": None, "previous": None, "results": MemberOut(members, many=True).data})


class MemberDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={204: None, 403: error_response(403, "Only the owner may remove someone else.")},
        tags=TAGS,
        description="Your own id: you leave (always allowed; an owner who leaves hands ownership to the member "
        "who joined first; the last one out deletes the group). Someone else's: the owner removes them.",
    )
    def delete(self, request: Request, group_id: int, user_id: int) -> Response:
        user = request_user(request)
        group = _group(request, group_id)
        if user_id == user.pk:
            services.member_leave(group=group, user=user)
        else:
            if getattr(group, "role", None) != "owner":
                raise PermissionDenied
            services.member_remove(group=group, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OwnerView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=OwnerIn,
        responses={
            200: GroupOut,
            400: error_response(400, "`user_id` is not a member of this group."),
            403: OWNER_ONLY,
        },
        tags=TAGS,
        description="Owner only: hands ownership to another member; the caller becomes a member.",
    )
    def post(self, request: Request, group_id: int) -> Response:
        group = _owned(request, group_id)
        data = validated(OwnerIn, request.data)
        try:
            services.ownership_transfer(group=group, to_user_id=data["user_id"])
        except services.NotAMember:
            raise exceptions.ValidationError({"user_id": ["Not a member of this group."]}) from None
        return _fresh(request, group)


class SharingView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=SharingIn,
        responses={200: MemberOut},
        tags=TAGS,
        description="Pauses or resumes "
        "sharing your free/busy with this group (paused: you count as neither free nor busy).",
    )
    def patch(self, request: Request, group_id: int) -> Response:
        user = request_user(request)
        membership = selectors.membership_of(user=user, group=_group(request, group_id))
        data = validated(SharingIn, request.data, partial=True)
        if "paused" in data:  # a PATCH without it changes nothing
            membership = services.sharing_set(membership=membership, paused=data["paused"])
        return Response(MemberOut(membership).data)


class InviteListView(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = CursorPagination

    @extend_schema(
        responses={200: InviteOut(many=True)},
        tags=TAGS,
        description="Newest first, revoked and "
        "expired ones included. The owner sees every invitation, a member the ones they made.",
    )
    def get(self, request: Request, group_id: int) -> Response:
        group = _group(request, group_id)
        mine = None if getattr(group, "role", None) == "owner" else request_user(request)
        return self.paginated(request, selectors.invites_of(group=group, created_by=mine), InviteOut)

    @extend_schema(
        request=InviteIn,
        responses={201: InviteOut},
        tags=TAGS,
        description="Any member may invite: a link that works for `days` days; with `email`, the link is emailed too.",
    )
    def post(self, request: Request, group_id: int) -> Response:
        group = _group(request, group_id)
        data = validated(InviteIn, request.data)
        invite = invite_services.invite_create(
            group=group, by=request_user(request), email=data.get("email", ""), days=data["days"]
        )
        return Response(InviteOut(invite).data, status=201)


class InviteDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={204: None, 403: error_response(403, "Only the owner or the invitation's maker may revoke it.")},
        tags=TAGS,
        description="Revokes the link: it no longer lets anyone join.",
    )
    def delete(self, request: Request, group_id: int, invite_id: int) -> Response:
        user = request_user(request)
        group = _group(request, group_id)
        invite = selectors.invite_of(group=group, invite_id=invite_id)
        if getattr(group, "role", None) != "owner" and invite.created_by_id != user.pk:
            raise PermissionDenied
        invite_services.invite_revoke(invite=invite)
        return Response(status=status.HTTP_204_NO_CONTENT)


class JoinView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=JoinIn,
        responses={
            200: GroupOut,
            400: error_response(
                400, "`token` is unknown, expired or revoked (one message for all three, so tokens reveal no groups)."
            ),
        },
        tags=TAGS,
        description="Joins the group of an invitation link; already a member: the group as it is.",
    )
    def post(self, request: Request) -> Response:
        data = validated(JoinIn, request.data)
        try:
            group = invite_services.invite_join(token=data["token"], user=request_user(request))
        except invite_services.InviteInvalid as exc:
            raise exceptions.ValidationError({"token": [str(exc)]}) from None
        return _fresh(request, group)


WINDOW = [
    OpenApiParameter(
        "start",
        OpenApiTypes.STR,
        required=True,
        pattern=openapi_pattern(WINDOW_BOUND_PATTERN),
        description="A date-time with offset (or a date: midnight in your zone).",
    ),
    OpenApiParameter(
        "end",
        OpenApiTypes.STR,
        required=True,
        pattern=openapi_pattern(WINDOW_BOUND_PATTERN),
        description=f"As `start`, exclusive: after `start`, at most {MAX_WINDOW_DAYS} days after it.",
    ),
    OpenApiParameter(
        "min_minutes", OpenApiTypes.INT, description="The shortest window worth showing, 1 to 1440 (default 60)."
    ),
]


def _availability_query(request: Request) -> tuple[datetime, datetime, int]:
    tz = user_selectors.profile_for(user=request_user(request)).timezone
    errors: dict[str, Any] = {}
    try:
        start, end = query_window(request.query_params, tz=tz, max_days=MAX_WINDOW_DAYS)
    except exceptions.ValidationError as exc:
        errors.update(exc.detail)  # type: ignore[arg-type]
    raw = request.query_params.get("min_minutes", "60")
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 1440):
        errors["min_minutes"] = ["A whole number from 1 to 1440."]
    if errors:
        raise exceptions.ValidationError(errors)
    return start, end, int(raw)


class AvailabilityView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=WINDOW,
        responses={
            200: AvailabilityOut,
            400: error_response(
                400,
                "`start` or `end` is unreadable, `end` is not "
                f"after `start` within {MAX_WINDOW_DAYS} days, or `min_minutes` is not 1 to 1440.",
            ),
        },
        tags=TAGS,
        description="When members are free together: maximal windows in which the set of free members does not "
        "change, lasting at least `min_minutes`, most free first, then longest, then earliest. From every sharing "
        "member's calendars (recurrence, all-day days, travel to and from placed plans); free/busy only.",
    )
    def get(self, request: Request, group_id: int) -> Response:
        group = _group(request, group_id)
        start, end, min_minutes = _availability_query(request)
        found = availability_selectors.availability(group=group, start=start, end=end, min_minutes=min_minutes)
        body = {
            "windows": [
                {"start": w.start, "end": w.end, "free": list(w.free), "busy_count": w.busy_count} for w in found
            ]
        }
        return Response(AvailabilityOut(body).data)
