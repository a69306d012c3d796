"""/api/v1/groups/{id}/plans: a group's plans, each member's answer, and the plan as an iTIP invitation.

Members only (anyone else: 404 for every method). Any member makes a plan and answers; the owner or the plan's
organizer changes or cancels it (anyone else: 403)."""

from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.errors import Conflict
from apps.core.api.pagination import CursorPagination
from apps.core.api.schema import error_response
from apps.core.api.views import APIView, validated
from apps.events.models import Event, EventStatus
from apps.groups import itip
from apps.groups.api.poll_serializers import (
    MOMENT_MESSAGE,
    AnswerIn,
    AnswerOut,
    GroupPlanChangeIn,
    GroupPlanIn,
    GroupPlanOut,
)
from apps.groups.models import Group, GroupPlan, GroupPlanStatus
from apps.groups.selectors import groups as group_selectors
from apps.groups.selectors import plans as selectors
from apps.groups.services import plans as services
from apps.users import selectors as user_selectors
from apps.users.auth import request_user

TAGS = ["group plans"]
ORGANIZER_ONLY = error_response(403, "Only the group's owner or the plan's organizer may do this.")
CANCELLED = error_response(409, "The plan is cancelled.")


class PlanPagination(CursorPagination):
    ordering = ("start_utc", "id")  # type: ignore[assignment]  # soonest first; DRF takes a tuple too


def _group(request: Request, group_id: int) -> Group:
    return group_selectors.group_of(user=request_user(request), group_id=group_id)


def _body(plan: GroupPlan) -> dict[str, Any]:
    fresh = selectors.group_plan_of(group=plan.group, plan_id=plan.pk)
    attendances = {fresh.pk: selectors.attendances_of(group_plan=fresh)}
    return dict(GroupPlanOut(fresh, context={"attendances": attendances}).data)


def _refused(exc: services.GroupPlanInputError) -> exceptions.ValidationError:
    names = {"start_utc": "start", "end_utc": "end"}  # the service's fields as the API calls them
    return exceptions.ValidationError({names.get(exc.field, exc.field): [str(exc)]})


def _moment(value: str, field: str) -> datetime:
    """The serializer's pattern admits only ISO date-times with an offset, but not every one is a day that exists
    (2026-02-31). In UTC, as PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 allows up to ±23:59."""
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        raise exceptions.ValidationError({field: [MOMENT_MESSAGE]}) from None


def _managed(request: Request, group: Group, plan: GroupPlan) -> None:
    user = request_user(request)
    if plan.organizer_id != user.pk and not group_selectors.is_owner(user=user, group=group):
        raise PermissionDenied


class PlanListView(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = PlanPagination

    @extend_schema(responses={200: GroupPlanOut(many=True)}, tags=TAGS, description="The group's plans, soonest "
                   "first, cancelled ones too, each with every member's answer.")  # fmt: skip
    def get(self, request: Request, group_id: int) -> Response:
        group = _group(request, group_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.group_plans_of(group=group), request, view=self) or []
        attendances = {plan.pk: selectors.attendances_of(group_plan=plan) for plan in page}
        data = GroupPlanOut(page, many=True, context={"attendances": attendances}).data  # type: ignore[arg-type]
        return paginator.get_paginated_response(data)

    @extend_schema(
        request=GroupPlanIn,
        responses={
            201: GroupPlanOut,
            400: error_response(400, "A field is wrong: `end` not after `start`, `event_id` no such event or "
                                     "cancelled, `lat` without `lon`."),
        },
        tags=TAGS,
        description="Any member makes a plan for the group (they are its organizer); every member is asked to "
        "answer and emailed (group_plan_changed, created). With `event_id`, title, start, end and place default to "
        "the event's.",
    )  # fmt: skip
    def post(self, request: Request, group_id: int) -> Response:
        group, user = _group(request, group_id), request_user(request)
        data = validated(GroupPlanIn, request.data)
        values: dict[str, Any] = {"timezone": user_selectors.profile_for(user=user).timezone}
        if "event_id" in data:
            event = Event.objects.select_related("venue").filter(pk=data["event_id"]).first()
            if event is None or event.status == EventStatus.CANCELLED:
                reason = "is cancelled" if event is not None else "does not exist"
                raise exceptions.ValidationError({"event_id": [f"This catalogue event {reason}."]})
            venue = event.venue
            values |= {
                "event": event,
                "title": event.title,
                "start_utc": event.start_utc,
                "end_utc": event.end_utc or event.start_utc + services.EVENT_DURATION,
                "timezone": event.timezone,
                "location": ", ".join(p for p in (venue.name, venue.address) if p) if venue else "",
                "lat": event.lat,
                "lon": event.lon,
            }
        for name in ("title", "start", "end"):
            if name not in data and name not in values and f"{name}_utc" not in values:
                raise exceptions.ValidationError({name: ["This field is required (or give an event_id)."]})
        if "start" in data:
            values["start_utc"] = _moment(data["start"], "start")
        if "end" in data:
            values["end_utc"] = _moment(data["end"], "end")
        values |= {name: data[name] for name in ("title", "timezone", "location", "lat", "lon") if name in data}
        try:
            plan = services.group_plan_create(group=group, by=user, **values)
        except services.GroupPlanInputError as exc:
            raise _refused(exc) from None
        return Response(_body(plan), status=201)


class PlanDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: GroupPlanOut}, tags=TAGS, description="The plan and every member's answer.")
    def get(self, request: Request, group_id: int, plan_id: int) -> Response:
        return Response(_body(selectors.group_plan_of(group=_group(request, group_id), plan_id=plan_id)))

    @extend_schema(
        request=GroupPlanChangeIn,
        responses={200: GroupPlanOut, 403: ORGANIZER_ONLY, 409: CANCELLED},
        tags=TAGS,
        description="The owner or the organizer changes the plan: its SEQUENCE goes up, the plans of members who "
        "accepted move with it, and every member is emailed the updated invitation.",
    )
    def patch(self, request: Request, group_id: int, plan_id: int) -> Response:
        group = _group(request, group_id)
        plan = selectors.group_plan_of(group=group, plan_id=plan_id)
        _managed(request, group, plan)
        data = dict(validated(GroupPlanChangeIn, request.data))
        for name in ("start", "end"):
            if name in data:
                data[f"{name}_utc"] = _moment(data.pop(name), name)
        try:
            services.group_plan_update(group_plan=plan, data=data)
        except services.GroupPlanInputError as exc:
            raise _refused(exc) from None
        except services.GroupPlanCancelled as exc:
            raise Conflict(str(exc), code="cancelled") from None
        return Response(_body(plan))

    @extend_schema(
        responses={204: None, 403: ORGANIZER_ONLY},
        tags=TAGS,
        description="The owner or the organizer cancels the plan: it comes off every member's calendar and every "
        "member is emailed an iTIP CANCEL. The plan stays listed as cancelled; cancelling again changes nothing.",
    )
    def delete(self, request: Request, group_id: int, plan_id: int) -> Response:
        group = _group(request, group_id)
        plan = selectors.group_plan_of(group=group, plan_id=plan_id)
        _managed(request, group, plan)
        services.group_plan_cancel(group_plan=plan)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AnswerView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=AnswerIn,
        responses={
            200: AnswerOut,
            409: error_response(
                409,
                "The plan is cancelled (`cancelled`), or its stored time cannot go on a calendar "
                "until the organizer changes it (`unplaceable`).",
            ),
        },
        tags=TAGS,
        description="Accepted: the plan goes on your default calendar (a catalogue event as a saved event that keeps "
        "following it), also when it clashes with your other plans; `conflicts` lists the clashes. Declined: it "
        "comes off. You may change your answer.",
    )
    def post(self, request: Request, group_id: int, plan_id: int) -> Response:
        user = request_user(request)
        plan = selectors.group_plan_of(group=_group(request, group_id), plan_id=plan_id)
        data = validated(AnswerIn, request.data)
        try:
            attendance = services.attendance_answer(group_plan=plan, user=user, answer=data["answer"])
        except services.GroupPlanCancelled as exc:
            raise Conflict(str(exc), code="cancelled") from None
        except services.GroupPlanUnplaceable as exc:
            raise Conflict(str(exc), code="unplaceable") from None
        clashes = [c.as_dict() for c in selectors.attendance_conflicts(attendance=attendance)]
        return Response(
            {"group_plan": _body(plan), "calendar_plan_id": attendance.calendar_plan_id, "conflicts": clashes}
        )


class InvitationView(APIView):
    permission_classes = [IsAuthenticated]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The body is text/calendar whatever DRF's JSON renderers say, so a calendar app's `Accept: text/calendar`
        # is not a 406; errors stay JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        responses={
            (200, "text/calendar"): OpenApiResponse(
                OpenApiTypes.STR,
                description="The plan as an iTIP message (RFC 5546): METHOD:REQUEST with every member as an "
                "ATTENDEE and their PARTSTAT, or METHOD:CANCEL once cancelled.",
            )
        },
        tags=TAGS,
    )
    def get(self, request: Request, group_id: int, plan_id: int) -> HttpResponse:
        plan = selectors.group_plan_of(group=_group(request, group_id), plan_id=plan_id)
        method = "CANCEL" if plan.status == GroupPlanStatus.CANCELLED else "REQUEST"
        response = HttpResponse(
            itip.invitation_ics(group_plan=plan), content_type=f"text/calendar; charset=utf-8; method={method}"
        )
        response["Content-Disposition"] = f'attachment; filename="invitation-{plan.pk}.ics"'
        return response
